//! Numerically stable losses, composed from primitives.

use crate::{Backend, Result, Var};

impl<B: Backend> Var<B> {
    /// ln σ(x) = -softplus(-x), finite for any x (for x = -1000 it is -1000,
    /// where `sigmoid().log()` would be ln 0 = -∞).
    pub fn log_sigmoid(&self) -> Var<B> {
        self.neg().softplus().neg()
    }

    /// Binary cross-entropy of logits `x` against targets `t` in [0, 1],
    /// averaged over every element:
    ///
    /// ```text
    /// ℓ = -[t ln σ(x) + (1 - t) ln(1 - σ(x))]
    ///   = t softplus(-x) + (1 - t) softplus(x)     (ln σ(x) = -softplus(-x), ln(1-σ(x)) = -softplus(x))
    ///   = softplus(x) - t x                         (softplus(-x) = softplus(x) - x)
    /// dℓ/dx = σ(x) - t
    /// ```
    ///
    /// The last form never takes the log of a number that rounded to 0, so
    /// the loss and gradient stay finite for logits of ±100 and beyond.
    pub fn bce_with_logits(&self, targets: &Var<B>) -> Result<Var<B>> {
        Ok(self.softplus().sub(&self.mul(targets)?)?.mean())
    }

    /// Mean squared error, `mean((self - target)²)`.
    pub fn mse(&self, target: &Var<B>) -> Result<Var<B>> {
        Ok(self.sub(target)?.square().mean())
    }
}
