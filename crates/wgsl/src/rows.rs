//! The row-wise primitives of `Backend` on the GPU: indices, gathering and
//! scattering rows (`shaders/gather.wgsl`), picking a column per row by
//! label and scattering it back (`shaders/pick.wgsl`), the log-sum-exp
//! of each row (`shaders/logsumexp.wgsl`), and the maximum of each row and
//! its adjoint (`shaders/max_rows.wgsl`). Each reads as the methods of
//! `backend.rs` do: check, take an output, fill in the parameters, dispatch.
//! The checks are on the host, against what [`WgpuIndices`] recorded at
//! upload: nothing here downloads anything.

use crate::backend::{grid, grid_1d, u};
use crate::kernels::K;
use crate::params::{FillParams, GatherParams, RowsParams};
use crate::tensor::{index_words, WgpuIndices};
use crate::{Wgpu, WgpuTensor};
use minimax_autodiff::backend::{
    gather_rows_shape, index_max, logsumexp_rows_shape, max_rows_backward_shape, max_rows_shape,
    pick_cols_shape, scatter_add_rows_shape, scatter_cols_shape,
};
use minimax_autodiff::{Error, Result};
use std::sync::Arc;

/// Uploads `idx` with the chains `scatter_add_rows` walks (see
/// [`index_words`]): one upload of `3 · n` words.
pub(crate) fn upload_indices(gpu: &Wgpu, idx: &[u32]) -> Result<WgpuIndices> {
    let (words, longest_run) = index_words(idx);
    let buffer = Arc::new(gpu.ctx.upload_words(&words)?);
    Ok(WgpuIndices { len: idx.len(), max: index_max(idx), longest_run, buffer })
}

/// `out[i, :] = x[idx[i], :]`: one invocation per element of `out`.
pub(crate) fn gather_rows(gpu: &Wgpu, x: &WgpuTensor, idx: &WgpuIndices) -> Result<WgpuTensor> {
    let shape = gather_rows_shape(x.shape, idx)?; // [n, cols]
    let out = gpu.ctx.output("gather_rows", shape);
    let params = GatherParams { n: u(idx.len), cols: u(shape.cols) };
    let buffers = [&*x.buffer, &idx.buffer, &out];
    gpu.ctx.dispatch(K::GatherRows, &params, &buffers, grid_1d(shape.numel()));
    Ok(WgpuTensor::new(shape, out))
}

/// The longest run of one repeated index [`scatter_add_rows`] accepts.
const MAX_CHAIN: usize = 65_535;

/// `dx = 0; dx[idx[i], :] += dy[i, :]`: a fill, then one invocation per
/// element of `dy`, those at the first position of each index adding up
/// its chain (see `shaders/gather.wgsl`).
pub(crate) fn scatter_add_rows(
    gpu: &Wgpu,
    dy: &WgpuTensor,
    idx: &WgpuIndices,
    rows: usize,
) -> Result<WgpuTensor> {
    let shape = scatter_add_rows_shape(dy.shape, idx, rows)?; // [rows, cols]
                                                              // A chain is one loop in the shader, and llvmpipe (behind both of
                                                              // wgpu's Linux backends) silently stops a shader's loops after 65 535
                                                              // iterations in all: refuse a longer chain everywhere rather than
                                                              // return a wrong sum on some drivers (an index repeated > 65 535 times).
    if idx.longest_run > MAX_CHAIN {
        return Err(Error::Invalid {
            op: "scatter_add_rows",
            why: format!(
                "an index repeated {} times needs as many loop iterations in one shader \
                 invocation; at most {MAX_CHAIN} are supported",
                idx.longest_run
            ),
        });
    }
    let dx = gpu.ctx.output("scatter_add_rows", shape);
    let zero = FillParams { n: u(shape.numel()), value: 0.0 };
    gpu.ctx.dispatch(K::Fill, &zero, &[&dx], grid_1d(shape.numel()));
    let params = GatherParams { n: u(idx.len), cols: u(shape.cols) };
    let buffers = [&*dy.buffer, &idx.buffer, &dx];
    gpu.ctx.dispatch(K::ScatterAddRows, &params, &buffers, grid_1d(dy.shape.numel()));
    Ok(WgpuTensor::new(shape, dx))
}

/// `out[i] = x[i, labels[i]]`: one invocation per row.
pub(crate) fn pick_cols(gpu: &Wgpu, x: &WgpuTensor, labels: &WgpuIndices) -> Result<WgpuTensor> {
    let shape = pick_cols_shape(x.shape, labels)?; // [rows, 1]
    let out = gpu.ctx.output("pick_cols", shape);
    let params = RowsParams { rows: u(x.shape.rows), cols: u(x.shape.cols) };
    let buffers = [&*x.buffer, &labels.buffer, &out];
    gpu.ctx.dispatch(K::PickCols, &params, &buffers, grid_1d(shape.rows));
    Ok(WgpuTensor::new(shape, out))
}

/// `dx[i, j] = dy[i]` where `j = labels[i]`, else 0: one invocation per
/// element of `dx`.
pub(crate) fn scatter_cols(
    gpu: &Wgpu,
    dy: &WgpuTensor,
    labels: &WgpuIndices,
    cols: usize,
) -> Result<WgpuTensor> {
    let shape = scatter_cols_shape(dy.shape, labels, cols)?; // [rows, cols]
    let dx = gpu.ctx.output("scatter_cols", shape);
    let params = RowsParams { rows: u(shape.rows), cols: u(cols) };
    let buffers = [&*dy.buffer, &labels.buffer, &dx];
    gpu.ctx.dispatch(K::ScatterCols, &params, &buffers, grid_1d(shape.numel()));
    Ok(WgpuTensor::new(shape, dx))
}

/// The log-sum-exp of each row: one workgroup per row. A row of no
/// columns is `ln 0 = -∞`, filled in here.
pub(crate) fn logsumexp_rows(gpu: &Wgpu, x: &WgpuTensor) -> WgpuTensor {
    let shape = logsumexp_rows_shape(x.shape); // [rows, 1]
    let out = gpu.ctx.output("logsumexp_rows", shape);
    if x.shape.cols == 0 {
        let params = FillParams { n: u(shape.rows), value: f32::NEG_INFINITY };
        gpu.ctx.dispatch(K::Fill, &params, &[&out], grid_1d(shape.rows));
    } else {
        let params = RowsParams { rows: u(x.shape.rows), cols: u(x.shape.cols) };
        gpu.ctx.dispatch(K::LogSumExpRows, &params, &[&x.buffer, &out], grid(shape.rows));
    }
    WgpuTensor::new(shape, out)
}

/// The maximum of each row: one workgroup per row. A row of no columns is
/// `-∞`, the maximum of nothing, filled in here.
pub(crate) fn max_rows(gpu: &Wgpu, x: &WgpuTensor) -> WgpuTensor {
    let shape = max_rows_shape(x.shape); // [rows, 1]
    let out = gpu.ctx.output("max_rows", shape);
    if x.shape.cols == 0 {
        let params = FillParams { n: u(shape.rows), value: f32::NEG_INFINITY };
        gpu.ctx.dispatch(K::Fill, &params, &[&out], grid_1d(shape.rows));
    } else {
        let params = RowsParams { rows: u(x.shape.rows), cols: u(x.shape.cols) };
        gpu.ctx.dispatch(K::MaxRows, &params, &[&x.buffer, &out], grid(shape.rows));
    }
    WgpuTensor::new(shape, out)
}

/// `dx[i, j] = dy[i]` at the argmax `j` of row `i` of `x`, else 0: one
/// workgroup per row, which finds the argmax again and writes the row.
pub(crate) fn max_rows_backward(gpu: &Wgpu, x: &WgpuTensor, dy: &WgpuTensor) -> Result<WgpuTensor> {
    let shape = max_rows_backward_shape(x.shape, dy.shape)?; // [rows, cols]
    let dx = gpu.ctx.output("max_rows_backward", shape);
    let params = RowsParams { rows: u(shape.rows), cols: u(shape.cols) };
    let buffers = [&*x.buffer, &dx, &*dy.buffer];
    // No columns: dx is empty, and nothing is dispatched.
    let groups = if shape.cols == 0 { 0 } else { shape.rows };
    gpu.ctx.dispatch(K::MaxRowsBackward, &params, &buffers, grid(groups));
    Ok(WgpuTensor::new(shape, dx))
}
