//! The maximum of each row: the reduction a numerically stable softmax
//! subtracts, and max-pooling over a row.

use crate::ops::Rule;
use crate::tape::InputGrads;
use crate::{Backend, Result, Var};

impl<B: Backend> Var<B> {
    /// The maximum of each row, `[n, k] -> [n, 1]`: `y_i = max_j x_ij`. A
    /// row holding a NaN gives NaN (unlike `f32::max`, which skips it); a
    /// row of no columns gives `-∞`. The gradient goes to one column per
    /// row, the first holding the maximum (see [`Backend::max_rows`]).
    pub fn max_rows(&self) -> Var<B> {
        let y = self.backend().max_rows(&self.value); // [n, 1]
        let x = self.value.clone();
        self.tape.record_on_own_tape(y, &[self], MaxRowsRule { x })
    }
}

/// What the backward below needs, saved when the op is recorded: the
/// input, whose argmax the backward finds again (on the GPU, in the kernel
/// that writes `dx`, so nothing is saved or read back in between).
pub(crate) struct MaxRowsRule<B: Backend> {
    pub(crate) x: B::Tensor,
}

/// The backward of [`Var::max_rows`]. y_i = x[i, a_i] with a_i the first
/// column holding the row's maximum, so
///
/// ```text
/// ∂y_i/∂x_ij = 1 if j = a_i, else 0
/// dx_ij      = dy_i · [j = a_i]
/// ```
///
/// exact wherever the maximum is unique. At a tie the max is not
/// differentiable; the whole gradient goes to the first maximum, as
/// PyTorch's `max(dim)` also routes it to the one index it returns (rather
/// than splitting it, as its `amax` does). A NaN row sends it to its first
/// NaN. One primitive, [`Backend::max_rows_backward`].
impl<B: Backend> Rule<B> for MaxRowsRule<B> {
    fn name(&self) -> &'static str {
        "max_rows"
    }

    fn backward(&self, be: &B, dy: &B::Tensor, inputs: &mut InputGrads<'_, B>) -> Result<()> {
        inputs.add(0, be.max_rows_backward(&self.x, dy)?)
    }
}
