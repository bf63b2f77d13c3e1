//! Row-wise log-sum-exp and softmax, and picking one column per row by
//! label: what a classifier's cross-entropy is built from (`loss.rs`).

use crate::tape::{Backward, InputGrads};
use crate::{Backend, Binary, Result, Unary, Var};

impl<B: Backend> Var<B> {
    /// The log-sum-exp of each row, `[n, k] -> [n, 1]`:
    /// `y_i = ln Σ_j e^(x_ij)`, computed as `m_i + ln Σ_j e^(x_ij - m_i)`
    /// with `m_i` the row's maximum, so it is finite for logits of ±1000
    /// (see [`Backend::logsumexp_rows`]).
    pub fn logsumexp_rows(&self) -> Var<B> {
        let y = self.backend().logsumexp_rows(&self.value); // [n, 1]
        let (x, out) = (self.value.clone(), y.clone());
        self.tape.record_on_own_tape(y, &[self], Backward::LogSumExp { x, y: out })
    }
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
pub(crate) fn logsumexp_rows_backward<B: Backend>(
    be: &B,
    dy: &B::Tensor,
    x: &B::Tensor,
    y: &B::Tensor,
    inputs: &mut InputGrads<'_, B>,
) -> Result<()> {
    let softmax = be.unary(Unary::Exp, &be.binary(Binary::Sub, x, y)?); // [n, k]
    inputs.add(0, be.binary(Binary::Mul, &softmax, dy)?)
}

impl<B: Backend> Var<B> {
    /// One element per row, picked by label: `y_i = x[i, labels[i]]`, so
    /// `[n, k]` and `n` labels give `[n, 1]`. A label that is not a column
    /// (`≥ k`), or a label count that is not the row count, is an error.
    pub fn pick_cols(&self, labels: &B::Indices) -> Result<Var<B>> {
        let y = self.backend().pick_cols(&self.value, labels)?; // [n, 1]
        Ok(self.tape.record_on_own_tape(y, &[self], Backward::PickCols { labels: labels.clone() }))
    }
}

/// The backward of [`Var::pick_cols`]. y_i = x[i, labels[i]], so
/// ∂y_i/∂x_ij = 1 if j = labels[i], else 0:
///
/// ```text
/// dx[i, j] = dy_i · onehot(labels[i])_j
/// ```
pub(crate) fn pick_cols_backward<B: Backend>(
    be: &B,
    dy: &B::Tensor,
    labels: &B::Indices,
    inputs: &mut InputGrads<'_, B>,
) -> Result<()> {
    let cols = inputs.shape(0).cols;
    inputs.add(0, be.scatter_cols(dy, labels, cols)?)
}

impl<B: Backend> Var<B> {
    /// The log of the softmax of each row, `[n, k] -> [n, k]`:
    /// `x_ij - ln Σ_l e^(x_il)`. Composed (a column-broadcast sub of
    /// [`Var::logsumexp_rows`]), so finite wherever that is.
    pub fn log_softmax_rows(&self) -> Result<Var<B>> {
        self.sub(&self.logsumexp_rows())
    }

    /// The softmax of each row, `[n, k] -> [n, k]`:
    /// `e^(x_ij) / Σ_l e^(x_il) = e^(x_ij - logsumexp_i)`. Composed; every
    /// exponent is at most 0, so no `e^…` overflows.
    pub fn softmax_rows(&self) -> Result<Var<B>> {
        Ok(self.log_softmax_rows()?.exp())
    }
}
