//! Gathering rows by index: a minibatch from a data set that stays on the
//! device, or an embedding lookup.

use crate::ops::Rule;
use crate::tape::InputGrads;
use crate::{Backend, Result, Var};

impl<B: Backend> Var<B> {
    /// The rows `idx` of `self`: `y[i, :] = x[idx[i], :]`, so `[rows, c]`
    /// and `n` indices give `[n, c]`. An index may repeat.
    ///
    /// With the data set uploaded once (a `[N, features]` constant) and the
    /// batch's indices uploaded each step ([`Backend::upload_indices`]),
    /// a minibatch is made on the device: nothing is downloaded, and the
    /// indices are the only per-step upload. One-hot rows of labels come
    /// the same way, gathering from an identity matrix (or from a resident
    /// `[N, k]` table of one-hot labels).
    ///
    /// A GPU binds tensors up to a limit (`Wgpu::max_tensor_bytes` in
    /// `minimax-wgsl`: 128 MiB on lavapipe, below MNIST's 188 MB of `f32`
    /// training images); a larger data set is kept as several tensors, each
    /// a shuffled share of it, and each minibatch gathered from one.
    ///
    /// An index outside `0..rows` is an error naming it and the row count.
    pub fn gather_rows(&self, idx: &B::Indices) -> Result<Var<B>> {
        let y = self.backend().gather_rows(&self.value, idx)?; // [n, c]
        Ok(self.tape.record_on_own_tape(y, &[self], GatherRowsRule { idx: idx.clone() }))
    }
}

/// What the backward below needs, saved when the op is recorded.
pub(crate) struct GatherRowsRule<B: Backend> {
    pub(crate) idx: B::Indices,
}

/// The backward of [`Var::gather_rows`]. y[i, :] = x[idx[i], :], so
/// ∂y[i, j]/∂x[r, j] = 1 if idx[i] = r, else 0, and
///
/// ```text
/// dx[r, :] = Σ_{i : idx[i] = r} dy[i, :]
/// ```
///
/// zero for rows never gathered, the sum of several rows of dy for a row
/// gathered several times: a scatter-add, in a fixed order on every backend
/// (no float atomics), so it is deterministic.
impl<B: Backend> Rule<B> for GatherRowsRule<B> {
    fn name(&self) -> &'static str {
        "gather_rows"
    }

    fn backward(&self, be: &B, dy: &B::Tensor, inputs: &mut InputGrads<'_, B>) -> Result<()> {
        let GatherRowsRule { ref idx } = *self;
        let rows = inputs.shape(0).rows;
        inputs.add(0, be.scatter_add_rows(dy, idx, rows)?)
    }
}
