//! # Mode collapse, made visible
//!
//! The real data is a ring of 8 narrow Gaussians (radius 2, σ 0.02), the
//! benchmark of the unrolled-GAN, VEEGAN and PacGAN papers. A generator
//! that matches it must put equal mass on 8 tiny, well separated spots. The
//! classic failure is **mode collapse**: G makes one cluster, D learns to
//! reject that cluster, G moves on to another one, and so on; or G settles on
//! a few of the modes and never finds the rest.
//!
//! ```text
//! cargo run --release --example ring_gan                    # ~10 s on a CPU
//! cargo run --release --example ring_gan -- --data grid     # 25 modes
//! cargo run --release --example ring_gan -- --data moons    # no modes: quality only
//! cargo run --release --example ring_gan -- --compare       # a failure and its fix
//! ```
//!
//! It counts modes the way the literature does (`coverage.rs`): of 2500
//! samples from G, those within 3σ of a mode's centre are *high quality*;
//! a mode is *covered* when at least 20 of them land on it. It writes
//! `summary.json` and `figure.svg` to `--out`: real (black) and generated
//! (green) points over a heat map of D(x) at several moments of training.
//! Red is where D says "real", blue where it says "fake": watch D turn the
//! modes G has found blue, and G flee to where D is still red.
//!
//! The `2d` preset (`config.rs`) was tuned here, by measurement: ReLU
//! networks (sharper clusters than LeakyReLU), learning rates that fall
//! over the second half of the run (Adam's constant-size steps otherwise
//! keep G's clusters 2–3σ wide), and **packing** (PacGAN, Lin et al. 2018):
//! D judges pairs of samples, both real or both fake, so a G that makes
//! too little variety is caught by D even when each sample looks real.
//!
//! `--compare` trains three configurations on 4 seeds each and tells the
//! story in one table:
//!
//! 1. *hopping*: D learns 10 times slower than G (as in the unrolled-GAN
//!    paper's baseline) and judges single samples. G's mass sits on one
//!    mode at a time and moves from mode to mode: the table of where G's
//!    samples are, snapshot by snapshot, shows it hop;
//! 2. *dropping*: D learns as fast as G, still unpacked. G spreads out, then
//!    settles on some of the modes and stays there;
//! 3. *the preset*: the same with packing. Every mode, every seed.
//!
//! Everything reusable is in the `minimax-gan` crate (`data.rs` draws the
//! ring, `coverage.rs` counts modes, `plane.rs` takes the snapshots,
//! `scatter.rs` draws them); this file is the narration around it.

use minimax::autodiff::{Backend, Cpu};
use minimax::gan::cli::{Args, Cli, CliError};
use minimax::gan::coverage::{HQ_RADIUS, MIN_PER_MODE, SAMPLES};
use minimax::gan::json::JsonValue;
use minimax::gan::plane::REAL_POINTS;
use minimax::gan::{fsutil, scatter, Coverage, PlaneSnapshot, RunStats, Target};
use minimax::gan::{Config, GanLoss, Preset, RunOptions, TrainError, Trainer};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Snapshots per run: every `steps / SLICES` steps (and at step 0).
const SLICES: u64 = 16;
/// The snapshots drawn in the figure, in sixteenths of the run.
const PICTURED: [u64; 8] = [0, 1, 2, 4, 6, 8, 12, 16];
/// Seeds per configuration in `--compare`.
const COMPARE_SEEDS: u64 = 4;

fn cli() -> Cli {
    Cli::new(
        "ring_gan",
        "Train a GAN on 2-D data, count the modes it covers, and draw G and D as it learns.",
    )
    .choice(
        "data",
        &["ring", "grid", "moons", "spiral"],
        "ring",
        "ring: 8 Gaussians, radius 2, σ 0.02; grid: 5×5 Gaussians, σ 0.05; moons, spiral: curves",
    )
    .choice(
        "device",
        &["cpu", "gpu"],
        "cpu",
        "cpu: the reference CPU backend (f32); gpu: WGSL kernels via wgpu",
    )
    .int("seed", 0, "run seed; with --compare, the first of 4 seeds")
    .string("steps", "preset", "training steps; preset = 4000")
    .string("batch", "preset", "samples per batch; preset = 256")
    .string(
        "loss",
        "preset",
        "minimax | non-saturating | least-squares | wasserstein; preset = non-saturating",
    )
    .string("k", "preset", "D-steps per step (the paper's k); preset = 1")
    .string("lr", "preset", "learning rate of both optimizers; preset = 0.001 (then decaying)")
    .int("log-every", 500, "steps between progress lines")
    .string("out", "out/ring_gan", "directory for summary.json, figure.svg, compare.json")
    .switch("compare", "train the hopping, dropping and packed configurations on 4 seeds each")
}

/// The command line, checked.
struct Options {
    gpu: bool,
    target: Target,
    seed: u64,
    steps: Option<u64>,
    batch: Option<usize>,
    loss: Option<GanLoss>,
    k: Option<usize>,
    lr: Option<f64>,
    log_every: u64,
    out: PathBuf,
    compare: bool,
}

impl Options {
    fn parse(args: &Args) -> Result<Options, CliError> {
        let at_least = |name: &str, min: u64| -> Result<u64, CliError> {
            let v = args.int(name);
            u64::try_from(v).ok().filter(|&v| v >= min).ok_or_else(|| CliError::BadValue {
                flag: name.into(),
                expected: format!("an integer of at least {min}"),
                got: v.to_string(),
            })
        };
        let losses = "one of minimax, non-saturating, least-squares, wasserstein";
        Ok(Options {
            gpu: args.string("device") == "gpu",
            target: Target::named_2d(args.string("data")).expect("--data is a choice flag"),
            seed: at_least("seed", 0)?,
            steps: args.override_of("steps", "preset", "a positive integer", |&s: &u64| s > 0)?,
            batch: args.override_of("batch", "preset", "an even integer of at least 2", |&b| {
                b >= 2 && b % 2 == 0 // packs of 2 must divide it
            })?,
            loss: args.override_of("loss", "preset", losses, |_: &GanLoss| true)?,
            k: args.override_of("k", "preset", "a positive integer", |&k: &usize| k > 0)?,
            lr: args.override_of("lr", "preset", "a positive number", |&lr: &f64| {
                lr > 0.0 && lr.is_finite()
            })?,
            log_every: at_least("log-every", 1)?,
            out: PathBuf::from(args.string("out")),
            compare: args.switch("compare"),
        })
    }

    /// The `2d` preset with the command line's changes.
    fn config(&self) -> Config {
        let mut c = Config::preset(Preset::TwoD);
        c.target = self.target;
        c.seed = self.seed;
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
}

fn main() {
    let cli = cli();
    let args = cli.parse_env_or_exit();
    let options = Options::parse(&args).unwrap_or_else(|e| {
        eprintln!("error: {e}\n\n{}", cli.usage());
        std::process::exit(2);
    });
    // Pick the device. Everything after this line is generic over `Backend`.
    let result = if options.gpu {
        match minimax::wgsl::Wgpu::new() {
            Ok(gpu) => {
                println!("device: {}", gpu.adapter_summary());
                run(gpu, &options)
            }
            Err(e) => Err(TrainError::Engine(e)),
        }
    } else {
        println!("device: CPU (f32 reference backend)");
        run(Cpu::<f32>::new(), &options)
    };
    if let Err(e) = result {
        eprintln!("\nerror: {e}");
        std::process::exit(1);
    }
}

fn run<B: Backend>(backend: B, options: &Options) -> Result<(), TrainError> {
    std::fs::create_dir_all(&options.out)
        .map_err(|e| TrainError::Io(format!("{}: {e}", options.out.display())))?;
    if options.compare {
        compare(backend, options)
    } else {
        single(backend, options)
    }
}

/// One training run, with snapshots every `steps / SLICES` steps.
struct Run<B: Backend> {
    trainer: Trainer<B>,
    stats: RunStats,
    coverage: Coverage,
}

/// Trains `config`, printing progress lines if `verbose`.
fn train<B: Backend>(
    backend: B,
    config: Config,
    log_every: u64,
    verbose: bool,
) -> Result<Run<B>, TrainError> {
    let steps = config.steps;
    let mut trainer = Trainer::new(backend, config)?;
    let mut snapshot_at: Vec<u64> = (0..=SLICES).map(|i| i * steps / SLICES).collect();
    snapshot_at.dedup();
    let run_options = RunOptions { log_every, snapshot_at, ..RunOptions::default() };
    let tty = verbose && std::io::stdout().is_terminal();
    let stats = trainer.run(&run_options, |p| {
        if tty {
            print!("\r{}\x1b[K", p.line()); // rewrite the line in place
            let _ = std::io::stdout().flush();
        } else if verbose {
            println!("{}", p.line());
        }
    })?;
    if tty {
        println!();
    }
    // Judge G on fresh samples, as the papers do.
    let coverage = trainer.coverage()?;
    Ok(Run { trainer, stats, coverage })
}

fn single<B: Backend>(backend: B, options: &Options) -> Result<(), TrainError> {
    // 1. Build the two players and train: Algorithm 1, as for the Gaussian.
    let config = options.config();
    println!("{}\n", config.describe());
    let run = train(backend, config, options.log_every, true)?;
    let c = run.trainer.config().clone();
    println!(
        "\ntrained {} steps in {:.2} s ({:.0} steps/s)\n",
        run.stats.steps_run,
        run.stats.seconds,
        run.stats.steps_run as f64 / run.stats.seconds
    );

    // 2. How did G do? Coverage of fresh samples, then the run's history.
    print_coverage(&c.target, &run.coverage);
    if run.coverage.modes_total > 0 {
        println!("\nWhere G's samples were during training:");
        print_history(&planes(&run.stats));
    }

    // 3. Write the report and the figure.
    let mut summary = vec![
        ("data", JsonValue::String(c.target.name().into())),
        ("device", JsonValue::String(run.trainer.backend().name())),
        ("seed", JsonValue::String(c.seed.to_string())),
        ("steps", JsonValue::Number(c.steps as f64)),
        ("seconds", JsonValue::Number(run.stats.seconds)),
    ];
    summary.extend(coverage_fields(&run.coverage));
    summary.push(("snapshots", history_json(&planes(&run.stats))));
    summary.push(("config", c.to_json()));
    let summary_path = options.out.join("summary.json");
    write(&summary_path, object(summary).to_pretty())?;
    let figure_path = options.out.join("figure.svg");
    let title = format!("{} GAN on the {}, seed {}", c.loss, c.target.name(), c.seed);
    write(&figure_path, figure(&c, &planes(&run.stats), &title))?;
    println!("\nwrote {} and {}", summary_path.display(), figure_path.display());
    Ok(())
}

/// The three configurations of `--compare`, each from the preset with the
/// command line's changes.
fn compared(options: &Options) -> Vec<(&'static str, &'static str, Config)> {
    let fixed = options.config();
    let mut dropping = fixed.clone();
    dropping.discriminator.pack = 1;
    let mut hopping = dropping.clone();
    hopping.d_optimizer = hopping.d_optimizer.with_lr(hopping.g_optimizer.lr() / 10.0);
    vec![
        ("hopping", "D 10× slower than G, single samples", hopping),
        ("dropping", "D as fast as G, single samples", dropping),
        ("packed", "D as fast as G, packs of 2 (the preset)", fixed),
    ]
}

fn compare<B: Backend>(backend: B, options: &Options) -> Result<(), TrainError> {
    let configs = compared(options);
    let seeds: Vec<u64> = (0..COMPARE_SEEDS).map(|i| options.seed + i).collect();
    println!(
        "{} configurations × {} seeds, {} steps each; {SAMPLES} samples from G judged at the end.\n",
        configs.len(),
        seeds.len(),
        configs[0].2.steps
    );
    // 1. Train every configuration on every seed.
    let mut results = Vec::new(); // per configuration: one Run per seed
    for (name, _, config) in &configs {
        let mut runs = Vec::new();
        for &seed in &seeds {
            let mut c = config.clone();
            c.seed = seed;
            let run = train(backend.clone(), c, u64::MAX, false)?;
            println!(
                "{name:>8} seed {seed}: {}/{} modes, {:5.1}% high quality, {:.1} s",
                run.coverage.modes_covered,
                run.coverage.modes_total,
                100.0 * run.coverage.high_quality_fraction,
                run.stats.seconds
            );
            runs.push(run);
        }
        results.push(runs);
    }

    // 2. Side by side: modes covered and high-quality fraction, per seed and mean.
    println!("\nmodes covered (of {}) and % of samples within 3σ of a mode:", {
        results[0][0].coverage.modes_total
    });
    print!("{:>10} {:<42}", "", "");
    for seed in &seeds {
        print!("  seed {seed:<3}");
    }
    println!("    mean");
    for ((name, what, _), runs) in configs.iter().zip(&results) {
        let covs: Vec<&Coverage> = runs.iter().map(|r| &r.coverage).collect();
        print!("{name:>10} {what:<42}");
        for c in &covs {
            print!("  {:>4}/{:<3}", c.modes_covered, c.modes_total);
        }
        let mean_modes =
            covs.iter().map(|c| c.modes_covered as f64).sum::<f64>() / covs.len() as f64;
        println!("  {mean_modes:6.2}");
        print!("{:>10} {:<42}", "", "");
        for c in &covs {
            print!("  {:>7.1}%", 100.0 * c.high_quality_fraction);
        }
        let mean_hq = covs.iter().map(|c| c.high_quality_fraction).sum::<f64>() / covs.len() as f64;
        println!("  {:5.1}%", 100.0 * mean_hq);
    }

    // 3. The hopping, made visible: where the first configuration's G was.
    let (name, _, _) = configs[0];
    println!("\nWhere G's samples were, run \"{name}\", seed {}:", seeds[0]);
    let hopping = planes(&results[0][0].stats);
    print_history(&hopping);

    // 4. Write it all down, and draw the hopping run.
    let json = configs
        .iter()
        .zip(&results)
        .map(|((name, what, config), runs)| {
            let per_seed = runs.iter().map(|r| {
                let mut pairs = vec![
                    ("seed", JsonValue::String(r.trainer.config().seed.to_string())),
                    ("seconds", JsonValue::Number(r.stats.seconds)),
                ];
                pairs.extend(coverage_fields(&r.coverage));
                pairs.push(("snapshots", history_json(&planes(&r.stats))));
                object(pairs)
            });
            let n = runs.len() as f64;
            object(vec![
                ("name", JsonValue::String(name.to_string())),
                ("what", JsonValue::String(what.to_string())),
                (
                    "mean_modes_covered",
                    JsonValue::Number(
                        runs.iter().map(|r| r.coverage.modes_covered as f64).sum::<f64>() / n,
                    ),
                ),
                (
                    "mean_high_quality_fraction",
                    JsonValue::Number(
                        runs.iter().map(|r| r.coverage.high_quality_fraction).sum::<f64>() / n,
                    ),
                ),
                ("runs", JsonValue::Array(per_seed.collect())),
                ("config", config.to_json()),
            ])
        })
        .collect();
    let compare_path = options.out.join("compare.json");
    write(&compare_path, object(vec![("configurations", JsonValue::Array(json))]).to_pretty())?;
    let c = results[0][0].trainer.config();
    let title = format!("run \"{name}\" (D 10× slower than G), seed {}: G hops", c.seed);
    let figure_path = options.out.join("compare.svg");
    write(&figure_path, figure(c, &hopping, &title))?;
    println!("\nwrote {} and {}", compare_path.display(), figure_path.display());
    Ok(())
}

/// The run's 2-D snapshots, in step order.
fn planes(stats: &RunStats) -> Vec<&PlaneSnapshot> {
    stats.snapshots.iter().filter_map(|s| s.plane()).collect()
}

/// The final coverage, mode by mode.
fn print_coverage(target: &Target, c: &Coverage) {
    println!(
        "{} samples from G; high quality = within {HQ_RADIUS}σ = {:.3} of a {}",
        c.samples,
        HQ_RADIUS * target.std,
        if c.modes_total > 0 { "mode's centre" } else { "point of the curve" }
    );
    if c.modes_total == 0 {
        println!("high quality: {:.1}%", 100.0 * c.high_quality_fraction);
        return;
    }
    println!("mode      centre            high-quality samples (covered: ≥ {MIN_PER_MODE})");
    for (k, (centre, &n)) in target.mode_centres().iter().zip(&c.per_mode).enumerate() {
        let mark = if n >= MIN_PER_MODE { "covered" } else { "LOST" };
        println!("{k:>4}  ({:6.2}, {:6.2})   {n:>6}  {mark}", centre[0], centre[1]);
    }
    println!(
        "modes covered: {}/{}, high quality: {:.1}% (a perfect G: {}/{}, ~98.9%)",
        c.modes_covered,
        c.modes_total,
        100.0 * c.high_quality_fraction,
        c.modes_total,
        c.modes_total
    );
}

/// The table that shows hopping: for each snapshot, the share of G's
/// samples nearest each mode (`·` under 1%), `*` where the mode is covered.
fn print_history(snapshots: &[&PlaneSnapshot]) {
    let Some(first) = snapshots.first() else { return };
    let modes = first.coverage.modes_total;
    if modes > 12 {
        // The grid's 25 columns would not fit: one line per snapshot.
        for s in snapshots {
            println!("step {:>6}: {:>2} modes covered", s.step, s.coverage.modes_covered);
        }
        return;
    }
    print!("  step ");
    for k in 0..modes {
        print!("  mode{k}");
    }
    println!("  covered   (% of G's samples nearest each mode; * covered)");
    for s in snapshots {
        print!("{:>6} ", s.step);
        let n = s.coverage.samples.max(1) as f64;
        for (&near, covered) in s.coverage.nearest_per_mode.iter().zip(s.coverage.covered()) {
            let share = 100.0 * near as f64 / n;
            let cell = if share < 1.0 { "·".to_string() } else { format!("{share:.0}") };
            print!("{cell:>6}{}", if covered { "*" } else { " " });
        }
        println!("  {:>4}", s.coverage.modes_covered);
    }
}

/// The figure: real and generated points over D at the [`PICTURED`] moments.
fn figure(c: &Config, snapshots: &[&PlaneSnapshot], title: &str) -> String {
    let real = c.target.sample(REAL_POINTS, c.seed ^ 0x5EED);
    let steps: Vec<u64> = PICTURED.iter().map(|&i| i * c.steps / SLICES).collect();
    let panels: Vec<_> = snapshots
        .iter()
        .filter(|s| steps.contains(&s.step))
        .map(|s| s.panel(&c.target, c.loss, &real))
        .collect();
    scatter::figure(&panels, title)
}

/// The headline numbers of a coverage, for `summary.json` and `compare.json`.
fn coverage_fields(c: &Coverage) -> Vec<(&'static str, JsonValue)> {
    let counts =
        |v: &[usize]| JsonValue::Array(v.iter().map(|&x| JsonValue::Number(x as f64)).collect());
    vec![
        ("samples", JsonValue::Number(c.samples as f64)),
        ("modes_covered", JsonValue::Number(c.modes_covered as f64)),
        ("modes_total", JsonValue::Number(c.modes_total as f64)),
        ("high_quality_fraction", JsonValue::Number(c.high_quality_fraction)),
        ("per_mode", counts(&c.per_mode)),
        ("nearest_per_mode", counts(&c.nearest_per_mode)),
        ("hq_radius_in_std", JsonValue::Number(HQ_RADIUS)),
        ("min_per_mode", JsonValue::Number(MIN_PER_MODE as f64)),
    ]
}

/// Each snapshot's coverage, for the JSON files.
fn history_json(snapshots: &[&PlaneSnapshot]) -> JsonValue {
    JsonValue::Array(
        snapshots
            .iter()
            .map(|s| {
                let mut pairs = vec![("step", JsonValue::Number(s.step as f64))];
                pairs.extend(coverage_fields(&s.coverage));
                object(pairs)
            })
            .collect(),
    )
}

fn object(pairs: Vec<(&str, JsonValue)>) -> JsonValue {
    JsonValue::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn write(path: &Path, text: String) -> Result<(), TrainError> {
    fsutil::write_atomic(path, text.as_bytes())
        .map_err(|e| TrainError::Io(format!("{}: {e}", path.display())))
}
