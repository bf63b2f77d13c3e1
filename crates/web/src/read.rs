//! Reading a frame's tensors back to the host.
//!
//! On the CPU a read is a copy, and blocking is fine. On WebGPU a read is
//! `mapAsync`, which completes only after the page's JavaScript returns to
//! the browser's event loop: a blocking read would wait forever, so the
//! page `await`s `Wgpu::download_many_async` (the `webgpu` branch; not yet on main) instead (see
//! `js.rs`). Either way the values arrive here as `f64`, in the order the
//! frame asked for them.

use minimax_autodiff::{Backend, Real};

/// The values of a frame's tensors, one `Vec` per tensor, in order.
pub type Values = Vec<Vec<f64>>;

/// Reads `tensors` one after another, blocking: for the CPU backend, and
/// for native tests of any backend.
pub fn read_blocking<B: Backend>(
    backend: &B,
    tensors: &[B::Tensor],
) -> minimax_autodiff::Result<Values> {
    tensors
        .iter()
        .map(|t| Ok(backend.download(t)?.into_iter().map(|v| v.to_f64()).collect()))
        .collect()
}

/// `f32` values as `f64`, for a read that returns `f32`.
pub fn widen(values: Vec<Vec<f32>>) -> Values {
    values.into_iter().map(|v| v.into_iter().map(f64::from).collect()).collect()
}

/// `Err(name)` for the first of `named` holding a NaN or an infinity.
pub fn finite<'a>(named: &[(&'a str, &[f64])]) -> Result<(), &'a str> {
    match named.iter().find(|(_, v)| v.iter().any(|x| !x.is_finite())) {
        Some((name, _)) => Err(name),
        None => Ok(()),
    }
}
