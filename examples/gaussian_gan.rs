//! # A GAN learns a Gaussian
//!
//! The smallest complete GAN: a generator G turns noise into numbers, a
//! discriminator D tries to tell G's numbers from samples of the real data,
//! N(4, 1.25²), and each learns from the other (Goodfellow et al. 2014,
//! Algorithm 1). At the end G's numbers should be distributed like the
//! data, and D should be reduced to guessing: D(x) = ½.
//!
//! ```text
//! cargo run --release --example gaussian_gan                   # seconds on a CPU
//! cargo run --release --example gaussian_gan -- --preset devnag
//! cargo run --release --example gaussian_gan -- --loss wasserstein --k 5
//! cargo run --release --example gaussian_gan -- --device gpu
//! cargo run --release --example gaussian_gan -- --save-every 500
//! cargo run --release --example gaussian_gan -- --resume out/gaussian_gan/checkpoint.safetensors --steps 8000
//! ```
//!
//! It prints a progress line as it trains, then compares 100 000 generated
//! samples with 100 000 real ones, and writes `summary.json` and
//! `figure.svg` (the paper's Figure 1 for this run) to `--out`.
//!
//! How to read the progress line: early on D wins (D(real) near 1, D(fake)
//! near 0, G's mean far from 4). As G improves, D's two outputs meet at ½
//! and D's loss approaches 2 ln 2 ≈ 1.386, the value of the game at its
//! equilibrium (`-V(G*, D*) = ln 4`, Theorem 1 of the paper), while G's mean
//! and std approach 4 and 1.25.
//!
//! `--preset devnag` replays Dev Nag's 2017 "GANs in 50 lines of code",
//! where D never sees a sample, only each batch's mean, std, skew and
//! kurtosis: G learns to match those four numbers, not the bell's shape.
//!
//! Everything reusable lives in the `minimax-gan` crate (`train.rs` is the
//! algorithm, `config.rs` the presets and the training tricks, which are
//! switches there: dropout in D, one-sided label smoothing, label noise, a
//! tanh output, uniform noise); this file is the narration around it.

use minimax::autodiff::{Backend, Cpu};
use minimax::gan::cli::{Args, Cli, CliError};
use minimax::gan::report::Summary;
use minimax::gan::{fsutil, svg};
use minimax::gan::{Config, DeviceCounters, GanLoss, Preset, RunOptions, TrainError, Trainer};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Samples drawn from each of the data and G for the final comparison.
const EVAL_SAMPLES: usize = 100_000;

fn cli() -> Cli {
    Cli::new(
        "gaussian_gan",
        "Train a GAN on N(4, 1.25²) and compare what it generates with the data.",
    )
    .choice(
        "device",
        &["cpu", "gpu"],
        "cpu",
        "cpu: the reference CPU backend (f32); gpu: WGSL kernels via wgpu",
    )
    .choice(
        "preset",
        &["default", "devnag"],
        "default",
        "starting configuration; devnag = Dev Nag's \"GAN in 50 lines\"",
    )
    .string("seed", "preset", "run seed (every random number derives from it); preset = 0")
    .string("steps", "preset", "training steps in all; preset = 5000 (both presets)")
    .string("batch", "preset", "samples per batch; preset = 128, devnag 500")
    .string(
        "loss",
        "preset",
        "minimax | non-saturating | least-squares | wasserstein; preset = non-saturating",
    )
    .string("k", "preset", "D-steps per step (the paper's k); preset = 1, devnag 20")
    .string(
        "lr",
        "preset",
        "learning rate of both optimizers; preset = D 0.001 and G 0.0002, devnag 0.001",
    )
    .int("log-every", 100, "steps between progress lines (and NaN checks)")
    .string("out", "out/gaussian_gan", "directory for summary.json, figure.svg and checkpoints")
    .int("save-every", 0, "write a checkpoint every N steps (0: never)")
    .string("resume", "none", "continue the run saved in this checkpoint (its config is kept)")
}

/// The command line, checked.
struct Options {
    gpu: bool,
    preset: Preset,
    /// Config fields given on the command line (`None`: the preset's).
    seed: Option<u64>,
    steps: Option<u64>,
    batch: Option<usize>,
    loss: Option<GanLoss>,
    k: Option<usize>,
    lr: Option<f64>,
    log_every: u64,
    out: PathBuf,
    save_every: u64,
    resume: Option<PathBuf>,
}

fn non_negative(args: &Args, name: &str) -> Result<u64, CliError> {
    let v = args.int(name);
    u64::try_from(v).map_err(|_| CliError::BadValue {
        flag: name.into(),
        expected: "a non-negative integer".into(),
        got: v.to_string(),
    })
}

impl Options {
    fn parse(args: &Args) -> Result<Options, CliError> {
        let losses = "one of minimax, non-saturating, least-squares, wasserstein";
        let log_every = non_negative(args, "log-every")?;
        if log_every == 0 {
            let got = "0".to_string();
            return Err(CliError::BadValue {
                flag: "log-every".into(),
                expected: "a positive integer".into(),
                got,
            });
        }
        Ok(Options {
            gpu: args.string("device") == "gpu",
            preset: args.string("preset").parse().expect("--preset is a choice flag"),
            seed: args.override_of("seed", "preset", "a non-negative integer", |_: &u64| true)?,
            steps: args.override_of("steps", "preset", "a positive integer", |&s: &u64| s > 0)?,
            batch: args.override_of(
                "batch",
                "preset",
                "an integer of at least 2",
                |&b: &usize| b >= 2,
            )?,
            loss: args.override_of("loss", "preset", losses, |_: &GanLoss| true)?,
            k: args.override_of("k", "preset", "a positive integer", |&k: &usize| k > 0)?,
            lr: args.override_of("lr", "preset", "a positive number", |&lr: &f64| {
                lr > 0.0 && lr.is_finite()
            })?,
            log_every,
            out: PathBuf::from(args.string("out")),
            save_every: non_negative(args, "save-every")?,
            resume: Some(args.string("resume")).filter(|p| *p != "none").map(PathBuf::from),
        })
    }

    /// The preset's config with the command line's changes.
    fn config(&self) -> Config {
        let mut c = Config::preset(self.preset);
        c.seed = self.seed.unwrap_or(c.seed);
        c.steps = self.steps.unwrap_or(c.steps);
        c.batch = self.batch.unwrap_or(c.batch);
        c.loss = self.loss.unwrap_or(c.loss);
        c.d_steps = self.k.unwrap_or(c.d_steps);
        if let Some(lr) = self.lr {
            c.g_optimizer = c.g_optimizer.with_lr(lr);
            c.d_optimizer = c.d_optimizer.with_lr(lr);
        }
        c
    }

    /// A resumed run keeps its checkpoint's config: changing it would not
    /// be the same run. Only `--steps` (how far to go) may be given.
    fn check_resume(&self, checkpoint: &Config) -> Result<(), CliError> {
        let given = [
            ("seed", self.seed.map(|x| x.to_string())),
            ("batch", self.batch.map(|x| x.to_string())),
            ("loss", self.loss.map(|x| x.to_string())),
            ("k", self.k.map(|x| x.to_string())),
            ("lr", self.lr.map(|x| x.to_string())),
            (
                "preset",
                Some(self.preset)
                    .filter(|p| *p != checkpoint.preset && *p != Preset::Default)
                    .map(|p| p.to_string()),
            ),
        ];
        match given.into_iter().find_map(|(flag, value)| Some((flag, value?))) {
            Some((flag, got)) => Err(CliError::BadValue {
                flag: flag.to_string(),
                expected: "no value with --resume (the run keeps its checkpoint's config; only --steps may change)".into(),
                got,
            }),
            None => Ok(()),
        }
    }
}

fn main() {
    let cli = cli();
    let args = cli.parse_env_or_exit();
    let options = Options::parse(&args).unwrap_or_else(|e| usage_error(&cli, &e));

    // Pick the device. Everything after this line is generic over `Backend`.
    let result = if options.gpu {
        match minimax::wgsl::Wgpu::new() {
            Ok(gpu) => {
                println!("device: {}", gpu.adapter_summary());
                let stats = gpu.clone();
                let hook = move || {
                    let s = stats.stats();
                    DeviceCounters {
                        dispatches: s.dispatches,
                        submits: s.submits,
                        readback_bytes: s.readback_bytes,
                    }
                };
                run(gpu, &options, &cli, Some(Box::new(hook)))
            }
            Err(e) => Err(TrainError::Engine(e)),
        }
    } else {
        println!("device: CPU (f32 reference backend)");
        run(Cpu::<f32>::new(), &options, &cli, None)
    };
    if let Err(e) = result {
        eprintln!("\nerror: {e}");
        std::process::exit(1);
    }
}

/// A bad command line: the one-line error, the usage, exit code 2.
fn usage_error(cli: &Cli, e: &CliError) -> ! {
    eprintln!("error: {e}\n\n{}", cli.usage());
    std::process::exit(2);
}

type CounterHook = Box<dyn Fn() -> DeviceCounters>;

fn run<B: Backend>(
    backend: B,
    options: &Options,
    cli: &Cli,
    counters: Option<CounterHook>,
) -> Result<(), TrainError> {
    // 1. Build the two players, or pick up a saved run where it stopped.
    let mut trainer = match &options.resume {
        Some(path) => {
            let mut t = Trainer::from_checkpoint(backend, path)?;
            options.check_resume(t.config()).unwrap_or_else(|e| usage_error(cli, &e));
            if let Some(steps) = options.steps {
                t.set_steps(steps);
            }
            println!("resuming {} at step {}", path.display(), t.step());
            t
        }
        None => Trainer::new(backend, options.config())?,
    };
    if let Some(hook) = counters {
        trainer.set_counter_hook(hook);
    }
    println!("{}\n", trainer.config().describe());

    // 2. Train: Algorithm 1, with a progress line every `log_every` steps.
    std::fs::create_dir_all(&options.out)
        .map_err(|e| TrainError::Io(format!("{}: {e}", options.out.display())))?;
    let steps = trainer.config().steps;
    let start = trainer.step();
    let mut snapshot_at: Vec<u64> = vec![start, steps / 10, steps / 3, steps];
    snapshot_at.retain(|&s| s >= start && s <= steps);
    snapshot_at.sort_unstable();
    snapshot_at.dedup();
    let run_options = RunOptions {
        log_every: options.log_every,
        save_every: options.save_every,
        checkpoint: Some(Trainer::<B>::checkpoint_path(&options.out)),
        snapshot_at,
    };
    let tty = std::io::stdout().is_terminal();
    let stats = trainer.run(&run_options, |p| {
        if tty {
            // Rewrite the line in place; `\x1b[K` clears what is left of the last one.
            print!("\r{}\x1b[K", p.line());
            let _ = std::io::stdout().flush();
        } else {
            println!("{}", p.line());
        }
    })?;
    if tty {
        println!();
    }

    // 3. Judge the result on fresh samples.
    let eval = trainer.evaluate(EVAL_SAMPLES)?;
    let c = trainer.config();
    println!(
        "\ntrained {} steps in {:.2} s ({:.0} steps/s)",
        stats.steps_run,
        stats.seconds,
        stats.steps_run as f64 / stats.seconds
    );
    println!("             mean      std     ({} samples each)", EVAL_SAMPLES);
    println!(
        "target     {:7.4}  {:7.4}     (N({}, {}²))",
        eval.target_mean, eval.target_std, c.target.mean, c.target.std
    );
    println!("generated  {:7.4}  {:7.4}", eval.generated_mean, eval.generated_std);
    println!(
        "Jensen–Shannon divergence of the histograms: {:.5} nats (0 = identical, ln 2 = disjoint)",
        eval.js_divergence
    );
    let on = if trainer.d_sees_moments() { "on batches of" } else { "on" };
    println!(
        "D's mean output {on} real data: {:.3}, {on} generated data: {:.3} (½ at equilibrium)",
        eval.d_real, eval.d_fake
    );

    // 4. Write the report and the figure.
    let mut summary = Summary::new(&trainer, &stats, eval);
    summary.resumed_from = options.resume.as_ref().map(|p| p.display().to_string());
    if let Some(p) = summary.per_step {
        println!(
            "per step: {:.1} dispatches, {:.2} submits, {:.1} bytes read back",
            p.dispatches, p.submits, p.readback_bytes
        );
    }
    let write = |path: &Path, text: String| {
        fsutil::write_atomic(path, text.as_bytes())
            .map_err(|e| TrainError::Io(format!("{}: {e}", path.display())))
    };
    let summary_path = options.out.join("summary.json");
    write(&summary_path, summary.to_json().to_pretty())?;
    let panels: Vec<_> =
        stats.snapshots.iter().filter_map(|s| s.line()).map(|s| s.panel(c.loss)).collect();
    let title =
        format!("{} GAN, preset {}: data (dotted), G (solid), D (dashed)", c.loss, c.preset);
    let figure_path = options.out.join("figure.svg");
    write(&figure_path, svg::figure(&panels, &title))?;
    println!("wrote {} and {}", summary_path.display(), figure_path.display());
    Ok(())
}
