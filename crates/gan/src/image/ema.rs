//! An exponential moving average (EMA) of G's weights, kept beside G.
//!
//! A GAN's G does not settle: D keeps moving, so G's weights wander around
//! a good solution rather than converge to it, and a long run's last G can
//! be worse than its best. The average of G's recent weights sits nearer
//! the middle of that wandering, and draws better images than any one of
//! them (Yazıcı et al. 2019, "The unusual effectiveness of averaging in GAN
//! training"; every StyleGAN and BigGAN samples from one). After each
//! G-update, for every parameter `θ` of G:
//!
//! ```text
//! ema ← β · ema + (1 - β) · θ          (β = 0.999: a memory of ~1/(1-β) = 1000 steps)
//! ```
//!
//! as PyTorch's `AveragedModel` with `get_ema_multi_avg_fn(β)` does it, and
//! on whichever backend G trains on, with the backend's own elementwise
//! ops (three per tensor: two products and a sum), so nothing is
//! downloaded.
//!
//! - **Start**: the EMA starts as an exact copy of G's initial weights,
//!   not as zeros. So it needs no bias correction: Adam divides by
//!   `1 - βᵗ` because its moments start at zero and would be too small; a
//!   copy of `θ₀` is not too small, it is only old (its weight in the
//!   average is `βᵗ`: 5% after 3,000 steps at β = 0.999, e⁻²⁰ after
//!   20,000). **No warm-up** either (TensorFlow's `min(β, (1+t)/(10+t))`):
//!   the formula above is the whole rule, which keeps it the one a reader
//!   checks by hand and the one the tests compute. The price: for the first
//!   ~1/(1-β) steps the EMA still carries G's random start, so an early
//!   judgement of the EMA G is worse than the raw G's.
//! - **Batch norm**: G's running statistics (mean and variance, used when
//!   sampling) are averaged with the same rule, as timm's `ModelEmaV2`
//!   averages a model's buffers (PyTorch's `AveragedModel(use_buffers=True)`):
//!   the EMA G normalises with statistics of the same time scale as its
//!   weights. An average of variances is never negative.
//!
//! The EMA never feeds back into training: D plays against the raw G only.
//! It is updated by [`crate::image::ImageTrainer::train_step`] after
//! Algorithm 1's step (`algorithm1.rs` knows nothing of it), saved in the
//! image checkpoints and sampled beside the raw G.

use crate::error::TrainError;
use minimax_autodiff::{Backend, Binary, Shape, TensorShape};
use minimax_nn::ParamStore;

/// Which of a run's generators to sample: the one being trained, or its
/// EMA.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GChoice {
    /// G's own weights, as trained.
    Raw,
    /// The exponential moving average of G's weights ([`GEma`]).
    Ema,
}

impl GChoice {
    /// `raw` or `ema`.
    pub fn name(self) -> &'static str {
        match self {
            GChoice::Raw => "raw",
            GChoice::Ema => "ema",
        }
    }
}

/// A generator's weights apart from its net: its parameters and its
/// batch-norm running statistics (empty without batch norm).
pub struct GWeights<B: Backend> {
    /// G's parameters by name (`layer0.weight`, …).
    pub params: ParamStore<B>,
    /// G's running statistics by name (`layer1.running_mean`, …).
    pub running: ParamStore<B>,
}

impl<B: Backend> GWeights<B> {
    /// A copy of `params` and `running` in new tensors on the device (`x·1`,
    /// exact), so that later in-place updates of the originals (Adam's)
    /// leave it as it is.
    pub fn copy_of(
        be: &B,
        params: &ParamStore<B>,
        running: &ParamStore<B>,
    ) -> Result<GWeights<B>, TrainError> {
        let one = be.fill(Shape::scalar(), 1.0);
        let copy = |store: &ParamStore<B>| -> Result<ParamStore<B>, TrainError> {
            let mut out = ParamStore::new();
            for p in store.iter() {
                out.push(p.name.clone(), be.binary(Binary::Mul, &p.tensor, &one)?);
            }
            Ok(out)
        };
        Ok(GWeights { params: copy(params)?, running: copy(running)? })
    }
}

/// One EMA update of one tensor: `β · ema + (1 - β) · θ`, with `beta` the
/// scalar `[1, 1]` tensor `β` and `one_minus` the scalar `1 - β` (rounded
/// to the backend's type once, from the f64 `β`). `ema` and `theta` have one
/// shape.
pub fn ema_step<B: Backend>(
    be: &B,
    beta: &B::Tensor,
    one_minus: &B::Tensor,
    ema: &B::Tensor,
    theta: &B::Tensor,
) -> Result<B::Tensor, TrainError> {
    if ema.shape() != theta.shape() {
        return Err(TrainError::Config(format!(
            "EMA update: the average is {} and the weight {}",
            ema.shape(),
            theta.shape()
        )));
    }
    let kept = be.binary(Binary::Mul, ema, beta)?; // β · ema
    let new = be.binary(Binary::Mul, theta, one_minus)?; // (1 - β) · θ
    Ok(be.binary(Binary::Add, &kept, &new)?)
}

/// The EMA of a G's weights: the decay `β` and the averaged weights.
pub struct GEma<B: Backend> {
    beta: f64,
    /// The averaged parameters and running statistics.
    pub weights: GWeights<B>,
    /// `β` and `1 - β` as `[1, 1]` tensors on the device.
    factors: (B::Tensor, B::Tensor),
}

impl<B: Backend> GEma<B> {
    /// An EMA of decay `beta` (in `[0, 1)`) starting as a copy of G's
    /// `params` and `running` statistics.
    pub fn new(
        be: &B,
        beta: f64,
        params: &ParamStore<B>,
        running: &ParamStore<B>,
    ) -> Result<GEma<B>, TrainError> {
        if !(0.0..1.0).contains(&beta) {
            return Err(TrainError::Config(format!("G's EMA decay must be in [0, 1), got {beta}")));
        }
        let factors = (be.fill(Shape::scalar(), beta), be.fill(Shape::scalar(), 1.0 - beta));
        Ok(GEma { beta, weights: GWeights::copy_of(be, params, running)?, factors })
    }

    /// The decay `β`.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// One update after a G-update: every averaged tensor moves towards
    /// G's tensor of the same name, `ema ← β·ema + (1-β)·θ`. An error,
    /// before anything moves, if the stores do not hold the same names and
    /// shapes.
    pub fn update(
        &mut self,
        be: &B,
        params: &ParamStore<B>,
        running: &ParamStore<B>,
    ) -> Result<(), TrainError> {
        let pairs = [(&mut self.weights.params, params), (&mut self.weights.running, running)];
        for (ema, theta) in &pairs {
            if ema.specs() != theta.specs() {
                return Err(TrainError::Config(format!(
                    "EMA update: the average holds {:?}, G {:?}",
                    ema.specs(),
                    theta.specs()
                )));
            }
        }
        let (beta, one_minus) = &self.factors;
        for (ema, theta) in pairs {
            for (e, t) in ema.iter_mut().zip(theta.iter()) {
                e.tensor = ema_step(be, beta, one_minus, &e.tensor, &t.tensor)?;
            }
        }
        Ok(())
    }
}
