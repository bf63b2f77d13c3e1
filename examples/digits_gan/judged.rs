//! `digits_gan`'s tools for long runs: the EMA G judged beside the raw G
//! (`--g-ema`), judging every N steps with the best G kept
//! (`--judge-every`: `best.safetensors`, the curve in `summary.json` and
//! `judged.svg`), and G's samples as `.npy` files (`--export-samples`).
//!
//! The judging itself is `minimax_gan::image::judging` (the same judge as
//! the run's final one: classifier, samples, noise, real test features);
//! the files are `minimax_io`'s. This is the wiring.

use super::common::io_error;
use super::Args;
use minimax::autodiff::Backend;
use minimax::cpu::Cpu;
use minimax::gan::image::classifier::Prediction;
use minimax::gan::image::judging::{Best, CurvePoint, Judge, Judgement, PeriodicJudge};
use minimax::gan::image::{Classifier, GChoice, ImageTrainer};
use minimax::gan::TrainError;
use minimax::io::checkpoint::{self, DataId, BEST_FILE_NAME};
use minimax::io::datasets::{ImageSet, Splits};
use minimax::io::judge_curves::JudgeCurves;
use minimax::io::npy;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The noise seed of the exported samples (apart from the judge's, so an
/// outside judge sees other samples than ours).
const EXPORT_SEED: u64 = 11;

/// The run's judge: `n` samples from noise `seed`, against the real test
/// split's features `real_test` and the training split's class frequencies.
pub fn judge<'a>(
    cpu: &'a Cpu<f32>,
    classifier: &'a Classifier<Cpu<f32>>,
    real_test: &Prediction,
    train: &ImageSet,
    n: usize,
    seed: u64,
) -> Result<Judge<'a, Cpu<f32>>, TrainError> {
    let real = minimax::gan::frechet::Gaussian::fit(&real_test.features, real_test.feature_dim)
        .map_err(|e| TrainError::Config(e.to_string()))?;
    Ok(Judge {
        classifier,
        backend: cpu,
        real,
        real_frequencies: train.class_frequencies(),
        classes: train.classes,
        samples: n,
        seed,
    })
}

/// Judging every `every` steps, into `dir`.
pub struct Periodic<B: Backend> {
    judge: PeriodicJudge<B>,
    every: u64,
    best_path: PathBuf,
}

impl<B: Backend> Periodic<B> {
    /// With `--judge-every`: a fresh curve, and the best G so far from the
    /// folder's `best.safetensors` when the run is resumed (judged anew, so
    /// a later G must beat it to replace it).
    pub fn start(
        args: &Args,
        judge: &Judge<'_, Cpu<f32>>,
        trainer: &ImageTrainer<B>,
        dir: &Path,
    ) -> Result<Option<Periodic<B>>, TrainError> {
        let Some(every) = args.judge_every else { return Ok(None) };
        let best_path = dir.join(BEST_FILE_NAME);
        let mut periodic = PeriodicJudge::default();
        if args.resume.is_some() && best_path.exists() {
            let saved = checkpoint::load_generator(trainer.backend(), &best_path)?;
            let judgement = judge.judge_kept(trainer, &saved.weights, saved.step, saved.g)?;
            println!(
                "best G so far: {} G of step {}, Fréchet distance {:.3} ({})",
                saved.g.name(),
                saved.step,
                judgement.frechet_distance,
                best_path.display()
            );
            periodic.best = Some(Best { judgement, weights: saved.weights });
        }
        Ok(Some(Periodic { judge: periodic, every, best_path }))
    }

    /// At a stop of training: judges G (and its EMA) if `stop` is a
    /// multiple of N or the last step, and saves a new best.
    pub fn at(
        &mut self,
        judge: &Judge<'_, Cpu<f32>>,
        trainer: &ImageTrainer<B>,
        stop: u64,
        data: &DataId,
    ) -> Result<(), TrainError> {
        if stop == 0 || (!stop.is_multiple_of(self.every) && stop != trainer.config().steps) {
            return Ok(());
        }
        let before = self.judge.curve.len();
        let changed = self.judge.judge(judge, trainer)?;
        let line: Vec<String> = self.judge.curve[before..].iter().map(describe).collect();
        println!("judged at step {stop}: {}", line.join(" | "));
        if changed {
            let best = self.judge.best.as_ref().expect("a best G");
            let j = &best.judgement;
            checkpoint::save_generator(
                trainer.backend(),
                trainer.config(),
                &best.weights,
                j.g,
                j.step,
                Some(j.frechet_distance),
                data,
                &self.best_path,
            )?;
        }
        Ok(())
    }
}

/// `raw G 10/10 classes, Fréchet 41.2, IS 8.31`.
fn describe(j: &Judgement) -> String {
    format!(
        "{} G {}/{} classes, Fréchet {:.1}, IS {:.2}",
        j.g.name(),
        j.report.classes_covered,
        j.report.classes,
        j.frechet_distance,
        j.report.inception_score
    )
}

/// A judgement as `summary.json` keeps it.
fn as_json(j: &Judgement) -> Value {
    let mut v = json!(CurvePoint::from(j));
    v["histogram"] = json!(j.report.histogram);
    if let Some(a) = &j.conditional {
        v["conditional_accuracy_per_class"] = json!(a.per_class);
    }
    v
}

/// Adds to `summary`: the EMA G judged at the end (`g_ema`), and with
/// `--judge-every` the curve (`judged`), the best G (`best`) and
/// `judged.svg`. Prints the EMA's and the best G's figures.
pub fn finish<B: Backend>(
    summary: &mut Value,
    judge: &Judge<'_, Cpu<f32>>,
    trainer: &ImageTrainer<B>,
    periodic: Option<Periodic<B>>,
    floor: f64,
    dir: &Path,
    splits: &Splits,
) -> Result<(), TrainError> {
    if let Some(ema) = trainer.ema() {
        let j = judge.judge(trainer, GChoice::Ema)?;
        println!("  EMA of G (β = {}): {}", ema.beta(), describe(&j));
        summary["g_ema"] = json!({ "beta": ema.beta(), "judged": as_json(&j) });
    }
    let Some(p) = periodic else { return Ok(()) };
    let points = p.judge.points();
    summary["judge_every"] = json!(p.every);
    summary["judged"] = json!(points);
    let mut curves = JudgeCurves {
        title: format!("{}: G judged during training", splits.name),
        points,
        floor,
        classes: judge.classes,
        best: None,
    };
    if let Some(best) = &p.judge.best {
        let j = &best.judgement;
        println!("  best G: step {}, {} (kept in {})", j.step, describe(j), BEST_FILE_NAME);
        let mut v = as_json(j);
        v["file"] = json!(BEST_FILE_NAME);
        summary["best"] = v;
        curves.best = Some((j.step, j.g));
    }
    let path = dir.join("judged.svg");
    curves.save(&path).map_err(|e| io_error(&path, e))
}

/// Writes `count` samples of the raw G (`samples.npy`), its EMA
/// (`samples_ema.npy`) and the best G (`samples_best.npy`, from
/// `best.safetensors`), the same noise for each, and when conditional the
/// classes asked for (`labels.npy`); returns what was written.
pub fn export<B: Backend>(
    trainer: &ImageTrainer<B>,
    count: usize,
    (rows, cols): (usize, usize),
    dir: &Path,
    judge: &Judge<'_, Cpu<f32>>,
    with_best: bool,
) -> Result<Value, TrainError> {
    let classes = judge.classes;
    let asked: Vec<usize> = (0..count).map(|i| i % classes).collect();
    let mut files = Vec::new();
    let mut write = |name: &str, images: Vec<f32>| -> Result<(), TrainError> {
        let path = dir.join(name);
        npy::save_images(&path, &images, rows, cols).map_err(|e| io_error(&path, e))?;
        files.push(name.to_string());
        Ok(())
    };
    write("samples.npy", trainer.sample(count, Some(&asked), EXPORT_SEED)?)?;
    if trainer.ema().is_some() {
        write(
            "samples_ema.npy",
            trainer.sample_from(GChoice::Ema, count, Some(&asked), EXPORT_SEED)?,
        )?;
    }
    let best_path = dir.join(BEST_FILE_NAME);
    if with_best && best_path.exists() {
        let best = checkpoint::load_generator(trainer.backend(), &best_path)?;
        write(
            "samples_best.npy",
            trainer.sample_kept(&best.weights, count, Some(&asked), EXPORT_SEED)?,
        )?;
    }
    if trainer.config().conditional {
        let path = dir.join("labels.npy");
        npy::save_labels(&path, &asked).map_err(|e| io_error(&path, e))?;
        files.push("labels.npy".into());
    }
    println!("exported {count} samples each: {}", files.join(", "));
    Ok(json!({
        "files": files,
        "samples": count,
        "shape": [count, rows, cols],
        "dtype": "float32, pixels in [-1, 1]",
        "labels": "int64, the class each sample was asked for (conditional runs)",
        "seed": EXPORT_SEED,
    }))
}
