//! A GPU tensor: a shape and a shared handle on a pooled buffer.

use crate::pool::GpuBuffer;
use minimax_autodiff::{Shape, TensorShape};
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
