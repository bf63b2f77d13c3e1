//! Shapes: every tensor in minimax is 2-D and row-major, `[rows, cols]`.
//!
//! That is all an MLP needs: a batch of vectors is `[batch, features]`, a
//! weight matrix is `[fan_in, fan_out]`, a bias is `[1, fan_out]` and a scalar
//! (a loss) is `[1, 1]`.

use std::fmt;

/// The shape of a 2-D row-major tensor, `[rows, cols]`.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct Shape {
    /// Number of rows (the batch dimension of activations).
    pub rows: usize,
    /// Number of columns (the feature dimension).
    pub cols: usize,
}

impl Shape {
    /// A `[rows, cols]` shape.
    pub const fn new(rows: usize, cols: usize) -> Self {
        Shape { rows, cols }
    }

    /// The shape of a scalar, `[1, 1]`.
    pub const fn scalar() -> Self {
        Shape { rows: 1, cols: 1 }
    }

    /// Number of elements, `rows * cols`.
    pub const fn numel(&self) -> usize {
        self.rows * self.cols
    }

    /// The shape with rows and columns swapped.
    pub const fn t(&self) -> Self {
        Shape { rows: self.cols, cols: self.rows }
    }

    /// Whether this is `[1, 1]`.
    pub const fn is_scalar(&self) -> bool {
        self.rows == 1 && self.cols == 1
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}]", self.rows, self.cols)
    }
}
