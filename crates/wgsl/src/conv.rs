//! The convolution primitives of `Backend` on the GPU: `conv2d`, its input
//! gradient (also the forward of a transposed convolution) and its weight
//! gradient, each with either kernel of [`ConvKernel`]:
//!
//! - `shaders/conv2d_naive.wgsl`: one invocation per output element, the
//!   sums written plainly; the GPU reference.
//! - `shaders/conv2d_gemm.wgsl` (what [`Backend`](minimax_autodiff::Backend)
//!   runs): each of the three as a tiled product `C = A · B` whose im2col
//!   matrix is computed tile by tile in workgroup memory, never stored.
//!
//! Each reads as the methods of `backend.rs` do: check the shapes (the
//! shared rules, so the errors are the CPU's), take an output, fill in the
//! parameters, dispatch. Nothing here reads anything back.

use crate::backend::{grid, grid_1d, u};
use crate::codes::conv_code;
use crate::kernels::{CONV_PART, CONV_TILE, K, MAX_GROUPS_PER_DIM};
use crate::params::{ConvParams, SumPartsParams};
use crate::{ConvKernel, Wgpu, WgpuTensor};
use minimax_autodiff::backend::{
    conv2d_backward_input_shape, conv2d_backward_weight_shape, conv2d_shape,
};
use minimax_autodiff::{ConvGeometry, Error, Result, Shape};

/// Which of the three sums a kernel computes (`conv_code` is its code in
/// `conv2d_gemm.wgsl`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum ConvOp {
    /// `y = conv2d(x, w)`.
    Forward,
    /// `dx` from `dy` and `w`.
    BackwardInput,
    /// `dw` from `x` and `dy`.
    BackwardWeight,
}

impl ConvOp {
    /// The `Backend` method, for errors.
    fn name(self) -> &'static str {
        match self {
            ConvOp::Forward => "conv2d",
            ConvOp::BackwardInput => "conv2d_backward_input",
            ConvOp::BackwardWeight => "conv2d_backward_weight",
        }
    }

    /// Its entry point of `conv2d_naive.wgsl`.
    fn naive(self) -> K {
        match self {
            ConvOp::Forward => K::ConvForwardNaive,
            ConvOp::BackwardInput => K::ConvBackwardInputNaive,
            ConvOp::BackwardWeight => K::ConvBackwardWeightNaive,
        }
    }

    /// The product it is, `C [m, n] = A [m, depth] · B [depth, n]`, for a
    /// batch of `batch` images (the table in `conv2d_gemm.wgsl`'s header):
    /// also the naive kernels' sum, `depth` terms per output element.
    fn product(self, g: &ConvGeometry, batch: usize) -> (usize, usize, usize) {
        let (k, positions) = (g.kernel, g.out_height() * g.out_width());
        match self {
            // y: C_out × (n, oy, ox), summing over the taps (i, ky, kx).
            ConvOp::Forward => (g.out_channels, batch * positions, g.taps()),
            // dx: C_in × (n, y, x), summing over (o, ky, kx).
            ConvOp::BackwardInput => {
                (g.in_channels, batch * g.height * g.width, g.out_channels * k * k)
            }
            // dw: C_out × (i, ky, kx), summing over (n, oy, ox).
            ConvOp::BackwardWeight => (g.out_channels, g.taps(), batch * positions),
        }
    }
}

/// `y = conv2d(x, w)`: `x` `[batch, C_in·H·W]`, `w` `[C_out, C_in·k·k]`.
pub(crate) fn conv2d(
    gpu: &Wgpu,
    kernel: ConvKernel,
    x: &WgpuTensor,
    w: &WgpuTensor,
    g: &ConvGeometry,
) -> Result<WgpuTensor> {
    let shape = conv2d_shape(x.shape, w.shape, g)?; // [batch, C_out·OH·OW]
    run(gpu, kernel, ConvOp::Forward, x, w, g, x.shape.rows, shape)
}

/// `dx` from `dy` `[batch, C_out·OH·OW]` and `w`.
pub(crate) fn conv2d_backward_input(
    gpu: &Wgpu,
    kernel: ConvKernel,
    dy: &WgpuTensor,
    w: &WgpuTensor,
    g: &ConvGeometry,
) -> Result<WgpuTensor> {
    let shape = conv2d_backward_input_shape(dy.shape, w.shape, g)?; // [batch, C_in·H·W]
    run(gpu, kernel, ConvOp::BackwardInput, dy, w, g, dy.shape.rows, shape)
}

/// `dw` from `x` `[batch, C_in·H·W]` and `dy` `[batch, C_out·OH·OW]`.
pub(crate) fn conv2d_backward_weight(
    gpu: &Wgpu,
    kernel: ConvKernel,
    x: &WgpuTensor,
    dy: &WgpuTensor,
    g: &ConvGeometry,
) -> Result<WgpuTensor> {
    let shape = conv2d_backward_weight_shape(x.shape, dy.shape, g)?; // [C_out, C_in·k·k]
    run(gpu, kernel, ConvOp::BackwardWeight, x, dy, g, x.shape.rows, shape)
}

/// Records `op` into a new tensor of `shape`, with `a` and `b` in bindings
/// 1 and 2 (see the shaders' headers).
#[allow(clippy::too_many_arguments)]
fn run(
    gpu: &Wgpu,
    kernel: ConvKernel,
    op: ConvOp,
    a: &WgpuTensor,
    b: &WgpuTensor,
    g: &ConvGeometry,
    batch: usize,
    shape: Shape,
) -> Result<WgpuTensor> {
    let out = gpu.ctx.try_output(op.name(), shape)?;
    // Every count below is at most the elements of `out`, `a` or `b`: a u32.
    let (m, n, depth) = op.product(g, batch);
    let params = ConvParams {
        batch: u(batch),
        in_channels: u(g.in_channels),
        out_channels: u(g.out_channels),
        height: u(g.height),
        width: u(g.width),
        kernel: u(g.kernel),
        stride: u(g.stride),
        padding: u(g.padding),
        out_height: u(g.out_height()),
        out_width: u(g.out_width()),
        k_begin: 0,
        k_end: 0,
        m: u(m),
        n: u(n),
        depth: u(depth),
        part: CONV_PART,
        op: conv_code(op),
    };
    match kernel {
        ConvKernel::Naive => {
            // One dispatch per CONV_PART terms of the sum, each adding to
            // what the one before left in out (llvmpipe's loop limit; see
            // `matmul` in `backend.rs`). Once at least, to write zeros
            // when the sum is empty (a weight gradient over no images).
            let mut k_begin = 0;
            loop {
                let k_end = (k_begin + CONV_PART).min(u(depth));
                let params = ConvParams { k_begin, k_end, ..params };
                gpu.ctx.dispatch(
                    op.naive(),
                    &params,
                    &[&a.buffer, &b.buffer, &out],
                    grid_1d(shape.numel()),
                );
                k_begin = k_end;
                if k_begin >= u(depth) {
                    break;
                }
            }
        }
        ConvKernel::Gemm => {
            // One workgroup per 64 × 64 block of C and part of the sum.
            let tiles = m.div_ceil(CONV_TILE as usize) * n.div_ceil(CONV_TILE as usize);
            let parts = depth.div_ceil(CONV_PART as usize).max(1);
            if parts > MAX_GROUPS_PER_DIM as usize {
                return Err(Error::Invalid {
                    op: op.name(),
                    why: format!(
                        "a sum over {depth} values for {g} needs {parts} parts of {CONV_PART}; \
                         a dispatch allows at most {MAX_GROUPS_PER_DIM}"
                    ),
                });
            }
            let [gx, gy, _] = grid(tiles);
            if parts == 1 {
                gpu.ctx.dispatch(K::ConvGemm, &params, &[&a.buffer, &b.buffer, &out], [gx, gy, 1]);
            } else {
                // Each part's sum into its own slice, then the slices added
                // in order: the same bits whatever the grid.
                let slices = gpu.ctx.try_output(op.name(), Shape::new(parts, shape.numel()))?;
                let buffers = [&*a.buffer, &*b.buffer, &slices];
                gpu.ctx.dispatch(K::ConvGemm, &params, &buffers, [gx, gy, u(parts)]);
                let sum = SumPartsParams { n: u(shape.numel()), count: u(parts) };
                gpu.ctx.dispatch(K::SumParts, &sum, &[&slices, &out], grid_1d(shape.numel()));
            }
        }
    }
    Ok(WgpuTensor::new(shape, out))
}
