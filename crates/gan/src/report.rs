//! Judging a trained generator, and what a run writes out: the final
//! [`Evaluation`] (1-D data), the [`Snapshot`]s taken during training and
//! the [`Summary`] that goes to `summary.json`. The 2-D counterparts (mode
//! coverage, points over D's decision surface) are in [`crate::plane`].

use crate::config::{Config, DInput};
use crate::json::JsonValue;
use crate::loss::GanLoss;
use crate::stats::{bin_centers, histogram_density, js_divergence, mean_std, normal_pdf};
use crate::svg::Panel;
use crate::train::{purpose, PerStep, RunStats, TrainError, Trainer};
use minimax_autodiff::{Backend, Real, Shape, Tape, Var};

/// Bins of the histograms compared by the Jensen–Shannon divergence.
pub const JS_BINS: usize = 100;

/// How G and D do at the end of training on 1-D data, measured on fresh
/// samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Samples drawn from each of the data and G.
    pub samples: usize,
    /// The data's mean, measured on the real sample.
    pub target_mean: f64,
    /// The data's standard deviation, measured on the real sample.
    pub target_std: f64,
    /// G's mean.
    pub generated_mean: f64,
    /// G's standard deviation.
    pub generated_std: f64,
    /// Jensen–Shannon divergence (nats) between histograms of the two
    /// samples ([`JS_BINS`] bins); 0 when they agree, ln 2 when disjoint.
    pub js_divergence: f64,
    /// D's mean output on real data: ½ at equilibrium for the cross-entropy
    /// and least-squares games (see [`GanLoss::d_output`]). For a D that sees
    /// moments, the mean over batches of D on each batch.
    pub d_real: f64,
    /// D's mean output on generated data, likewise.
    pub d_fake: f64,
}

/// A look at G and D during training: Figure 1's curves for 1-D data, or
/// G's points over D's decision surface for 2-D data.
#[derive(Clone, Debug, PartialEq)]
pub enum Snapshot {
    /// 1-D data.
    Line(LineSnapshot),
    /// 2-D data.
    Plane(crate::plane::PlaneSnapshot),
}

impl Snapshot {
    /// Steps done when it was taken.
    pub fn step(&self) -> u64 {
        match self {
            Snapshot::Line(s) => s.step,
            Snapshot::Plane(s) => s.step,
        }
    }

    /// The 1-D snapshot, if this is one.
    pub fn line(&self) -> Option<&LineSnapshot> {
        match self {
            Snapshot::Line(s) => Some(s),
            Snapshot::Plane(_) => None,
        }
    }

    /// The 2-D snapshot, if this is one.
    pub fn plane(&self) -> Option<&crate::plane::PlaneSnapshot> {
        match self {
            Snapshot::Line(_) => None,
            Snapshot::Plane(s) => Some(s),
        }
    }
}

/// One panel of the Figure-1 plot: the data density, G's density and D.
#[derive(Clone, Debug, PartialEq)]
pub struct LineSnapshot {
    /// Steps done when it was taken.
    pub step: u64,
    /// Bin centres over `mean ± 4 std` of the data.
    pub xs: Vec<f64>,
    /// `p_data(x)` at each x.
    pub data_density: Vec<f64>,
    /// G's density at each x (a histogram of 20 000 samples).
    pub gen_density: Vec<f64>,
    /// D's output at each x (when D sees samples).
    pub d_of_x: Option<Vec<f64>>,
    /// D's output on one real and one fake batch (when D sees moments).
    pub d_on_batches: Option<(f64, f64)>,
}

impl LineSnapshot {
    /// The snapshot as an SVG panel. D(x) is drawn on `[0, 1]`: as is for
    /// the games where it is a probability, min–max rescaled over the window
    /// for the Wasserstein critic (whose level means nothing).
    pub fn panel(&self, loss: GanLoss) -> Panel {
        let mut title = format!("step {}", self.step);
        let mut d_of_x = self.d_of_x.clone();
        if let (GanLoss::Wasserstein, Some(d)) = (loss, &mut d_of_x) {
            let lo = d.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = d.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let span = if hi > lo { hi - lo } else { 1.0 };
            d.iter_mut().for_each(|v| *v = (*v - lo) / span);
            title.push_str(" (critic, rescaled)");
        }
        if let Some((real, fake)) = self.d_on_batches {
            title.push_str(&format!(": D(real batch) {real:.2}, D(fake batch) {fake:.2}"));
        }
        Panel {
            title,
            xs: self.xs.clone(),
            data_density: self.data_density.clone(),
            gen_density: self.gen_density.clone(),
            d_of_x,
        }
    }
}

/// Samples from G: `[n, dim]` on the device, parameters as constants.
pub(crate) fn generate<B: Backend>(
    t: &Trainer<B>,
    tape: &Tape<B>,
    n: usize,
    seed: u64,
) -> Result<Var<B>, TrainError> {
    let g_vars = t.g_params().constants(tape);
    let z = t.generator().noise(tape, n, seed);
    Ok(t.generator().forward(&g_vars, &z)?)
}

/// Downloads a tensor as `f64`s.
pub(crate) fn host<B: Backend>(v: &Var<B>) -> Result<Vec<f64>, TrainError> {
    Ok(v.to_vec()?.into_iter().map(Real::to_f64).collect())
}

/// D's mean output (see [`GanLoss::d_output`]) on real and on fake data,
/// without dropout. A D that sees samples is asked about `n` of each; a D
/// that sees moments about `n / batch` batches of each.
fn d_means<B: Backend>(t: &Trainer<B>, n: usize, salt: u64) -> Result<(f64, f64), TrainError> {
    let c = t.config();
    let tape = Tape::new(t.backend().clone());
    let d_vars = t.d_params().constants(&tape);
    let (batch, batches) = match c.discriminator.input {
        DInput::Samples => (n, 1),
        DInput::Moments => (c.batch, (n / c.batch).max(1)),
    };
    let mut sums = Vec::new();
    for b in 0..batches as u64 {
        let real_seed = t.stream(purpose::EVAL, salt, 2 * b);
        let real = c.target.draw(&tape, batch, real_seed)?;
        let fake = generate(t, &tape, batch, t.stream(purpose::EVAL, salt, 2 * b + 1))?;
        for x in [real, fake] {
            let logits = t.discriminator().forward(&d_vars, &x, None)?;
            sums.push(c.loss.d_output(&logits).mean()); // [1, 1]
        }
    }
    // One download per batch pair at the end, not inside the loop's ops.
    let values: Vec<f64> = sums.iter().map(|s| s.item()).collect::<Result<_, _>>()?;
    let real = values.iter().step_by(2).sum::<f64>() / batches as f64;
    let fake = values.iter().skip(1).step_by(2).sum::<f64>() / batches as f64;
    Ok((real, fake))
}

impl<B: Backend> Trainer<B> {
    /// Compares `n` fresh real samples with `n` samples from G: means, stds,
    /// the Jensen–Shannon divergence of their histograms, and D's mean
    /// output on each. 1-D data only (for 2-D data see
    /// [`Trainer::coverage`]).
    pub fn evaluate(&self, n: usize) -> Result<Evaluation, TrainError> {
        let c = self.config();
        one_d(c, "evaluate", "Trainer::coverage")?;
        let tape = Tape::new(self.backend().clone());
        let real = host(&c.target.draw(&tape, n, self.stream(purpose::EVAL, 0, 0))?)?;
        let fake = host(&generate(self, &tape, n, self.stream(purpose::EVAL, 0, 1))?)?;
        let (target_mean, target_std) = mean_std(&real);
        let (generated_mean, generated_std) = mean_std(&fake);
        let (d_real, d_fake) = d_means(self, n, 1)?;
        Ok(Evaluation {
            samples: n,
            target_mean,
            target_std,
            generated_mean,
            generated_std,
            js_divergence: js_divergence(&real, &fake, JS_BINS),
            d_real,
            d_fake,
        })
    }

    /// A snapshot of the current G and D: [`Trainer::line_snapshot`] for
    /// 1-D data, [`Trainer::plane_snapshot`] for 2-D data.
    pub fn snapshot(&self) -> Result<Snapshot, TrainError> {
        if self.config().target.dim() == 1 {
            Ok(Snapshot::Line(self.line_snapshot()?))
        } else {
            Ok(Snapshot::Plane(self.plane_snapshot()?))
        }
    }

    /// A Figure-1 snapshot of the current G and D over `mean ± 4 std`
    /// (1-D data).
    pub fn line_snapshot(&self) -> Result<LineSnapshot, TrainError> {
        const BINS: usize = 80;
        const SAMPLES: usize = 20_000;
        let c = self.config();
        one_d(c, "line_snapshot", "Trainer::plane_snapshot")?;
        let (lo, hi) = (c.target.mean - 4.0 * c.target.std, c.target.mean + 4.0 * c.target.std);
        let xs = bin_centers(lo, hi, BINS);
        let data_density = xs.iter().map(|&x| normal_pdf(x, c.target.mean, c.target.std)).collect();
        let tape = Tape::new(self.backend().clone());
        let fake =
            host(&generate(self, &tape, SAMPLES, self.stream(purpose::SNAPSHOT, self.step(), 0))?)?;
        let gen_density = histogram_density(&fake, lo, hi, BINS);
        let (d_of_x, d_on_batches) = match c.discriminator.input {
            DInput::Samples => {
                let grid = self.backend().upload(
                    Shape::new(BINS, 1),
                    &xs.iter().map(|&x| B::Elem::from_f64(x)).collect::<Vec<_>>(),
                )?;
                let d_vars = self.d_params().constants(&tape);
                let logits = self.discriminator().forward(&d_vars, &tape.constant(grid), None)?;
                (Some(host(&c.loss.d_output(&logits))?), None)
            }
            DInput::Moments => (None, Some(d_means(self, c.batch, 2 + self.step())?)),
        };
        Ok(LineSnapshot { step: self.step(), xs, data_density, gen_density, d_of_x, d_on_batches })
    }
}

/// An error unless the data is 1-D: `what` is for 1-D data, `instead` the
/// 2-D counterpart.
fn one_d(c: &Config, what: &str, instead: &str) -> Result<(), TrainError> {
    if c.target.dim() == 1 {
        Ok(())
    } else {
        Err(TrainError::Config(format!(
            "{what} compares 1-D samples, and the data is {}: use {instead}",
            c.target.name()
        )))
    }
}

/// Everything a run reports, for the terminal and `summary.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// The backend's name.
    pub device: String,
    /// The configuration trained.
    pub config: Config,
    /// Steps done in all (including before a resume).
    pub steps: u64,
    /// This process's training time, in seconds.
    pub seconds: f64,
    /// Steps trained by this process.
    pub steps_run: u64,
    /// The final evaluation.
    pub eval: Evaluation,
    /// Device work per step (GPU).
    pub per_step: Option<PerStep>,
    /// The checkpoint this run resumed from, if any.
    pub resumed_from: Option<String>,
}

impl Summary {
    /// A summary of `trainer` after a run measured by `stats`.
    pub fn new<B: Backend>(trainer: &Trainer<B>, stats: &RunStats, eval: Evaluation) -> Summary {
        Summary {
            device: trainer.backend().name(),
            config: trainer.config().clone(),
            steps: trainer.step(),
            seconds: stats.seconds,
            steps_run: stats.steps_run,
            eval,
            per_step: stats.per_step,
            resumed_from: None,
        }
    }

    /// The summary as JSON: the headline numbers at the top level, then the
    /// config.
    pub fn to_json(&self) -> JsonValue {
        let num = JsonValue::Number;
        let e = &self.eval;
        let mut pairs = vec![
            ("device", JsonValue::String(self.device.clone())),
            ("steps", num(self.steps as f64)),
            ("steps_run", num(self.steps_run as f64)),
            ("seconds", num(self.seconds)),
            (
                "steps_per_second",
                num(if self.seconds > 0.0 { self.steps_run as f64 / self.seconds } else { 0.0 }),
            ),
            ("eval_samples", num(e.samples as f64)),
            ("target_mean", num(e.target_mean)),
            ("target_std", num(e.target_std)),
            ("generated_mean", num(e.generated_mean)),
            ("generated_std", num(e.generated_std)),
            ("js_divergence", num(e.js_divergence)),
            ("d_real", num(e.d_real)),
            ("d_fake", num(e.d_fake)),
        ];
        if let Some(p) = self.per_step {
            pairs.push(("dispatches_per_step", num(p.dispatches)));
            pairs.push(("submits_per_step", num(p.submits)));
            pairs.push(("readback_bytes_per_step", num(p.readback_bytes)));
        }
        if let Some(from) = &self.resumed_from {
            pairs.push(("resumed_from", JsonValue::String(from.clone())));
        }
        pairs.push(("config", self.config.to_json()));
        JsonValue::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }
}
