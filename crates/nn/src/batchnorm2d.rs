//! [`BatchNorm2d`]: batch normalisation of images, each channel over the
//! batch and its positions, then scaled and shifted per channel,
//!
//! ```text
//! training:   y[n, c, p] = γ_c · (x[n, c, p] − mean_c) / √(var_c + ε) + β_c
//! evaluation: the same with the running statistics
//! ```
//!
//! as PyTorch's `nn.BatchNorm2d` does (biased variance to normalise, the
//! unbiased one over `batch·H·W` elements in the running variance). The
//! normalisation is [`Var::batch_norm2d`], composed from primitives; the
//! parameters and running statistics are those of [`crate::BatchNorm1d`],
//! one per channel.

use crate::batchnorm::BatchNorm1d;
use crate::layer::{Layer, LayerContext, Spec};
use crate::layers::Init;
use minimax_autodiff::{Backend, Result, Var};

/// The shape of one 2-D batch-norm layer over `channels` channels of any
/// size (`[batch, channels·H·W]`).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct BatchNorm2d {
    /// The per-channel parameters and running statistics, as a
    /// [`BatchNorm1d`] of `channels` features has them (the same ε and
    /// momentum defaults).
    pub per_channel: BatchNorm1d,
}

impl BatchNorm2d {
    /// PyTorch's defaults: ε = 1e-5, momentum 0.1.
    pub fn new(channels: usize) -> Self {
        BatchNorm2d { per_channel: BatchNorm1d::new(channels) }
    }

    /// Channels normalised.
    pub fn channels(&self) -> usize {
        self.per_channel.features
    }
}

impl Layer for BatchNorm2d {
    /// `gamma` and `beta`, `[1, channels]` each.
    fn param_specs(&self) -> Vec<Spec> {
        self.per_channel.param_specs()
    }

    /// `γ = 1`, `β = 0`.
    fn init_params<B: Backend>(&self, backend: &B, init: Init, seed: u64) -> Vec<B::Tensor> {
        self.per_channel.init_params(backend, init, seed)
    }

    /// `running_mean` and `running_var`, `[1, channels]` each.
    fn running_specs(&self) -> Vec<Spec> {
        self.per_channel.running_specs()
    }

    /// Running mean 0, running variance 1.
    fn init_running<B: Backend>(&self, backend: &B) -> Vec<B::Tensor> {
        self.per_channel.init_running(backend)
    }

    /// `[batch, C·H·W] -> [batch, C·H·W]`: the batch's statistics per
    /// channel (and the running ones updated) when the pass trains, the
    /// running ones when it evaluates.
    fn forward<B: Backend>(
        &self,
        params: &[Var<B>],
        x: &Var<B>,
        ctx: &mut LayerContext<'_, B>,
    ) -> Result<Var<B>> {
        let (gamma, beta) = (&params[0], &params[1]); // [1, C] each
        let (eps, momentum) = (self.per_channel.eps, self.per_channel.momentum);
        let running = (ctx.running(0)?, ctx.running(1)?);
        let normalised = if ctx.updates_running() {
            let out = x.batch_norm2d(self.channels(), eps)?; // [batch, C·P]; mean, var [1, C]
            let (mean, var) = out.updated_running_stats(running.0, running.1, momentum)?;
            ctx.set_running(0, mean)?;
            ctx.set_running(1, var)?;
            out.normalised
        } else {
            let tape = x.tape();
            let (mean, var) = (tape.constant(running.0.clone()), tape.constant(running.1.clone()));
            x.batch_norm2d_eval(&mean, &var, eps)?
        };
        normalised.mul_channels(gamma)?.add_channels(beta)
    }
}
