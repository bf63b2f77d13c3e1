//! Reading a tensor as another shape, and repeating a row or a column: the
//! two moves that let per-channel work on images (`[batch, C·H·W]`) be
//! written with the row and column ops (see `channels.rs`).

use crate::backend::{broadcast_to_rule, Broadcast};
use crate::ops::Rule;
use crate::tape::InputGrads;
use crate::{Axis, Backend, Result, Shape, Var};

impl<B: Backend> Var<B> {
    /// The same elements, row-major, as a tensor of `shape`: `[batch, C·P]`
    /// read as `[batch·C, P]` puts one channel of one image in each row. An
    /// error if the element counts differ. Nothing is copied.
    pub fn reshape(&self, shape: Shape) -> Result<Var<B>> {
        let y = self.backend().reshape(&self.value, shape)?;
        self.tape.record_op(y, &[self], ReshapeRule)
    }
}

/// The backward below, which needs nothing saved (the input's shape is on
/// the tape).
pub(crate) struct ReshapeRule;

/// The backward of [`Var::reshape`]: y is x's elements in the same order,
/// so `∂y_k/∂x_k = 1` element by element and `dx = dy` read back as x's
/// shape.
impl<B: Backend> Rule<B> for ReshapeRule {
    fn name(&self) -> &'static str {
        "reshape"
    }

    fn backward(&self, be: &B, dy: &B::Tensor, inputs: &mut InputGrads<'_, B>) -> Result<()> {
        let shape = inputs.shape(0);
        inputs.add(0, be.reshape(dy, shape)?)
    }
}

impl<B: Backend> Var<B> {
    /// A row `[1, c]` repeated down `shape.rows` rows, a column `[r, 1]`
    /// repeated across `shape.cols` columns, or a scalar to every element
    /// (the rule of [`Backend::broadcast`]); an error for any other pair.
    pub fn broadcast_to(&self, shape: Shape) -> Result<Var<B>> {
        let rule = broadcast_to_rule(self.shape(), shape)?;
        let y = self.backend().broadcast(&self.value, shape)?;
        self.tape.record_op(y, &[self], BroadcastRule { rule })
    }
}

/// What the backward below needs: which way the input was repeated.
pub(crate) struct BroadcastRule {
    pub(crate) rule: Broadcast,
}

/// The backward of [`Var::broadcast_to`], the adjoint of the sum: each
/// input element was copied to every element of its row (or column), so
/// its gradient is the sum of theirs,
///
/// ```text
/// y_ij = x_j (a row)   =>  dx_j = Σ_i dy_ij
/// y_ij = x_i (a column) => dx_i = Σ_j dy_ij
/// y_ij = x   (a scalar) => dx   = Σ_ij dy_ij
/// ```
impl<B: Backend> Rule<B> for BroadcastRule {
    fn name(&self) -> &'static str {
        "broadcast_to"
    }

    fn backward(&self, be: &B, dy: &B::Tensor, inputs: &mut InputGrads<'_, B>) -> Result<()> {
        let dx = match self.rule {
            Broadcast::Same => dy.clone(),
            Broadcast::Row => be.sum(dy, Some(Axis::Rows)),
            Broadcast::Col => be.sum(dy, Some(Axis::Cols)),
            Broadcast::Scalar => be.sum(dy, None),
        };
        inputs.add(0, dx)
    }
}
