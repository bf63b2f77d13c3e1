//! # Handwritten digits: the GAN of the notes, judged by a classifier
//!
//! After the 1-D Gaussian and the ring, the notes' running example: a GAN
//! that draws images. G turns 32 (or 100) numbers of noise into an image,
//! D looks at an image and says how real it looks, and Algorithm 1 plays
//! them against each other exactly as before; only the data changed. By
//! default the data are the 1,797 8×8 handwritten digits of UCI, shipped
//! in the repository (`data/`), so the run needs no download and trains in
//! well under a minute on one CPU core.
//!
//! ```text
//! cargo run --release --example digits_gan                     # 8×8 digits, ~30 s
//! cargo run --release --example digits_gan -- --conditional    # ask G for a digit
//! cargo run --release --example digits_gan -- --data fashion   # Fashion-MNIST 28×28
//! cargo run --release --example digits_gan -- --data DIR       # MNIST, or any IDX files
//! ```
//!
//! **Watching it learn.** G draws a fixed batch of noise at the start, a
//! quarter, half and three quarters of the way, and at the end
//! (`samples_step*.png`, the last also as `samples.png`): the same noise
//! each time, so the same digits are seen forming out of grey blur.
//! `interpolation.png` walks G along a straight line between two noise
//! vectors: a G that has learnt a smooth map morphs one digit into another,
//! rather than jumping. `loss_curves.svg` shows D's and G's losses.
//!
//! **Conditional GAN** (Mirza & Osindero 2014), `--conditional`: the class
//! is joined, one-hot, to G's noise and to D's input, so G learns to draw
//! the digit it is asked for, and D to reject a good 3 labelled 7. The
//! grids then show one row per class.
//!
//! **Judging images without a human.** How good is G? The run trains an
//! MLP classifier with the same engine on the training split (softmax
//! cross-entropy, Adam; cached in `classifiers/` under `--out` (else
//! `out/`), keyed by the data
//! set's fingerprint and the classifier's config), prints its test
//! accuracy, and asks it about G's samples (2,000 for 8×8, 10,000 for
//! 28×28):
//!
//! - which class each sample looks like: `classes_covered` (classes with a
//!   fair share of the samples; a mode-collapsed G covers few) and
//!   `class_kl`, the KL divergence of that histogram from the real class
//!   frequencies;
//! - a classifier-based *Inception Score* `exp E KL(p(y|x) ‖ p(y))`: high
//!   when each sample is clearly one class and all classes appear (10 at
//!   most);
//! - a **Fréchet distance in this classifier's penultimate-layer
//!   features** between G's samples and the real test images. It is *not*
//!   the Inception FID of the literature, and its numbers are not
//!   comparable with published ones; so the run also reports the same
//!   distance between the real training and test splits
//!   (`frechet_distance_real`), the floor a perfect G would reach;
//! - conditional runs: the share of samples the classifier puts in the
//!   class G was asked for, overall and per class.
//!
//! The verdict in `summary.json`: all classes covered (unconditional), or
//! a conditional accuracy of at least 90% (conditional).
//!
//! **Presets** (`crates/gan/src/image/config.rs`): `digits` (small nets
//! for 8×8, the default there), `classic` (the MLP GAN of the literature
//! for 28×28: G 100→128→256→512→1024→784 with BatchNorm, D 784→512→256→1,
//! LeakyReLU 0.2, Adam 2e-4 with β₁ = 0.5; the default for 28×28 data), and
//! `notebook` (the small GAN of the MNIST notebook the notes link).
//!
//! **Memory**: the training set stays in the file's bytes (a quarter of
//! its `f32` size); each step scales its batch to `[-1, 1]` and uploads it,
//! on either device (`crates/gan/src/image/data.rs`). The classifier always
//! judges on the CPU: it is the ruler, not the thing measured.
//!
//! **Checkpoints**: `--save-every N` writes `checkpoint.safetensors` every
//! N steps (and at the end); `--resume FILE` continues a run exactly where
//! it stopped, bit for bit on the CPU. A NaN or infinity stops the run,
//! naming the step and what diverged.
//!
//! **Long runs** (`digits_gan/judged.rs`): a GAN's last G is not its best
//! (on `digits` the figures peak early and then worsen). `--g-ema 0.999`
//! keeps an exponential moving average of G's weights
//! (`crates/gan/src/image/ema.rs`), judged beside G and saved in the
//! checkpoints; `--judge-every N` judges G (and its EMA) every N steps,
//! keeps the G of the lowest Fréchet distance as `best.safetensors`, and
//! draws the curve (`judged.svg`, and `judged` in summary.json);
//! `--export-samples N` writes G's samples as `samples*.npy` (and the
//! classes asked for, `labels.npy`) for outside judges.
//!
//! The algorithm is `crates/gan/src/image/train.rs`, the judges are
//! `judge.rs` and `frechet.rs`; data files, PNGs, checkpoints and flags are
//! `minimax-io`'s; opening the device is `common/mod.rs`'s. This file is
//! the narration around them.

mod common;
#[path = "digits_gan/judged.rs"]
mod judged;

use clap::Parser;
use common::{io_error, Chosen, Job};
use minimax::autodiff::rng::{normal, seed_key};
use minimax::autodiff::Backend;
use minimax::cpu::Cpu;
use minimax::gan::image::classifier::ClassifierConfig;
use minimax::gan::image::{
    Classifier, ImageConfig, ImageData, ImageNet, ImagePreset, ImageTrainer,
};
use minimax::gan::{judge, CounterHook, DeviceCounters, GanLoss, PerStep, RunOptions, TrainError};
use minimax::io::checkpoint::{self, DataId};
use minimax::io::cli::{self, Device, Loss, RunArgs, TerminalHooks};
use minimax::io::datasets::{DataSource, Splits};
use minimax::io::loss_curves::LossCurves;
use minimax::io::png_grid::{save_grid, GridSpec};
use minimax::io::summary::{self, Check, DeviceWork, Verdict};
use minimax::nn::LrDecay;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

const EXAMPLE: &str = "digits_gan";
/// The noise seed of the sample grids: fixed, so the same digits are seen
/// forming from grid to grid.
const GRID_SEED: u64 = 2014;
/// The noise seed of the samples the classifier judges.
const JUDGE_SEED: u64 = 7;
/// Grids drawn in a run: at 0, ¼, ½, ¾ of the steps and at the end.
const GRID_POINTS: u64 = 4;
/// Images across a grid (and rows, for the unconditional GAN).
const GRID_SIDE: usize = 10;
/// Points along the latent interpolation.
const INTERPOLATION_POINTS: usize = 10;
/// The conditional verdict's goal.
const CONDITIONAL_GOAL: f64 = 0.9;

/// Train a GAN on images and judge it with a classifier the engine trains.
#[derive(Debug, Parser)]
#[command(name = "digits_gan")]
struct Args {
    /// The data: `digits` (8×8, shipped), `fashion` (Fashion-MNIST, from
    /// /usr/share/datasets/fashion-mnist), or a folder of IDX files
    #[arg(long, value_name = "DATA", default_value = "digits")]
    data: String,
    /// The preset: digits, classic, notebook, dcgan (strided convolutions,
    /// for 28×28 images; on 8×8 too) or digits-dcgan (half its channels, for
    /// 8×8) [default: digits for 8×8 data, classic for larger images: the
    /// convolutional presets judge better but train 4-10× slower on a CPU,
    /// see BENCHMARKS.md]
    #[arg(long, value_name = "PRESET", value_parser = parse_preset)]
    preset: Option<ImagePreset>,
    /// A conditional GAN: G and D are told the class
    #[arg(long)]
    conditional: bool,
    /// The game [default: non-saturating]
    #[arg(long, value_enum, value_name = "LOSS")]
    loss: Option<Loss>,
    /// Wasserstein only: D's weights are clipped to ±C after each update
    /// [default: 0.01]
    #[arg(long, value_name = "C", value_parser = cli::positive)]
    clip: Option<f64>,
    /// Both learning rates fall linearly from step START·steps to the
    /// factor TO at the last step, e.g. 0.5,0.02 [default: constant rates]
    #[arg(long, value_name = "START,TO", value_parser = cli::parse_lr_decay)]
    lr_decay: Option<LrDecay>,
    #[command(flatten)]
    run: RunArgs,
    /// Save a checkpoint every N steps (and at the end); 0: never
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = cli::steps_or_zero, allow_negative_numbers = true)]
    save_every: u64,
    /// Continue the run saved in FILE (its config; --steps, --seed,
    /// --preset and --conditional do not apply)
    #[arg(long, value_name = "FILE")]
    resume: Option<PathBuf>,
    /// G's samples the classifier judges [default: 2000 for 8×8, 10000
    /// otherwise]
    #[arg(long, value_name = "N", value_parser = cli::sample_count, allow_negative_numbers = true)]
    judge_samples: Option<usize>,
    /// Keep an exponential moving average of G's weights with decay BETA
    /// in [0, 1) (0.999: about the last 1,000 steps), judged beside G
    #[arg(long, value_name = "BETA", value_parser = cli::ema_decay, allow_negative_numbers = true)]
    g_ema: Option<f64>,
    /// Judge G (and its EMA) every N steps and at the end; keep the G of
    /// the lowest Fréchet distance as best.safetensors, the curve in
    /// summary.json and judged.svg
    #[arg(long, value_name = "N", value_parser = cli::judge_every, allow_negative_numbers = true)]
    judge_every: Option<u64>,
    /// Write N of G's samples (and its EMA's, and the best G's) as .npy
    /// files, with the classes asked for when conditional
    #[arg(long, value_name = "N", value_parser = cli::export_count, allow_negative_numbers = true)]
    export_samples: Option<usize>,
}

fn parse_preset(s: &str) -> Result<ImagePreset, String> {
    s.parse()
}

fn main() {
    let args: Args = cli::parse_with_help(
        "Runs write into out/digits_gan/<run name>/: samples*.png, interpolation.png, \
         loss_curves.svg, summary.json."
            .into(),
    );
    if args.resume.is_some()
        && (args.run.steps.is_some()
            || args.run.seed.is_some()
            || args.preset.is_some()
            || args.conditional
            || args.loss.is_some()
            || args.clip.is_some()
            || args.lr_decay.is_some()
            || args.g_ema.is_some())
    {
        cli::usage_error::<Args>(
            "--resume continues the saved run with its own config: leave out --steps, \
             --seed, --preset, --conditional, --loss, --clip, --lr-decay and --g-ema",
        );
    }
    let splits = match DataSource::from_flag(&args.data).load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    // What would fail after training, checked before it.
    if let Err(why) = splits.check_judgeable() {
        eprintln!("error: {why}");
        std::process::exit(1);
    }
    let empty = splits.train.empty_classes();
    if !empty.is_empty() {
        eprintln!(
            "warning: {} of {} classes have no training image (labels {:?}): check the label files",
            empty.len(),
            splits.train.classes,
            &empty[..empty.len().min(10)]
        );
    }
    // Pick the device and run on it (`common/mod.rs`). Everything after
    // this is generic over `Backend`.
    common::run_on(args.run.device, Digits { args: &args, splits: &splits });
}

/// The example, on whichever backend `--device` chose.
struct Digits<'a> {
    args: &'a Args,
    splits: &'a Splits,
}

impl Job for Digits<'_> {
    type Args = Args;

    fn run<B: Backend>(self, backend: B, device: Chosen) -> Result<(), TrainError> {
        // The batch schedule's chunks: the rows one device tensor could hold
        // (the schedule GPU runs have had since the set was resident there).
        let pixels = self.splits.train.rows * self.splits.train.cols;
        let max_rows = device
            .max_tensor_bytes
            .map_or(usize::MAX, |bytes| (bytes / (4 * pixels as u64)) as usize);
        run(backend, device.label, max_rows, device.counters, self.args, self.splits)
    }
}

/// The run's config: the preset for this data, then the flags.
fn config(args: &Args, splits: &Splits) -> ImageConfig {
    let pixels = splits.train.rows * splits.train.cols;
    let preset = args.preset.unwrap_or(if pixels <= 64 {
        ImagePreset::Digits
    } else {
        ImagePreset::Classic
    });
    let mut c = ImageConfig::preset(preset, pixels, splits.train.classes);
    c.conditional = args.conditional;
    c.seed = args.run.seed.unwrap_or(c.seed);
    c.steps = args.run.steps.unwrap_or(c.steps);
    if let Some(loss) = args.loss {
        c.loss = loss.into();
    }
    c.clip = args.clip.unwrap_or(c.clip);
    c.lr_decay = args.lr_decay.or(c.lr_decay);
    c.g_ema = args.g_ema.or(c.g_ema);
    c
}

fn run<B: Backend>(
    backend: B,
    device: String,
    max_rows: usize,
    counters: Option<CounterHook>,
    args: &Args,
    splits: &Splits,
) -> Result<(), TrainError> {
    let wall = Instant::now();
    let (train, test) = (&splits.train, &splits.test);
    let (pixels, classes) = (train.rows * train.cols, train.classes);
    let shape = (train.rows, train.cols);
    println!(
        "data: {} ({} training and {} test images of {}×{}, {classes} classes)",
        splits.name,
        train.len(),
        test.len(),
        train.rows,
        train.cols
    );

    // 1. The judge: a classifier trained on the training split (cached).
    let cpu = Cpu::<f32>::new();
    let (classifier, accuracy) = judge_classifier(&cpu, splits, args.run.out.as_deref())?;
    println!("classifier: test accuracy {:.1}%", 100.0 * accuracy);

    // 2. The players, fresh or from a checkpoint; the training set's batches.
    let c = match &args.resume {
        Some(path) => checkpoint::read_image_config(path)?,
        None => config(args, splits),
    };
    if c.pixels != pixels || c.classes != classes {
        return Err(TrainError::Config(format!(
            "the run is for images of {} pixels in {} classes; {} has {pixels} pixels in {classes}",
            c.pixels, c.classes, splits.name
        )));
    }
    let data = ImageData::upload(&backend, &c, &train.images, &train.labels, max_rows)?;
    let mut trainer = match &args.resume {
        Some(path) => checkpoint::load_image(backend, path, data, &DataId::of(splits))?,
        None => ImageTrainer::new(backend, c, data)?,
    };
    if let Some(hook) = counters {
        trainer.set_counter_hook(hook);
    }
    let c = trainer.config().clone();
    let mut parts = vec![("data", DataSource::from_flag(&args.data).run_label())];
    if c.conditional {
        parts.push(("data", "conditional".to_string()));
    }
    if let Some(loss) = args.loss {
        parts.push(("loss", GanLoss::from(loss).name().to_string()));
    }
    if let Some(clip) = args.clip {
        parts.push(("clip", clip.to_string()));
    }
    if let Some(LrDecay { start, to }) = args.lr_decay {
        parts.push(("lrdecay", format!("{start}_{to}")));
    }
    if args.run.steps.is_some() {
        parts.push(("steps", c.steps.to_string()));
    }
    if let Some(beta) = args.g_ema {
        parts.push(("gema", beta.to_string()));
    }
    if args.run.device == Device::Gpu {
        parts.push(("data", "gpu".to_string()));
    }
    let name = cli::run_name(c.preset.name(), &parts, c.seed);
    // A resumed run writes where its checkpoint is (or into --out), and no
    // run writes into a folder that holds another.
    let dir = match &args.resume {
        Some(path) => cli::resumed_run_dir(path, args.run.out.as_deref()),
        None => cli::run_dir(EXAMPLE, &name, args.run.out.as_deref()),
    };
    let config_json = serde_json::to_string(&c).expect("a config");
    let identity = cli::run_identity(EXAMPLE, &DataId::of(splits), &config_json);
    cli::claim_run_dir(&dir, &identity).map_err(TrainError::Io)?;
    match &args.resume {
        Some(path) => println!("run resumed from {}: writing to {}", path.display(), dir.display()),
        None => println!("run {name}: writing to {}", dir.display()),
    }
    println!(
        "preset {}{}: {} nets, G {}→{:?}→{pixels}, D {}→{:?}→1{}, batch {}, {} steps from step {}",
        c.preset,
        if c.conditional { " (conditional)" } else { "" },
        c.net,
        c.g_input(),
        c.g_hidden,
        c.d_input(),
        c.d_hidden,
        if c.net == ImageNet::Dcgan { " (hidden: channels of strided convolutions)" } else { "" },
        c.batch,
        c.steps,
        trainer.step()
    );

    // 3. Train in segments, drawing the fixed noise's grid between them.
    let checkpoint_path = (args.save_every > 0).then(|| checkpoint::path_in(&dir));
    let mut hooks =
        TerminalHooks::for_images(true, checkpoint_path.clone(), c.steps, DataId::of(splits));
    // The checkpoint of the state each segment starts from: the one resumed
    // from, then the one the last segment saved at its end.
    let mut opts = RunOptions {
        log_every: args.run.log_every,
        save_every: args.save_every,
        resumed_from: args.resume.clone(),
        ..Default::default()
    };
    let grid_stops: Vec<u64> = (0..=GRID_POINTS).map(|i| c.steps * i / GRID_POINTS).collect();
    // With --judge-every, training also stops at every multiple of N (and
    // the last step) to judge G and its EMA and keep the best
    // (`judged.rs`).
    let mut stops = grid_stops.clone();
    if let Some(every) = args.judge_every {
        stops.extend((1..=c.steps / every).map(|i| i * every));
        stops.sort_unstable();
        stops.dedup();
    }
    let n = args.judge_samples.unwrap_or(if pixels <= 64 { 2000 } else { 10_000 });
    let real_test = classifier.predict(&cpu, &test.images)?;
    let the_judge = judged::judge(&cpu, &classifier, &real_test, train, n, JUDGE_SEED)?;
    let mut periodic = judged::Periodic::start(args, &the_judge, &trainer, &dir)?;
    let (mut seconds, mut device_work, mut steps_run) = (0.0, None::<(DeviceCounters, u64)>, 0);
    for &stop in &stops {
        if stop < trainer.step() {
            continue;
        }
        let stats = minimax::gan::run::run_with(&mut trainer, stop, &opts, &mut hooks);
        hooks.finish();
        let stats = stats?;
        seconds += stats.seconds;
        if let Some((work, steps)) = stats.device_work {
            let (total, n) = device_work.get_or_insert((DeviceCounters::default(), 0));
            (*total, *n) = (*total + work, *n + steps);
        }
        steps_run += stats.steps_run;
        if stats.steps_run > 0 && checkpoint_path.is_some() {
            opts.resumed_from.clone_from(&checkpoint_path);
        }
        if grid_stops.contains(&stop) {
            grid(&trainer, shape, &dir.join(format!("samples_step{stop:06}.png")))?;
        }
        if let Some(p) = &mut periodic {
            p.at(&the_judge, &trainer, stop, &DataId::of(splits))?;
        }
    }
    grid(&trainer, shape, &dir.join("samples.png"))?;
    interpolation(&trainer, shape, &dir.join("interpolation.png"))?;
    let mut curves = LossCurves::new(format!("{}: D's and G's losses", splits.name));
    for p in &hooks.history {
        curves.push(p.step, p.d_loss, p.g_loss);
    }
    let curves_path = dir.join("loss_curves.svg");
    curves.save(&curves_path).map_err(|e| io_error(&curves_path, e))?;
    let steps_per_second = if seconds > 0.0 { steps_run as f64 / seconds } else { 0.0 };
    println!("trained {steps_run} steps in {seconds:.1} s ({steps_per_second:.3} steps/s)");

    // 4. Judge G's samples with the classifier.
    let asked: Vec<usize> = (0..n).map(|i| i % classes).collect();
    let samples = trainer.sample(n, Some(&asked), JUDGE_SEED)?;
    let fake = classifier.predict(&cpu, &samples)?;
    let real_train = classifier.predict(&cpu, &train.images)?;
    let report = judge::class_report(&fake.probs, classes, &train.class_frequencies())
        .map_err(|e| TrainError::Config(e.to_string()))?;
    let dim = fake.feature_dim;
    let fd = |a: &[f64], b: &[f64]| {
        minimax::gan::frechet::frechet_distance(a, b, dim)
            .map_err(|e| TrainError::Config(e.to_string()))
    };
    let frechet = fd(&fake.features, &real_test.features)?;
    let frechet_real = fd(&real_train.features, &real_test.features)?;
    println!("judged {n} samples of G:");
    println!("  predicted classes   {:?}", report.histogram);
    println!("  classes covered     {}/{classes}", report.classes_covered);
    println!("  class KL            {:.3} nats (from the real class frequencies)", report.class_kl);
    println!(
        "  Inception Score     {:.2} (classifier-based; at most {classes})",
        report.inception_score
    );
    println!(
        "  Fréchet distance    {frechet:.3} in this classifier's features (not Inception FID); \
         real train vs real test: {frechet_real:.3}"
    );
    let cond = if c.conditional {
        let a = judge::conditional_accuracy(&asked, &fake.predicted, classes)
            .map_err(|e| TrainError::Config(e.to_string()))?;
        let per: Vec<String> = a
            .per_class
            .iter()
            .enumerate()
            .map(|(k, v)| format!("{}: {:.0}%", splits.class_names[k], 100.0 * v.unwrap_or(0.0)))
            .collect();
        println!("  conditional accuracy {:.1}% ({})", 100.0 * a.overall, per.join(", "));
        Some(a)
    } else {
        None
    };

    // 5. The verdict and summary.json.
    let check = match &cond {
        Some(a) => Check::at_least("conditional_accuracy", a.overall, CONDITIONAL_GOAL),
        None => Check::at_least("classes_covered", report.classes_covered as f64, classes as f64),
    };
    let verdict = Verdict::all(vec![check]);
    println!("{verdict}");
    let mut summary = json!({
        "example": EXAMPLE,
        "data": splits.name,
        "data_fingerprint": format!("{:016x}", splits.fingerprint()),
        "device": device,
        "preset": c.preset.name(),
        "conditional": c.conditional,
        "steps": trainer.step(),
        "seconds": seconds,
        "wall_seconds": wall.elapsed().as_secs_f64(),
        "steps_per_second": steps_per_second,
        "classifier_test_accuracy": accuracy,
        "classifier": ClassifierConfig::for_pixels(pixels),
        "samples_judged": n,
        "histogram": report.histogram,
        "classes_covered": report.classes_covered,
        "class_kl": report.class_kl,
        "inception_score": report.inception_score,
        "frechet_distance": frechet,
        "frechet_distance_real": frechet_real,
        "frechet_note": "Fréchet distance between Gaussians fitted to the judging classifier's \
                         penultimate-layer features of G's samples and of the real test split; \
                         not Inception FID. frechet_distance_real: the training split against \
                         the test split, the floor.",
        "verdict": verdict,
        "config": c,
    });
    if let Some(a) = &cond {
        summary["conditional_accuracy"] = json!(a.overall);
        summary["conditional_accuracy_per_class"] = json!(a.per_class);
    }
    if let Some(per) = device_work.and_then(|(total, steps)| PerStep::new(total, steps)) {
        let work = DeviceWork::from(per);
        println!("{work}");
        summary["gpu"] = json!(work);
    }
    // 6. The EMA G, the best G, the judged curve, the exported samples.
    judged::finish(&mut summary, &the_judge, &trainer, periodic, frechet_real, &dir, splits)?;
    if let Some(count) = args.export_samples {
        summary["exported"] =
            judged::export(&trainer, count, shape, &dir, &the_judge, args.judge_every.is_some())?;
    }
    let summary_path = dir.join("summary.json");
    summary::write_json(&summary_path, &summary).map_err(|e| io_error(&summary_path, e))?;
    println!("wrote {} (wall time {:.1} s)", summary_path.display(), wall.elapsed().as_secs_f64());
    Ok(())
}

/// The judging classifier and its test accuracy: loaded from the cache if
/// one was trained on this data set with this config, else trained (on the
/// CPU) and saved there. The cache is `classifiers/` in the `--out` folder
/// when one is given (the one place the run may write), else in `out/`. A
/// cache that cannot be written is a warning: the run goes on.
fn judge_classifier(
    cpu: &Cpu<f32>,
    splits: &Splits,
    out: Option<&Path>,
) -> Result<(Classifier<Cpu<f32>>, f64), TrainError> {
    let (train, test) = (&splits.train, &splits.test);
    let (pixels, classes) = (train.rows * train.cols, train.classes);
    let cc = ClassifierConfig::for_pixels(pixels);
    let key =
        minimax::io::datasets::fnv1a64(serde_json::to_string(&cc).expect("a config").as_bytes());
    let fingerprint = splits.fingerprint();
    let path = out
        .unwrap_or(Path::new(cli::OUT_ROOT))
        .join("classifiers")
        .join(format!("{fingerprint:016x}-{key:016x}.safetensors"));
    if path.exists() {
        match checkpoint::load_classifier(cpu, &path, &cc, fingerprint, pixels, classes) {
            Ok(loaded) => {
                println!("classifier: loaded from {}", path.display());
                return Ok(loaded);
            }
            Err(e) => println!("classifier: not using the cached one ({e}); training anew"),
        }
    }
    let started = Instant::now();
    let classifier = Classifier::train(cpu, pixels, classes, &train.images, &train.labels, &cc)?;
    let accuracy = classifier.accuracy(cpu, &test.images, &test.labels)?;
    println!(
        "classifier: trained {:?} for {} epochs in {:.1} s",
        cc.hidden,
        cc.epochs,
        started.elapsed().as_secs_f64()
    );
    let saved = std::fs::create_dir_all(path.parent().expect("a folder"))
        .map_err(|e| io_error(&path, e))
        .and_then(|()| {
            checkpoint::save_classifier(cpu, &classifier, &cc, fingerprint, accuracy, &path)
        });
    if let Err(e) = saved {
        eprintln!("warning: the classifier is not cached ({e}); the next run trains it again");
    }
    Ok((classifier, accuracy))
}

/// The fixed noise's images in a grid: 10×10, or one row per class when
/// conditional.
fn grid<B: Backend>(
    t: &ImageTrainer<B>,
    shape: (usize, usize),
    path: &Path,
) -> Result<(), TrainError> {
    let c = t.config();
    let rows = if c.conditional { c.classes } else { GRID_SIDE };
    let n = rows * GRID_SIDE;
    let classes: Vec<usize> = (0..n).map(|i| i / GRID_SIDE).collect();
    let images = t.sample(n, Some(&classes), GRID_SEED)?;
    save_picture(&images, shape, GRID_SIDE, path)
}

/// G along the straight line from one noise vector to another, in
/// [`INTERPOLATION_POINTS`] steps; conditional: one such line per class.
fn interpolation<B: Backend>(
    t: &ImageTrainer<B>,
    shape: (usize, usize),
    path: &Path,
) -> Result<(), TrainError> {
    let c = t.config();
    let (key0, key1) = (seed_key(GRID_SEED + 1), seed_key(GRID_SEED + 2));
    let ends: Vec<(f32, f32)> = (0..c.latent_dim as u32)
        .map(|i| (normal(key0, i) as f32, normal(key1, i) as f32))
        .collect();
    let lines = if c.conditional { c.classes } else { 1 };
    let (mut z, mut classes) = (Vec::new(), Vec::new());
    for line in 0..lines {
        for j in 0..INTERPOLATION_POINTS {
            let s = j as f32 / (INTERPOLATION_POINTS - 1) as f32;
            z.extend(ends.iter().map(|&(a, b)| (1.0 - s) * a + s * b));
            classes.push(line);
        }
    }
    let images = t.sample_z(&z, &classes)?;
    save_picture(&images, shape, INTERPOLATION_POINTS, path)
}

/// `images` (each `rows × cols`) in a grid of `per_row` across, scaled up
/// to be seen.
fn save_picture(
    images: &[f32],
    (rows, cols): (usize, usize),
    per_row: usize,
    path: &Path,
) -> Result<(), TrainError> {
    let scale = if rows <= 8 { 6 } else { 2 };
    let spec = GridSpec { rows, cols, per_row, scale };
    save_grid(path, images, &spec).map_err(|e| TrainError::Io(format!("{}: {e}", path.display())))
}
