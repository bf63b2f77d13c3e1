//! Row-wise log-sum-exp and softmax, and picking one column per row by
//! label: what a classifier's cross-entropy is built from (`loss.rs`).

use crate::ops::Rule;
use crate::tape::InputGrads;
use crate::{Backend, Binary, Result, Unary, Var};

impl<B: Backend> Var<B> {
    /// The log-sum-exp of each row, `[n, k] -> [n, 1]`:
    /// `y_i = ln Σ_j e^(x_ij)`, computed as `m_i + ln Σ_j e^(x_ij - m_i)`
    /// with `m_i` the row's maximum, so it is finite for logits of ±1000
    /// (see [`Backend::logsumexp_rows`]).
    pub fn logsumexp_rows(&self) -> Var<B> {
        let y = self.backend().logsumexp_rows(&self.value); // [n, 1]
        let (x, out) = (self.value.clone(), y.clone());
        self.tape.record_on_own_tape(y, &[self], LogSumExpRule { x, y: out })
    }
}

/// What the backward below needs, saved when the op is recorded.
pub(crate) struct LogSumExpRule<B: Backend> {
    pub(crate) x: B::Tensor,
    pub(crate) y: B::Tensor,
}

/// The backward of [`Var::logsumexp_rows`]. y_i = ln Σ_l e^(x_il), so
///
/// ```text
/// ∂y_i/∂x_ij = e^(x_ij) / Σ_l e^(x_il) = e^(x_ij - y_i) = softmax(x_i)_j
/// dx_ij = dy_i · e^(x_ij - y_i)
/// ```
///
/// with `x_ij - y_i ≤ 0` (y_i is at least the row's maximum), so `e^…`
/// never overflows. Three primitives: a column-broadcast sub, exp, and a
/// column-broadcast mul.
impl<B: Backend> Rule<B> for LogSumExpRule<B> {
    fn name(&self) -> &'static str {
        "logsumexp_rows"
    }

    fn backward(&self, be: &B, dy: &B::Tensor, inputs: &mut InputGrads<'_, B>) -> Result<()> {
        let LogSumExpRule { ref x, ref y } = *self;
        let softmax = be.unary(Unary::Exp, &be.binary(Binary::Sub, x, y)?); // [n, k]
        inputs.add(0, be.binary(Binary::Mul, &softmax, dy)?)
    }
}

impl<B: Backend> Var<B> {
    /// One element per row, picked by label: `y_i = x[i, labels[i]]`, so
    /// `[n, k]` and `n` labels give `[n, 1]`. A label that is not a column
    /// (`≥ k`), or a label count that is not the row count, is an error.
    pub fn pick_cols(&self, labels: &B::Indices) -> Result<Var<B>> {
        let y = self.backend().pick_cols(&self.value, labels)?; // [n, 1]
        Ok(self.tape.record_on_own_tape(y, &[self], PickColsRule { labels: labels.clone() }))
    }
}

/// What the backward below needs, saved when the op is recorded.
pub(crate) struct PickColsRule<B: Backend> {
    pub(crate) labels: B::Indices,
}

/// The backward of [`Var::pick_cols`]. y_i = x[i, labels[i]], so
/// ∂y_i/∂x_ij = 1 if j = labels[i], else 0:
///
/// ```text
/// dx[i, j] = dy_i · onehot(labels[i])_j
/// ```
impl<B: Backend> Rule<B> for PickColsRule<B> {
    fn name(&self) -> &'static str {
        "pick_cols"
    }

    fn backward(&self, be: &B, dy: &B::Tensor, inputs: &mut InputGrads<'_, B>) -> Result<()> {
        let PickColsRule { ref labels } = *self;
        let cols = inputs.shape(0).cols;
        inputs.add(0, be.scatter_cols(dy, labels, cols)?)
    }
}

impl<B: Backend> Var<B> {
    /// The log of the softmax of each row, `[n, k] -> [n, k]`:
    /// `x_ij - ln Σ_l e^(x_il)`, computed as `z_ij - ln Σ_l e^(z_il)` with
    /// `z = x - m` and `m` the row's maximum ([`Var::max_rows`]), held
    /// constant: the softmax does not change when a row is shifted, so the
    /// gradient is the same, and at large logits (≈ 1e4 in `f32`) the
    /// result keeps the precision of `z` rather than the ulp of `ln Σ e^x`
    /// (≈ 1e-3 there). Composed (column-broadcast subs and
    /// [`Var::logsumexp_rows`]), so finite wherever that is.
    pub fn log_softmax_rows(&self) -> Result<Var<B>> {
        let m = self.tape.constant(self.backend().max_rows(&self.value)); // [n, 1]
        let z = self.sub(&m)?; // every z_ij ≤ 0, the maximum exactly 0
        z.sub(&z.logsumexp_rows())
    }

    /// The softmax of each row, `[n, k] -> [n, k]`:
    /// `e^(x_ij) / Σ_l e^(x_il) = e^(x_ij - logsumexp_i)`. Composed; every
    /// exponent is at most 0, so no `e^…` overflows.
    pub fn softmax_rows(&self) -> Result<Var<B>> {
        Ok(self.log_softmax_rows()?.exp())
    }
}
