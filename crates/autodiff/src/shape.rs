//! Shapes: every tensor in minimax is 2-D and row-major, `[rows, cols]`.
//!
//! That is all an MLP needs: a batch of vectors is `[batch, features]`, a
//! weight matrix is `[fan_in, fan_out]`, a bias is `[1, fan_out]` and a scalar
//! (a loss) is `[1, 1]`.

use crate::{Error, Result};
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

    /// The most elements one tensor may hold: `u32::MAX`, about 4.3
    /// billion (16 GiB of `f32`). Every op that makes a tensor refuses a
    /// larger shape, with an error naming the op and the shape (see
    /// [`Shape::checked_numel`]), rather than overflow `rows * cols` or abort
    /// on an allocation: so a shape read from a crafted file, such as
    /// `[100000, 100000]`, is refused before anything is allocated, every
    /// element's index fits the `u32` the GPU kernels count in, and the CPU
    /// and the GPU accept the same shapes.
    pub const MAX_NUMEL: usize = u32::MAX as usize;

    /// Number of elements, `rows * cols`.
    ///
    /// # Panics
    ///
    /// If `rows * cols` overflows `usize`, rather than wrap around. No
    /// tensor has such a shape: tensors hold at most [`Shape::MAX_NUMEL`]
    /// elements, checked where they are made.
    pub const fn numel(&self) -> usize {
        match self.rows.checked_mul(self.cols) {
            Some(n) => n,
            None => panic!("Shape::numel: rows × cols overflows usize"),
        }
    }

    /// Number of elements, or, if there are more than
    /// [`Shape::MAX_NUMEL`], an error naming `op` and the shape. Called by
    /// every op that makes a tensor of a new shape.
    // On 32-bit targets (wasm32) `usize::MAX` is `MAX_NUMEL`, so the bound
    // is `checked_mul`'s and the comparison always holds there.
    #[allow(clippy::absurd_extreme_comparisons)]
    pub fn checked_numel(&self, op: &'static str) -> Result<usize> {
        match self.rows.checked_mul(self.cols) {
            Some(n) if n <= Self::MAX_NUMEL => Ok(n),
            _ => Err(Error::Invalid {
                op,
                why: format!(
                    "a tensor of shape {self} would hold {} elements; one tensor holds at most {}",
                    self.rows as u128 * self.cols as u128,
                    Self::MAX_NUMEL
                ),
            }),
        }
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
