//! G judged by the classifier, once or every so many steps, and the best
//! G of a run kept.
//!
//! A GAN's last G is not its best: on the `digits` preset the judged
//! figures peak near 3,000 steps and then worsen. So a run can judge G as
//! it trains ([`PeriodicJudge`], `--judge-every N`): at each judged step
//! the raw G, and its EMA when the run keeps one, are judged exactly as the
//! run's final judgement is ([`Judge`]: the same classifier, the same
//! number of samples from the same noise, the same real test features), and
//! the G with the **lowest Fréchet distance among every G judged, raw or
//! EMA**, is kept (a copy of its weights on the device), with which one it
//! was and when. Ties keep the earlier G. A Fréchet distance that is not a
//! number never wins.
//!
//! Pure computation: writing the best G to a file, and the curve to
//! `summary.json` and an SVG, is the caller's (`minimax-io`).

use crate::error::TrainError;
use crate::frechet::{frechet_distance_gaussians, Gaussian};
use crate::image::classifier::Classifier;
use crate::image::ema::{GChoice, GWeights};
use crate::image::ImageTrainer;
use crate::judge::{self, ClassReport, ConditionalAccuracy};
use minimax_autodiff::Backend;

/// What the classifier says of one G's samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Judgement {
    /// The training step G was judged at.
    pub step: u64,
    /// Which G: raw or EMA.
    pub g: GChoice,
    /// The predicted-class histogram, classes covered, class KL and
    /// Inception Score.
    pub report: ClassReport,
    /// The Fréchet distance in the classifier's features to the real test
    /// split's.
    pub frechet_distance: f64,
    /// A conditional G's accuracy on the classes it was asked for.
    pub conditional: Option<ConditionalAccuracy>,
}

/// One point of a run's curve of judged figures, as `summary.json` keeps
/// it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CurvePoint {
    /// The training step.
    pub step: u64,
    /// `raw` or `ema`.
    pub g: GChoice,
    /// Classes with a fair share of the samples.
    pub classes_covered: usize,
    /// `KL(predicted ‖ real)` over class frequencies, nats.
    pub class_kl: f64,
    /// The classifier-based Inception Score.
    pub inception_score: f64,
    /// The Fréchet distance to the real test features.
    pub frechet_distance: f64,
    /// Conditional runs: the overall conditional accuracy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditional_accuracy: Option<f64>,
}

impl From<&Judgement> for CurvePoint {
    fn from(j: &Judgement) -> CurvePoint {
        CurvePoint {
            step: j.step,
            g: j.g,
            classes_covered: j.report.classes_covered,
            class_kl: j.report.class_kl,
            inception_score: j.report.inception_score,
            frechet_distance: j.frechet_distance,
            conditional_accuracy: j.conditional.as_ref().map(|a| a.overall),
        }
    }
}

/// The judge of a run: a classifier on its own backend `C` (the CPU: it is
/// the ruler, not the thing measured), the Gaussian of the real test
/// split's features, the real class frequencies, and how many samples to
/// draw from which noise. Sample `i` is asked for class `i mod classes`.
pub struct Judge<'a, C: Backend> {
    /// The classifier.
    pub classifier: &'a Classifier<C>,
    /// Its backend.
    pub backend: &'a C,
    /// The Gaussian fitted to the real test split's features.
    pub real: Gaussian,
    /// The real class frequencies (the training split's), `[classes]`.
    pub real_frequencies: Vec<f64>,
    /// Classes in the data.
    pub classes: usize,
    /// Samples drawn from each G judged (at least 2).
    pub samples: usize,
    /// The noise seed of the samples.
    pub seed: u64,
}

impl<C: Backend> Judge<'_, C> {
    /// The classes the samples are asked for: `i mod classes`.
    pub fn asked(&self) -> Vec<usize> {
        (0..self.samples).map(|i| i % self.classes).collect()
    }

    /// Judges the raw G or its EMA at the trainer's step.
    pub fn judge<B: Backend>(
        &self,
        t: &ImageTrainer<B>,
        which: GChoice,
    ) -> Result<Judgement, TrainError> {
        let samples = t.sample_from(which, self.samples, Some(&self.asked()), self.seed)?;
        self.judge_samples(&samples, t.config().conditional, t.step(), which)
    }

    /// Judges kept weights `g` of the trainer's G (a run's best, say),
    /// recorded as the G `which` of `step`.
    pub fn judge_kept<B: Backend>(
        &self,
        t: &ImageTrainer<B>,
        g: &GWeights<B>,
        step: u64,
        which: GChoice,
    ) -> Result<Judgement, TrainError> {
        let samples = t.sample_kept(g, self.samples, Some(&self.asked()), self.seed)?;
        self.judge_samples(&samples, t.config().conditional, step, which)
    }

    /// Judges G's `samples` (`[samples, pixels]`, drawn for
    /// [`Judge::asked`]'s classes) of the G `g` at `step`.
    pub fn judge_samples(
        &self,
        samples: &[f32],
        conditional: bool,
        step: u64,
        g: GChoice,
    ) -> Result<Judgement, TrainError> {
        let bad = |e: String| TrainError::Config(e);
        let fake = self.classifier.predict(self.backend, samples)?;
        let report = judge::class_report(&fake.probs, self.classes, &self.real_frequencies)
            .map_err(|e| bad(e.to_string()))?;
        let fit =
            Gaussian::fit(&fake.features, fake.feature_dim).map_err(|e| bad(e.to_string()))?;
        let frechet_distance =
            frechet_distance_gaussians(&fit, &self.real).map_err(|e| bad(e.to_string()))?;
        let conditional = if conditional {
            let a = judge::conditional_accuracy(&self.asked(), &fake.predicted, self.classes)
                .map_err(|e| bad(e.to_string()))?;
            Some(a)
        } else {
            None
        };
        Ok(Judgement { step, g, report, frechet_distance, conditional })
    }
}

/// The best G of a run so far: its judgement and a copy of its weights.
pub struct Best<B: Backend> {
    /// How it was judged (its step, raw or EMA, its figures).
    pub judgement: Judgement,
    /// Its weights, a copy on the trainer's device.
    pub weights: GWeights<B>,
}

/// Whether a G of Fréchet distance `candidate` beats the best so far,
/// `best` (`None`: nothing judged yet): strictly lower wins, so a tie keeps
/// the earlier G, and NaN never wins.
pub fn beats(candidate: f64, best: Option<f64>) -> bool {
    !candidate.is_nan() && best.is_none_or(|b| candidate < b)
}

/// Judging every so many steps: the curve of judged figures and the best G.
pub struct PeriodicJudge<B: Backend> {
    /// Every judgement, in order (at each step the raw G, then the EMA).
    pub curve: Vec<Judgement>,
    /// The best G so far ([`beats`]).
    pub best: Option<Best<B>>,
}

impl<B: Backend> Default for PeriodicJudge<B> {
    fn default() -> Self {
        PeriodicJudge { curve: Vec::new(), best: None }
    }
}

impl<B: Backend> PeriodicJudge<B> {
    /// Judges the trainer's raw G, and its EMA if it keeps one, at its
    /// current step; adds them to the curve and keeps a copy of the one
    /// that beats the best so far. Returns whether the best changed (the
    /// caller then saves it).
    pub fn judge<C: Backend>(
        &mut self,
        judge: &Judge<'_, C>,
        t: &ImageTrainer<B>,
    ) -> Result<bool, TrainError> {
        let mut which = vec![GChoice::Raw];
        if t.ema().is_some() {
            which.push(GChoice::Ema);
        }
        let mut changed = false;
        for g in which {
            let j = judge.judge(t, g)?;
            let best = self.best.as_ref().map(|b| b.judgement.frechet_distance);
            if beats(j.frechet_distance, best) {
                self.best = Some(Best { judgement: j.clone(), weights: t.copy_weights(g)? });
                changed = true;
            }
            self.curve.push(j);
        }
        Ok(changed)
    }

    /// The curve as `summary.json` keeps it.
    pub fn points(&self) -> Vec<CurvePoint> {
        self.curve.iter().map(CurvePoint::from).collect()
    }
}
