//! [`Dropout`]: units zeroed at random while training.

use crate::layer::{Layer, LayerContext};
use minimax_autodiff::{Backend, Dist, Result, Var};

/// Inverted dropout: in a pass that draws (training), each unit is kept
/// with probability `keep` and zeroed otherwise, and kept units are scaled
/// by `1/keep`, so the expected activation is unchanged and nothing needs
/// rescaling at evaluation time, when the layer passes its input through.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Dropout {
    /// Probability of keeping a unit, in (0, 1].
    pub keep: f64,
}

impl Layer for Dropout {
    /// `x · mask / keep` with `mask ~ Bernoulli(keep)` drawn on the backend
    /// from the layer's seed ([`LayerContext::seed`]). The mask is a
    /// constant, so the backward is `dx = dy · mask / keep`.
    fn forward<B: Backend>(
        &self,
        _: &[Var<B>],
        x: &Var<B>,
        ctx: &mut LayerContext<'_, B>,
    ) -> Result<Var<B>> {
        let seed = match ctx.seed() {
            Some(seed) if self.keep < 1.0 => seed,
            _ => return Ok(x.clone()),
        };
        // [batch, width] of 0s and 1s, then scaled to 0 or 1/keep.
        let bernoulli = Dist::Bernoulli { p: self.keep };
        let mask = x.tape().random(x.shape(), bernoulli, seed).mul_scalar(1.0 / self.keep);
        x.mul(&mask)
    }
}
