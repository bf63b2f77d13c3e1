//! Numerically stable losses, composed from primitives.

use crate::backend::labels_rule;
use crate::{Axis, Backend, Result, Var};

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

    /// Softmax cross-entropy of logits `z` (`[n, k]`, one row per example)
    /// against integer class labels (`n` of them, each in `0..k`),
    /// averaged over the examples: a `[1, 1]` loss, as PyTorch's
    /// `F.cross_entropy(z, labels)`.
    ///
    /// ```text
    /// ℓ_i = -ln softmax(z_i)_{y_i} = ln Σ_j e^(z_ij) - z_{i,y_i} = lse(z_i) - z_{i,y_i}
    /// L   = (1/n) Σ_i ℓ_i
    /// ∂ℓ_i/∂z_ij = softmax(z_i)_j - [j = y_i]       (∂lse/∂z_ij = softmax_j, ∂z_{i,y_i}/∂z_ij = [j = y_i])
    /// ∂L/∂z_ij   = (softmax(z_i)_j - onehot(y_i)_j) / n
    /// ```
    ///
    /// Composed from [`Var::logsumexp_rows`] (whose backward is the
    /// softmax) and [`Var::pick_cols`] (whose backward is the one-hot), so
    /// that gradient needs no code of its own, and it is finite for logits
    /// of ±1000. A label `≥ k`, or a label count other than `n`, is an
    /// error naming `cross_entropy`.
    pub fn cross_entropy(&self, labels: &B::Indices) -> Result<Var<B>> {
        labels_rule("cross_entropy", self.shape(), labels)?;
        let picked = self.pick_cols(labels)?; // [n, 1]: z_{i, y_i}
        Ok(self.logsumexp_rows().sub(&picked)?.mean())
    }

    /// Softmax cross-entropy of logits `z` (`[n, k]`) against class
    /// probabilities `t` (`[n, k]`, each row summing to 1: one-hot rows, or
    /// smoothed labels), averaged over the examples:
    ///
    /// ```text
    /// L = -(1/n) Σ_i Σ_j t_ij ln softmax(z_i)_j       ∂L/∂z_ij = (softmax(z_i)_j Σ_l t_il - t_ij) / n
    /// ```
    ///
    /// which is [`Var::cross_entropy`] when the rows of `t` are one-hot.
    /// One-hot rows gathered on the device ([`Var::gather_rows`] of a
    /// resident `[N, k]` table) keep the labels off the per-step uploads.
    /// Composed from [`Var::log_softmax_rows`].
    pub fn cross_entropy_probs(&self, targets: &Var<B>) -> Result<Var<B>> {
        let n = self.shape().rows as f64;
        let per_row = self.log_softmax_rows()?.mul(targets)?.sum_axis(Axis::Cols); // [n, 1]
        Ok(per_row.sum().mul_scalar(-1.0 / n))
    }
}
