//! Sums and means, over everything or one axis.

use crate::{Axis, Backend, Var};

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
        // y = Σ x: every x that went into a sum gets that sum's gradient,
        // dx_ij = dy (broadcast back to x's shape).
        let shape = self.shape();
        self.tape.record(y, &[self], Box::new(move |be, g| Ok(vec![be.broadcast(g, shape)?])))
    }

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
