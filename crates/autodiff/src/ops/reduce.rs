//! Sums and means, over everything or one axis.

use crate::ops::Rule;
use crate::tape::InputGrads;
use crate::{Axis, Backend, Result, Var};

impl<B: Backend> Var<B> {
    /// Sum of every element: `[r, c] -> [1, 1]`.
    pub fn sum(&self) -> Var<B> {
        self.reduce(None)
    }

    /// Sum over one axis: `Axis::Rows` gives `[1, c]`, `Axis::Cols` `[r, 1]`.
    pub fn sum_axis(&self, axis: Axis) -> Var<B> {
        self.reduce(Some(axis))
    }

    fn reduce(&self, axis: Option<Axis>) -> Var<B> {
        let y = self.backend().sum(&self.value, axis);
        self.tape.record_on_own_tape(y, &[self], SumRule)
    }
}

/// The backward below, which needs nothing saved.
pub(crate) struct SumRule;

/// The backward of [`Var::sum`] and [`Var::sum_axis`]: y = Σ x, so every x
/// that went into a sum gets that sum's gradient, dx_ij = dy (broadcast
/// back to x's shape).
impl<B: Backend> Rule<B> for SumRule {
    fn name(&self) -> &'static str {
        "sum"
    }

    fn backward(&self, be: &B, dy: &B::Tensor, inputs: &mut InputGrads<'_, B>) -> Result<()> {
        let shape = inputs.shape(0);
        inputs.add(0, be.broadcast(dy, shape)?)
    }
}

impl<B: Backend> Var<B> {
    /// Mean of every element: `sum / (r · c)`. Composed, no backward of its own.
    pub fn mean(&self) -> Var<B> {
        self.sum().mul_scalar(1.0 / self.shape().numel() as f64)
    }

    /// Mean over one axis (composed from [`Var::sum_axis`]).
    pub fn mean_axis(&self, axis: Axis) -> Var<B> {
        let n = match axis {
            Axis::Rows => self.shape().rows,
            Axis::Cols => self.shape().cols,
        };
        self.sum_axis(axis).mul_scalar(1.0 / n as f64)
    }
}
