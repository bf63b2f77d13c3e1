//! A GPU tensor: a shape and a shared handle on a pooled buffer; and a GPU
//! list of indices.

use crate::pool::GpuBuffer;
use minimax_autodiff::{IndexInfo, Shape, TensorShape};
use std::collections::HashMap;
use std::sync::Arc;

/// A tensor resident in GPU memory, the `Tensor` of [`crate::Wgpu`].
///
/// Cloning is cheap and shares the buffer. The buffer goes back to the
/// backend's pool when the last handle drops. Reading the values needs
/// [`minimax_autodiff::Backend::download`].
#[derive(Clone)]
pub struct WgpuTensor {
    pub(crate) shape: Shape,
    pub(crate) buffer: Arc<GpuBuffer>,
}

impl WgpuTensor {
    pub(crate) fn new(shape: Shape, buffer: GpuBuffer) -> Self {
        WgpuTensor { shape, buffer: Arc::new(buffer) }
    }

    /// The number of bytes of its values (the buffer may be larger; or
    /// smaller, when the op that made the tensor found it too large).
    pub(crate) fn bytes(&self) -> u64 {
        (self.shape.numel() as u64).saturating_mul(4)
    }

    /// The number of elements, as the `u32` the kernels count in.
    pub(crate) fn n(&self) -> u32 {
        self.shape.numel() as u32
    }
}

impl TensorShape for WgpuTensor {
    fn shape(&self) -> Shape {
        self.shape
    }
}

impl std::fmt::Debug for WgpuTensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WgpuTensor {} in a {:?}", self.shape, self.buffer)
    }
}

/// A list of indices resident in GPU memory, the `Indices` of
/// [`crate::Wgpu`]: the rows of a minibatch, or class labels.
///
/// Besides the indices themselves the buffer holds what the host worked out
/// when it uploaded them, for `shaders/gather.wgsl`'s deterministic
/// scatter-add: for each position, the next position holding the same index
/// and whether it is the first (see that file). The handle keeps the length
/// and the largest index on the host ([`IndexInfo`]), so every op checks
/// its indices without a download.
#[derive(Clone)]
pub struct WgpuIndices {
    pub(crate) len: usize,
    pub(crate) max: Option<(usize, u32)>,
    /// The most positions any one index occupies: the longest chain a
    /// scatter-add invocation walks.
    pub(crate) longest_run: usize,
    /// `[idx (len) | next (len) | head (len)]`, `u32`s.
    pub(crate) buffer: Arc<GpuBuffer>,
}

/// The end of a chain in `next` (`NONE` in `shaders/gather.wgsl`).
pub(crate) const NONE: u32 = u32::MAX;

/// The words of a [`WgpuIndices`] buffer for `idx`: the indices, then for
/// each position the next position with the same index (or [`NONE`]), then
/// 1 where a position is the first with its index, else 0. Also returns
/// the longest chain.
pub(crate) fn index_words(idx: &[u32]) -> (Vec<u32>, usize) {
    let n = idx.len();
    let mut words = Vec::with_capacity(3 * n);
    words.extend_from_slice(idx);
    words.resize(3 * n, NONE);
    // last[index] = (last position seen with it, how many so far)
    let mut last: HashMap<u32, (usize, usize)> = HashMap::with_capacity(n);
    let mut longest_run = 0;
    for (i, &index) in idx.iter().enumerate() {
        let run = match last.get(&index) {
            Some(&(prev, run)) => {
                words[n + prev] = i as u32; // next[prev] = i
                words[2 * n + i] = 0; // not the first
                run + 1
            }
            None => {
                words[2 * n + i] = 1; // the first
                1
            }
        };
        last.insert(index, (i, run));
        longest_run = longest_run.max(run);
    }
    (words, longest_run)
}

impl IndexInfo for WgpuIndices {
    fn len(&self) -> usize {
        self.len
    }

    fn max(&self) -> Option<(usize, u32)> {
        self.max
    }
}

impl std::fmt::Debug for WgpuIndices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WgpuIndices of {} in a {:?}", self.len, self.buffer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_words_chain_the_positions_of_each_index() {
        // idx = [2, 0, 2, 2, 1]: index 2 at positions 0 → 2 → 3, the others alone.
        let (words, longest) = index_words(&[2, 0, 2, 2, 1]);
        assert_eq!(&words[..5], &[2, 0, 2, 2, 1]);
        assert_eq!(&words[5..10], &[2, NONE, 3, NONE, NONE]);
        assert_eq!(&words[10..], &[1, 1, 0, 0, 1]);
        assert_eq!(longest, 3);
        assert_eq!(index_words(&[]), (vec![], 0));
    }
}
