//! # A GAN learns a Gaussian
//!
//! The smallest complete GAN: a generator G turns noise into numbers, a
//! discriminator D tries to tell G's numbers from samples of the real data,
//! N(4, 1.25²) (`--mean`, `--std` to change it), and each learns from the
//! other (Goodfellow et al. 2014, Algorithm 1). At the end G's numbers should
//! be distributed like the data, and D should be reduced to guessing:
//! D(x) = ½.
//!
//! ```text
//! cargo run --release --example gaussian_gan                   # seconds on a CPU
//! cargo run --release --example gaussian_gan -- --mean -2 --std 0.5
//! cargo run --release --example gaussian_gan -- --preset devnag
//! cargo run --release --example gaussian_gan -- --loss wasserstein --k 5
//! cargo run --release --example gaussian_gan -- --compare-losses --d-head-start 500
//! cargo run --release --example gaussian_gan -- --device gpu
//! cargo run --release --example gaussian_gan -- --save-every 1000
//! cargo run --release --example gaussian_gan -- --resume out/gaussian_gan/default-seed0/checkpoint.safetensors --steps 8000
//! ```
//!
//! **What you see.** A progress line as it trains; then a comparison of
//! 100 000 generated samples with 100 000 real ones, and a verdict: the run
//! met its goal when the Jensen–Shannon divergence of the two histograms is
//! under 0.02 nats and G's mean and std are within a tenth of the data's std
//! of the data's. Each run writes `summary.json` (the numbers, the verdict,
//! the config) and `figure.svg` (the paper's Figure 1 for this run) into its
//! own folder, `out/gaussian_gan/<run name>/`, named by the preset, the
//! options that differ from it, and the seed (printed at the start), so runs
//! never overwrite each other; `--out DIR` writes exactly into `DIR`.
//!
//! **How to read the progress line.** Early on D wins (D(real) near 1,
//! D(fake) near 0, G's mean far from 4). As G improves, D's two outputs meet
//! at ½ and D's loss approaches 2 ln 2 ≈ 1.386, the value of the game at its
//! equilibrium (`-V(G*, D*) = ln 4`, Theorem 1 of the paper), while G's mean
//! and std approach 4 and 1.25. With `--loss wasserstein` D is a *critic*:
//! its outputs are scores with no fixed level (nothing is ½ at the end); the
//! gap between its mean score on real and on generated data estimates the
//! Wasserstein distance up to a constant factor (the weight clip bounds the
//! critic's slope), and shrinks as G learns.
//!
//! **Why `--loss minimax` converges here.** The paper's game as written
//! has G minimise `ln(1 - D(G(z)))`, whose gradient with respect to D's
//! logit `l` on a fake sample is `-σ(l)`: it vanishes when D confidently
//! rejects G's samples (`l ≪ 0`), as it does early in training, and G
//! stalls (the paper's Section 3; `GanLoss::g_loss` has the algebra). The
//! non-saturating loss `-ln D(G(z))` has gradient `σ(l) - 1 ≈ -1` there. In
//! this example the minimax game converges anyway, for two reasons you can
//! measure. D never gets very confident: in the default run its mean output
//! on G's samples never fell below 0.2 (gradient at most 4 times smaller
//! than the non-saturating one, not vanishing). And Adam divides each
//! gradient by its running size, so a uniformly smaller gradient still
//! makes steps of the same size. Stack the odds: `--compare-losses
//! --d-head-start 500` trains D alone for 500 steps (D(fake) is then about
//! 0.04: a gradient 25 times smaller) and plays both games from that same
//! start, side by side, printing G's mean step by step. The minimax G lags
//! (step 1100: mean 2.6 against the non-saturating 3.7; the data's is 4) but
//! catches up by step 1600. An outright stall needs a D far more certain
//! than a fair start gives, and an optimizer that does not rescale (plain
//! SGD).
//!
//! `--preset devnag` replays Dev Nag's 2017 "GANs in 50 lines of code",
//! where D never sees a sample, only each batch's mean, std, skew and
//! kurtosis: G learns to match those four numbers, not the bell's shape
//! (its verdict tends to fail on the divergence: that is the lesson).
//!
//! The algorithm is in the `minimax-gan` crate (`train.rs`: Algorithm 1;
//! `config.rs`: the presets and the training tricks); flags, checkpoints,
//! summaries and figures are `minimax-io`'s; opening the device `--device`
//! names is `common/mod.rs`'s, shared by the GAN examples. This file is the
//! narration.

mod common;

use clap::{Parser, ValueEnum};
use common::{io_error, Chosen, Job};
use minimax::autodiff::{Backend, Tape};
use minimax::gan::{Config, CounterHook, Evaluation, GanLoss, Preset, RunOptions, RunStats};
use minimax::gan::{Target, TrainError, Trainer};
use minimax::io::cli::{self, GameArgs, RunArgs, TerminalHooks};
use minimax::io::summary::{self, Check, DeviceWork, Verdict};
use minimax::io::{checkpoint, figures, fsutil, svg};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Samples drawn from each of the data and G for the final comparison.
const EVAL_SAMPLES: usize = 100_000;
/// The goal: the histograms' Jensen–Shannon divergence below this (nats)…
const JS_GOAL: f64 = 0.02;
/// …and G's mean and std within this many of the data's std of the data's.
const MOMENT_TOLERANCE: f64 = 0.1;
/// The example's name, and its folder under `out/`.
const EXAMPLE: &str = "gaussian_gan";

/// Train a GAN on N(mean, std²) and compare what it generates with the data.
#[derive(Debug, Parser)]
#[command(name = EXAMPLE)]
struct Args {
    /// Starting configuration (default: "default"; devnag: Dev Nag's "GAN in 50 lines")
    #[arg(long, value_enum, value_name = "PRESET")]
    preset: Option<PresetArg>,
    /// Mean of the data N(mean, std²) [default: 4]
    #[arg(long, value_name = "X", value_parser = cli::finite, allow_negative_numbers = true)]
    mean: Option<f64>,
    /// Standard deviation of the data [default: 1.25]
    #[arg(long, value_name = "X", value_parser = cli::positive, allow_negative_numbers = true)]
    std: Option<f64>,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    game: GameArgs,
    /// Write a checkpoint (checkpoint.safetensors in the run's folder) every N steps; 0: never
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = cli::steps_or_zero, allow_negative_numbers = true)]
    save_every: u64,
    /// Continue the run saved in FILE: its config is kept, --steps says how far to go
    #[arg(long, value_name = "FILE")]
    resume: Option<PathBuf>,
    /// Train D alone for N steps before the game starts (shows the minimax game saturating)
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = cli::steps_or_zero, allow_negative_numbers = true)]
    d_head_start: u64,
    /// Play the minimax and the non-saturating game from the same start, side by side
    #[arg(long)]
    compare_losses: bool,
}

/// The presets for 1-D data.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum PresetArg {
    /// Small MLPs, Adam on two time scales, the non-saturating loss
    Default,
    /// Dev Nag's "GANs in 50 lines": D sees only each batch's 4 moments
    Devnag,
}

impl Args {
    fn preset(&self) -> Preset {
        match self.preset {
            Some(PresetArg::Devnag) => Preset::Devnag,
            _ => Preset::Default,
        }
    }

    /// The preset's config with the command line's changes.
    fn config(&self) -> Config {
        let mut c = Config::preset(self.preset());
        c.seed = self.run.seed.unwrap_or(c.seed);
        c.steps = self.run.steps.unwrap_or(c.steps);
        let (mean, std) = (self.mean.unwrap_or(c.target.mean), self.std.unwrap_or(c.target.std));
        c.target = Target::gaussian(mean, std);
        self.game.apply(&mut c);
        c
    }

    /// The options that set this run apart from its preset, for its name.
    fn changes(&self) -> Vec<(&'static str, String)> {
        let mut parts = Vec::new();
        let numbers = [("mean", self.mean), ("std", self.std)];
        parts.extend(numbers.into_iter().filter_map(|(k, v)| Some((k, v?.to_string()))));
        if let Some(steps) = self.run.steps {
            parts.push(("steps", steps.to_string()));
        }
        parts.extend(self.game.given());
        if self.d_head_start > 0 {
            parts.push(("head", self.d_head_start.to_string()));
        }
        parts
    }

    /// The run's folder name, such as `default-seed0`.
    fn run_name(&self) -> String {
        let compare = if self.compare_losses { "-compare" } else { "" };
        let c = self.config();
        format!("{}{compare}", cli::run_name(self.preset().name(), &self.changes(), c.seed))
    }

    /// A resumed run keeps its checkpoint's config: changing it would not
    /// be the same run. Only how far to go and where to write may change.
    fn check_resume_flags(&self) {
        let mut given = self.game.given();
        let numbers = [("mean", self.mean), ("std", self.std)];
        given.extend(numbers.into_iter().filter_map(|(k, v)| Some((k, v?.to_string()))));
        given.extend(self.run.seed.map(|s| ("seed", s.to_string())));
        given.extend(self.preset.map(|_| ("preset", self.preset().name().to_string())));
        given.extend(
            (self.d_head_start > 0).then(|| ("d-head-start", self.d_head_start.to_string())),
        );
        given.extend(self.compare_losses.then(|| ("compare-losses", String::new())));
        if let Some((flag, _)) = given.first() {
            cli::usage_error::<Args>(format!(
                "--{flag} cannot be combined with --resume: a resumed run keeps its checkpoint's \
                 config (only --steps, --save-every, --log-every, --out and --device may be given)"
            ));
        }
    }
}

fn main() {
    let args: Args = cli::parse_with_presets(&[Preset::Default, Preset::Devnag]);
    if args.d_head_start > 0 && args.game.loss == Some(cli::Loss::Wasserstein) {
        cli::usage_error::<Args>("--d-head-start is for the games with labels, not wasserstein");
    }
    // A config the flags made impossible is a usage error, found before
    // any training.
    if let (None, Err(why)) = (&args.resume, args.config().validate()) {
        cli::usage_error::<Args>(format!("these flags make an invalid configuration: {why}"));
    }
    // Pick the device and run on it (`common/mod.rs`). Everything after
    // this is generic over `Backend`.
    common::run_on(args.run.device, &args);
}

/// The example, on whichever backend `--device` chose.
impl Job for &Args {
    type Args = Args;

    fn run<B: Backend>(self, backend: B, device: Chosen) -> Result<(), TrainError> {
        run(backend, self, device.counters)
    }
}

fn run<B: Backend>(
    backend: B,
    args: &Args,
    counters: Option<CounterHook>,
) -> Result<(), TrainError> {
    if args.compare_losses {
        return compare_losses(backend, args);
    }
    // 1. Build the two players, or pick up a saved run where it stopped.
    //    Everything that could stop the run early is checked before training.
    let (mut trainer, name, dir) = match &args.resume {
        Some(path) => resume(backend, args, path),
        None => {
            let name = args.run_name();
            let dir = cli::run_dir(EXAMPLE, &name, args.run.out.as_deref());
            (Trainer::new(backend, args.config())?, name, dir)
        }
    };
    cli::open_run_dir(&dir).map_err(TrainError::Io)?;
    println!("run {name}: writing to {}", dir.display());
    if let Some(hook) = counters {
        trainer.set_counter_hook(hook);
    }
    println!("{}\n", trainer.config().describe());
    head_start(&mut trainer, args.d_head_start)?;

    // 2. Train: Algorithm 1, with a progress line every `log_every` steps.
    let (stats, _) = train(&mut trainer, args, &dir, true)?;

    // 3. Judge the result on fresh samples.
    let eval = trainer.evaluate(EVAL_SAMPLES)?;
    let verdict = verdict(trainer.config(), &eval);
    println!(
        "\ntrained {} steps in {:.2} s ({:.0} steps/s)",
        stats.steps_run,
        stats.seconds,
        stats.steps_run as f64 / stats.seconds
    );
    print_evaluation(&trainer, &eval);
    println!("{verdict}");
    let device_work = stats.per_step().map(DeviceWork::from);
    if let Some(work) = &device_work {
        println!("{work}");
    }

    // 4. Write the report and the figure.
    let mut report = report(&trainer, &name, &stats, &eval, &verdict);
    let obj = report.as_object_mut().expect("an object");
    if let Some(work) = device_work {
        let work = serde_json::to_value(work).expect("numbers");
        obj.extend(work.as_object().expect("an object").clone());
    }
    if let Some(from) = &args.resume {
        obj.insert("resumed_from".into(), json!(from.display().to_string()));
    }
    if args.d_head_start > 0 {
        obj.insert("d_head_start".into(), json!(args.d_head_start));
    }
    let summary_path = dir.join("summary.json");
    summary::write_json(&summary_path, &report).map_err(|e| io_error(&summary_path, e))?;
    let c = trainer.config();
    let panels: Vec<_> = stats
        .snapshots
        .iter()
        .filter_map(|s| s.line())
        .map(|s| figures::line_panel(s, c.loss))
        .collect();
    let d = if c.loss == GanLoss::Wasserstein { "critic, rescaled" } else { "D" };
    let title =
        format!("{} GAN, preset {}: data (dotted), G (solid), {d} (dashed)", c.loss, c.preset);
    let figure_path = dir.join("figure.svg");
    fsutil::write_atomic(&figure_path, svg::figure(&panels, &title).as_bytes())
        .map_err(|e| io_error(&figure_path, e))?;
    println!("wrote {} and {}", summary_path.display(), figure_path.display());
    Ok(())
}

/// Trains `trainer` to its planned steps, taking Figure-1 snapshots at the
/// start, a tenth, a third and the end, and a checkpoint every
/// `--save-every` steps. Returns the run's measurements and its progress
/// reports.
fn train<B: Backend>(
    trainer: &mut Trainer<B>,
    args: &Args,
    dir: &Path,
    verbose: bool,
) -> Result<(RunStats, TerminalHooks), TrainError> {
    let (start, steps) = (trainer.step(), trainer.config().steps);
    let mut snapshot_at: Vec<u64> = vec![start, steps / 10, steps / 3, steps];
    snapshot_at.retain(|&s| s >= start && s <= steps);
    snapshot_at.sort_unstable();
    snapshot_at.dedup();
    let options = RunOptions {
        log_every: args.run.log_every,
        save_every: args.save_every,
        snapshot_at,
        resumed_from: args.resume.clone(),
    };
    let saving = (args.save_every > 0).then(|| checkpoint::path_in(dir));
    let mut hooks = TerminalHooks::new(trainer.config(), verbose, saving);
    let stats = trainer.run_with(steps, &options, &mut hooks);
    hooks.finish();
    Ok((stats?, hooks))
}

/// Loads `path` and checks, before any training, that it is a 1-D run that
/// can go further; a problem is a usage error with advice. The run
/// continues in the checkpoint's own folder unless `--out` says otherwise.
fn resume<B: Backend>(backend: B, args: &Args, path: &Path) -> (Trainer<B>, String, PathBuf) {
    args.check_resume_flags();
    let mut trainer = checkpoint::load(backend, path).unwrap_or_else(|e| {
        cli::usage_error::<Args>(format!(
            "--resume: {e}\n(give a checkpoint.safetensors written by this example with --save-every)"
        ))
    });
    let c = trainer.config();
    if c.target.dim() != 1 {
        cli::usage_error::<Args>(format!(
            "--resume: {} holds a run on 2-D data ({}); this example trains on 1-D data",
            path.display(),
            c.target.name()
        ));
    }
    let (step, stop) = (trainer.step(), args.run.steps.unwrap_or(c.steps));
    if stop <= step {
        let asked = match args.run.steps {
            Some(n) => format!("--steps {n} asks for no more"),
            None => format!("its run planned {stop} steps"),
        };
        cli::usage_error::<Args>(format!(
            "--resume: {} is at step {step} and {asked}, so there is nothing to train; \
             give --steps N with N > {step}",
            path.display()
        ));
    }
    trainer.set_steps(stop);
    println!("resuming {} at step {step}, training to step {stop}", path.display());
    let dir = match (&args.run.out, path.parent()) {
        (Some(out), _) => out.clone(),
        (None, Some(parent)) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        (None, _) => PathBuf::from("."),
    };
    let name = dir.file_name().map_or("resumed".into(), |n| n.to_string_lossy().into_owned());
    (trainer, name, dir)
}

/// Trains D alone for `steps` steps (D-steps on fresh real and fake batches,
/// G untouched), as if D had been pre-trained. Its draws use a step number
/// training never reaches, so they repeat none of the run's.
fn head_start<B: Backend>(trainer: &mut Trainer<B>, steps: u64) -> Result<(), TrainError> {
    const HEAD_START_STEP: u64 = u64::MAX;
    let backend = trainer.backend().clone();
    for j in 0..steps {
        let tape = Tape::new(backend.clone());
        let pass = trainer.discriminator_pass(&tape, HEAD_START_STEP, j)?;
        let grads = tape.backward(&pass.loss)?;
        let (_, d_params, _, d_opt) = trainer.parts_mut();
        d_opt.step(&backend, d_params, &pass.d_vars, &grads)?;
    }
    if steps > 0 {
        println!("D trained alone for {steps} steps before the game\n");
    }
    Ok(())
}

/// Whether the run met its goal: the histograms close, and G's mean and std
/// near the data's.
fn verdict(c: &Config, e: &Evaluation) -> Verdict {
    let tolerance = MOMENT_TOLERANCE * c.target.std;
    Verdict::all(vec![
        Check::below("js_divergence", e.js_divergence, JS_GOAL),
        Check::within("generated_mean", e.generated_mean, c.target.mean, tolerance),
        Check::within("generated_std", e.generated_std, c.target.std, tolerance),
    ])
}

fn print_evaluation<B: Backend>(trainer: &Trainer<B>, eval: &Evaluation) {
    let c = trainer.config();
    println!("             mean      std     ({EVAL_SAMPLES} samples each)");
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
    if c.loss == GanLoss::Wasserstein {
        println!(
            "critic's mean score {on} real data: {:.4}, {on} generated data: {:.4}; their gap, \
             {:.4}, estimates the Wasserstein distance up to a constant factor (the weight clip \
             bounds the critic's slope): it shrinks as G learns, and the scores' level means \
             nothing",
            eval.d_real,
            eval.d_fake,
            eval.d_real - eval.d_fake
        );
    } else {
        println!(
            "D's mean output {on} real data: {:.3}, {on} generated data: {:.3} (½ at equilibrium)",
            eval.d_real, eval.d_fake
        );
    }
}

/// `summary.json`: typed numbers, the verdict, the evaluation, and the
/// config with only the options that apply (keys in alphabetical order).
fn report<B: Backend>(
    trainer: &Trainer<B>,
    name: &str,
    stats: &RunStats,
    e: &Evaluation,
    verdict: &Verdict,
) -> Value {
    let c = trainer.config();
    let (real, fake) = if c.loss == GanLoss::Wasserstein {
        ("critic_real", "critic_fake")
    } else {
        ("d_real", "d_fake")
    };
    json!({
        "example": EXAMPLE,
        "run": name,
        "device": trainer.backend().name(),
        "seed": c.seed,
        "steps": trainer.step(),
        "steps_run": stats.steps_run,
        "seconds": stats.seconds,
        "steps_per_second": if stats.seconds > 0.0 { stats.steps_run as f64 / stats.seconds } else { 0.0 },
        "verdict": verdict,
        "eval": {
            "samples": e.samples,
            "target_mean": e.target_mean,
            "target_std": e.target_std,
            "generated_mean": e.generated_mean,
            "generated_std": e.generated_std,
            "js_divergence": e.js_divergence,
            real: e.d_real,
            fake: e.d_fake,
        },
        "config": summary::config_json(c),
    })
}

/// `--compare-losses`: the minimax and the non-saturating game from the same
/// start (the same seed, the same D head start), side by side.
fn compare_losses<B: Backend>(backend: B, args: &Args) -> Result<(), TrainError> {
    let name = args.run_name();
    let dir = cli::run_dir(EXAMPLE, &name, args.run.out.as_deref());
    cli::open_run_dir(&dir).map_err(TrainError::Io)?;
    println!("run {name}: writing to {}", dir.display());
    let mut runs = Vec::new();
    for loss in [GanLoss::Minimax, GanLoss::NonSaturating] {
        let mut c = args.config();
        c.loss = loss;
        let mut trainer = Trainer::new(backend.clone(), c)?;
        println!("\n{loss}:");
        head_start(&mut trainer, args.d_head_start)?;
        let (stats, hooks) = train(&mut trainer, args, &dir, false)?;
        let eval = trainer.evaluate(EVAL_SAMPLES)?;
        let verdict = verdict(trainer.config(), &eval);
        println!("trained {} steps in {:.2} s; {verdict}", stats.steps_run, stats.seconds);
        runs.push((loss, trainer, stats, hooks.history, eval, verdict));
    }

    // G's mean and D's verdict on G's samples, step by step, side by side.
    let target = runs[0].1.config().target.clone();
    println!("\nG's mean (data: {}) and D(fake), step by step:", target.mean);
    println!("{:>7}  {:>22}  {:>22}", "step", "minimax", "non-saturating");
    let (a, b) = (&runs[0].3, &runs[1].3);
    let every = (a.len() / 10).max(1);
    for (i, (pa, pb)) in a.iter().zip(b).enumerate() {
        if i % every == 0 || i + 1 == a.len() {
            println!(
                "{:>7}  mean {:7.3} D {:5.3}  mean {:7.3} D {:5.3}",
                pa.step, pa.gen_mean, pa.d_fake, pb.gen_mean, pb.d_fake
            );
        }
    }
    let mut panels = Vec::new();
    let mut reports = Vec::new();
    for (loss, trainer, stats, _, eval, verdict) in &runs {
        for s in stats.snapshots.iter().filter_map(|s| s.line()) {
            let mut p = figures::line_panel(s, *loss);
            p.title = format!("{loss}, {}", p.title);
            panels.push(p);
        }
        reports.push(report(trainer, &format!("{name}/{loss}"), stats, eval, verdict));
    }
    let summary_path = dir.join("summary.json");
    let all = json!({ "example": EXAMPLE, "run": name, "d_head_start": args.d_head_start, "runs": reports });
    summary::write_json(&summary_path, &all).map_err(|e| io_error(&summary_path, e))?;
    let figure_path = dir.join("figure.svg");
    let title = format!(
        "minimax (top) vs non-saturating (bottom), D trained alone for {} steps first",
        args.d_head_start
    );
    fsutil::write_atomic(&figure_path, svg::figure(&panels, &title).as_bytes())
        .map_err(|e| io_error(&figure_path, e))?;
    println!("\nwrote {} and {}", summary_path.display(), figure_path.display());
    Ok(())
}
