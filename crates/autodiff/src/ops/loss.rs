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
    ///   = t softplus(-x) + (1 - t) softplus(x)   (ln σ(x) = -softplus(-x), ln(1-σ(x)) = -softplus(x))
    /// dℓ/dx = -t σ(-x) + (1 - t) σ(x) = σ(x) - t
    /// ```
    ///
    /// Computed in that second form, which never takes the log of a number
    /// that rounded to 0 (finite for logits of ±1000) and keeps relative
    /// precision for confident logits: for x = 40, t = 1 the loss is
    /// softplus(-40) = 4.2e-18, where the shorter `softplus(x) - t x` gives
    /// 40 - 40 = 0 (it is exactly 0 from x = 34 in f64, x = 15 in f32, and
    /// loses digits well before).
    pub fn bce_with_logits(&self, targets: &Var<B>) -> Result<Var<B>> {
        let if_one = self.neg().softplus(); // -ln σ(x), the loss where t = 1
        let if_zero = self.softplus(); // -ln(1 - σ(x)), the loss where t = 0
        let one_minus_t = targets.neg().add_scalar(1.0);
        Ok(if_one.mul(targets)?.add(&if_zero.mul(&one_minus_t)?)?.mean())
    }

    /// Mean squared error, `mean((self - target)²)`.
    pub fn mse(&self, target: &Var<B>) -> Result<Var<B>> {
        Ok(self.sub(target)?.square().mean())
    }
}
