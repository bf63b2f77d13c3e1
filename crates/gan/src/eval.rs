//! Judging a trained generator: the final [`Evaluation`] on 1-D data, and
//! the [`Snapshot`]s of G and D taken during training.

use crate::config::{Config, DInput};
use crate::error::TrainError;
use crate::purpose;
use crate::snapshot::{LineSnapshot, Snapshot};
use crate::stats::{bin_centers, histogram_density, js_divergence, mean_std, normal_pdf};
use crate::train::Trainer;
use minimax_autodiff::{Backend, Real, Shape, Tape, Var};

/// Bins of the histograms compared by the Jensen–Shannon divergence.
pub const JS_BINS: usize = 100;

/// How G and D do at the end of training on 1-D data, measured on fresh
/// samples.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
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
    /// and least-squares games (see [`crate::GanLoss::d_output`]). For a D that sees
    /// moments, the mean over batches of D on each batch.
    pub d_real: f64,
    /// D's mean output on generated data, likewise.
    pub d_fake: f64,
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
