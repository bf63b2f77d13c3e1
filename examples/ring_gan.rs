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
//! Each run writes into its own folder, `out/ring_gan/<run name>/` (the
//! preset, the data set, the options that differ from the preset, the
//! seed; printed at the start), so a `--data moons` run does not overwrite
//! the ring's; `--out DIR` writes exactly into `DIR`.
//!
//! It counts modes the way the literature does (`coverage.rs`): of 2500
//! samples from G, those within 3σ of a mode's centre are *high quality*;
//! a mode is *covered* when at least 20 of them land on it. The run's
//! verdict: every mode covered and at least half the samples of high
//! quality (for the moons and the spiral, which have no modes: at least
//! half the samples within 3σ of the curve). It writes `summary.json` (the
//! numbers, the verdict, the config) and `figure.svg`: real (black) and generated
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
//! `compare.svg` draws all three, one row each (seed as given), at the
//! start, an eighth, half way and the end; `compare.json` has every seed.
//!
//! The algorithm and the measures are in the `minimax-gan` crate (`data.rs`
//! draws the ring, `coverage.rs` counts modes, `plane.rs` takes the
//! snapshots); flags, summaries and figures (`scatter.rs`) are
//! `minimax-io`'s; opening the device is `common/mod.rs`'s. This file is
//! the narration around them.

mod common;

use clap::{Parser, ValueEnum};
use common::{io_error, Chosen, Job};
use minimax::autodiff::Backend;
use minimax::gan::coverage::{HQ_RADIUS, MIN_PER_MODE};
use minimax::gan::snapshot::REAL_POINTS;
use minimax::gan::{Config, Coverage, PlaneSnapshot, Preset, RunOptions, RunStats, Target};
use minimax::gan::{CounterHook, TrainError, Trainer};
use minimax::io::cli::{self, GameArgs, RunArgs, TerminalHooks};
use minimax::io::summary::{self, Check, DeviceWork, Verdict};
use minimax::io::{figures, fsutil, scatter};
use serde_json::{json, Value};
use std::path::Path;

/// Snapshots per run: every `steps / SLICES` steps (and at step 0).
const SLICES: u64 = 16;
/// The snapshots drawn in `figure.svg`, in sixteenths of the run.
const PICTURED: [u64; 8] = [0, 1, 2, 4, 6, 8, 12, 16];
/// The snapshots drawn per configuration in `compare.svg`.
const PICTURED_COMPARE: [u64; 4] = [0, 2, 8, 16];
/// Seeds per configuration in `--compare`.
const COMPARE_SEEDS: u64 = 4;
/// The goal: at least this share of G's samples of high quality.
const HQ_GOAL: f64 = 0.5;
/// The example's name, and its folder under `out/`.
const EXAMPLE: &str = "ring_gan";

/// Train a GAN on 2-D data, count the modes it covers, and draw G and D as it learns.
#[derive(Debug, Parser)]
#[command(name = EXAMPLE)]
struct Args {
    /// The real data
    #[arg(long, value_enum, value_name = "DATA", default_value_t = Data::Ring)]
    data: Data,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    game: GameArgs,
    /// Train the hopping, dropping and packed configurations on 4 seeds each (from --seed)
    #[arg(long)]
    compare: bool,
}

/// The 2-D data sets.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Data {
    /// 8 Gaussians on a circle of radius 2, σ 0.02
    Ring,
    /// 5×5 Gaussians 2 apart, σ 0.05
    Grid,
    /// Two half circles, σ 0.1 (no modes: quality only)
    Moons,
    /// A spiral of 2.5 turns, σ 0.1 (no modes: quality only)
    Spiral,
}

impl Args {
    fn target(&self) -> Target {
        match self.data {
            Data::Ring => Target::ring(),
            Data::Grid => Target::grid(),
            Data::Moons => Target::moons(),
            Data::Spiral => Target::spiral(),
        }
    }

    /// The `2d` preset with the command line's changes.
    fn config(&self) -> Config {
        let mut c = Config::preset(Preset::TwoD);
        c.target = self.target();
        c.seed = self.run.seed.unwrap_or(c.seed);
        c.steps = self.run.steps.unwrap_or(c.steps);
        self.game.apply(&mut c);
        c
    }

    /// The run's folder name, such as `2d-ring-seed0`.
    fn run_name(&self) -> String {
        let mut parts = vec![("data", self.target().name().to_string())];
        if self.compare {
            parts.push(("data", "compare".into()));
        }
        if let Some(steps) = self.run.steps {
            parts.push(("steps", steps.to_string()));
        }
        parts.extend(self.game.given());
        cli::run_name(Preset::TwoD.name(), &parts, self.config().seed)
    }
}

fn main() {
    let args: Args = cli::parse_with_presets(&[Preset::TwoD]);
    // A config the flags made impossible (an odd batch with packs of 2) is
    // a usage error, found before any training.
    if let Err(why) = args.config().validate() {
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
    let name = args.run_name();
    let dir = cli::run_dir(EXAMPLE, &name, args.run.out.as_deref());
    cli::open_run_dir(&dir).map_err(TrainError::Io)?;
    println!("run {name}: writing to {}", dir.display());
    if args.compare {
        compare(backend, args, &dir)
    } else {
        single(backend, args, &name, &dir, counters)
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
    counters: Option<CounterHook>,
) -> Result<Run<B>, TrainError> {
    let steps = config.steps;
    let mut trainer = Trainer::new(backend, config)?;
    if let Some(hook) = counters {
        trainer.set_counter_hook(hook);
    }
    let mut snapshot_at: Vec<u64> = (0..=SLICES).map(|i| i * steps / SLICES).collect();
    snapshot_at.dedup();
    let options = RunOptions { log_every, snapshot_at, ..RunOptions::default() };
    let mut hooks = TerminalHooks::new(trainer.config(), verbose, None);
    let stats = trainer.run_with(steps, &options, &mut hooks);
    hooks.finish();
    let stats = stats?;
    // Judge G on fresh samples, as the papers do.
    let coverage = trainer.coverage()?;
    Ok(Run { trainer, stats, coverage })
}

/// Whether G met the goal: every mode covered and at least [`HQ_GOAL`] of
/// its samples of high quality (only the latter for the moons and the
/// spiral, which have no modes).
fn verdict(c: &Coverage) -> Verdict {
    let mut checks = Vec::new();
    if c.modes_total > 0 {
        checks.push(Check::at_least("modes_covered", c.modes_covered as f64, c.modes_total as f64));
    }
    checks.push(Check::at_least("high_quality_fraction", c.high_quality_fraction, HQ_GOAL));
    Verdict::all(checks)
}

fn single<B: Backend>(
    backend: B,
    args: &Args,
    name: &str,
    dir: &Path,
    counters: Option<CounterHook>,
) -> Result<(), TrainError> {
    // 1. Build the two players and train: Algorithm 1, as for the Gaussian.
    let config = args.config();
    println!("{}\n", config.describe());
    let run = train(backend, config, args.run.log_every, true, counters)?;
    let c = run.trainer.config().clone();
    println!(
        "\ntrained {} steps in {:.2} s ({:.0} steps/s)\n",
        run.stats.steps_run,
        run.stats.seconds,
        run.stats.steps_run as f64 / run.stats.seconds
    );

    // 2. How did G do? Coverage of fresh samples, then the run's history.
    print_coverage(&c.target, &run.coverage);
    let verdict = verdict(&run.coverage);
    println!("{verdict}");
    if run.coverage.modes_total > 0 {
        println!("\nWhere G's samples were during training:");
        print_history(&planes(&run.stats));
    }

    // 3. Write the report and the figure.
    let device_work = run.stats.per_step().map(DeviceWork::from);
    if let Some(work) = &device_work {
        println!("{work}");
    }
    let mut report = json!({
        "example": EXAMPLE,
        "run": name,
        "data": c.target.name(),
        "device": run.trainer.backend().name(),
        "seed": c.seed,
        "steps": c.steps,
        "seconds": run.stats.seconds,
        "verdict": verdict,
        "coverage": coverage_json(&run.coverage),
        "snapshots": history_json(&planes(&run.stats)),
        "config": summary::config_json(&c),
    });
    if let Some(work) = device_work {
        let work = serde_json::to_value(work).expect("numbers");
        let obj = report.as_object_mut().expect("an object");
        obj.extend(work.as_object().expect("an object").clone());
    }
    let summary_path = dir.join("summary.json");
    summary::write_json(&summary_path, &report).map_err(|e| io_error(&summary_path, e))?;
    let figure_path = dir.join("figure.svg");
    let title = format!("{} GAN on the {}, seed {}", c.loss, c.target.name(), c.seed);
    let panels = panels(&c, &planes(&run.stats), &PICTURED, "");
    write(&figure_path, scatter::figure(&panels, &title))?;
    println!("\nwrote {} and {}", summary_path.display(), figure_path.display());
    Ok(())
}

/// The three configurations of `--compare`, each from the preset with the
/// command line's changes.
fn compared(args: &Args) -> Vec<(&'static str, &'static str, Config)> {
    let fixed = args.config();
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

fn compare<B: Backend>(backend: B, args: &Args, dir: &Path) -> Result<(), TrainError> {
    let configs = compared(args);
    let first_seed = configs[0].2.seed;
    let seeds: Vec<u64> = (0..COMPARE_SEEDS).map(|i| first_seed + i).collect();
    println!(
        "{} configurations × {} seeds, {} steps each; {} samples from G judged at the end.\n",
        configs.len(),
        seeds.len(),
        configs[0].2.steps,
        minimax::gan::coverage::SAMPLES,
    );
    // 1. Train every configuration on every seed.
    let mut results = Vec::new(); // per configuration: one Run per seed
    for (name, _, config) in &configs {
        let mut runs = Vec::new();
        for &seed in &seeds {
            let mut c = config.clone();
            c.seed = seed;
            let run = train(backend.clone(), c, u64::MAX, false, None)?;
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
    let modes_total = results[0][0].coverage.modes_total;
    println!("\nmodes covered (of {modes_total}) and % of samples within 3σ of a mode:");
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
        println!("  {:6.2}", mean(covs.iter().map(|c| c.modes_covered as f64)));
        print!("{:>10} {:<42}", "", "");
        for c in &covs {
            print!("  {:>7.1}%", 100.0 * c.high_quality_fraction);
        }
        println!("  {:5.1}%", 100.0 * mean(covs.iter().map(|c| c.high_quality_fraction)));
    }

    // 3. The hopping, made visible: where the first configuration's G was.
    let (name, _, _) = configs[0];
    println!("\nWhere G's samples were, run \"{name}\", seed {}:", seeds[0]);
    print_history(&planes(&results[0][0].stats));

    // 4. Write it all down, and draw every configuration (first seed), one row each.
    let mut json_configs = Vec::new();
    let mut all_panels = Vec::new();
    for ((name, what, config), runs) in configs.iter().zip(&results) {
        let per_seed: Vec<Value> = runs
            .iter()
            .map(|r| {
                json!({
                    "seed": r.trainer.config().seed,
                    "seconds": r.stats.seconds,
                    "verdict": verdict(&r.coverage),
                    "coverage": coverage_json(&r.coverage),
                    "snapshots": history_json(&planes(&r.stats)),
                })
            })
            .collect();
        json_configs.push(json!({
            "name": name,
            "what": what,
            "mean_modes_covered": mean(runs.iter().map(|r| r.coverage.modes_covered as f64)),
            "mean_high_quality_fraction": mean(runs.iter().map(|r| r.coverage.high_quality_fraction)),
            "runs": per_seed,
            "config": summary::config_json(config),
        }));
        let first = &runs[0];
        let label = format!("{name}, ");
        all_panels.extend(panels(
            first.trainer.config(),
            &planes(&first.stats),
            &PICTURED_COMPARE,
            &label,
        ));
    }
    let compare_path = dir.join("compare.json");
    let report = json!({ "example": EXAMPLE, "seeds": seeds, "configurations": json_configs });
    summary::write_json(&compare_path, &report).map_err(|e| io_error(&compare_path, e))?;
    let title = format!(
        "rows: {} (seed {})",
        configs.iter().map(|(n, w, _)| format!("{n}: {w}")).collect::<Vec<_>>().join(" · "),
        seeds[0]
    );
    let figure_path = dir.join("compare.svg");
    write(&figure_path, scatter::figure(&all_panels, &title))?;
    println!("\nwrote {} and {}", compare_path.display(), figure_path.display());
    Ok(())
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    sum / n.max(1) as f64
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

/// Real and generated points over D at the `pictured` moments (in
/// sixteenths of the run), each panel's title prefixed by `label`.
fn panels(
    c: &Config,
    snapshots: &[&PlaneSnapshot],
    pictured: &[u64],
    label: &str,
) -> Vec<scatter::ScatterPanel> {
    let real = c.target.sample(REAL_POINTS, c.seed ^ 0x5EED);
    let steps: Vec<u64> = pictured.iter().map(|&i| i * c.steps / SLICES).collect();
    snapshots
        .iter()
        .filter(|s| steps.contains(&s.step))
        .map(|s| {
            let mut panel = figures::plane_panel(s, &c.target, c.loss, &real);
            panel.title = format!("{label}{}", panel.title);
            panel
        })
        .collect()
}

/// A coverage's numbers, with the rule that counted them.
fn coverage_json(c: &Coverage) -> Value {
    let mut v = serde_json::to_value(c).expect("numbers");
    let obj = v.as_object_mut().expect("an object");
    obj.insert("hq_radius_in_std".into(), json!(HQ_RADIUS));
    obj.insert("min_per_mode".into(), json!(MIN_PER_MODE));
    v
}

/// Each snapshot's coverage, for the JSON files.
fn history_json(snapshots: &[&PlaneSnapshot]) -> Value {
    let each =
        snapshots.iter().map(|s| json!({ "step": s.step, "coverage": coverage_json(&s.coverage) }));
    Value::Array(each.collect())
}

fn write(path: &Path, text: String) -> Result<(), TrainError> {
    fsutil::write_atomic(path, text.as_bytes()).map_err(|e| io_error(path, e))
}
