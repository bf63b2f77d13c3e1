//! The kernels' parameters: each struct mirrors the `struct Params` of its
//! shader, field by field (u32, i32 and f32 only, so the layouts agree
//! without padding rules), and is the uniform at binding 0. The kernel
//! table in `kernels.rs` names each kernel's struct: wgpu checks that it is
//! as large as the shader's when it builds the pipeline, and
//! `Context::dispatch` that a dispatch passes that struct.

use crate::codes::{unary_code, ACT_NONE, FUSED_ACTIVATIONS};
use bytemuck::{Pod, Zeroable};
use minimax_autodiff::Unary;

/// `fill.wgsl`.
#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
pub(crate) struct FillParams {
    pub n: u32,
    pub value: f32,
}

/// `random.wgsl`.
#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
pub(crate) struct RandomParams {
    pub n: u32,
    pub dist: u32,
    pub key: u32,
    pub threshold: u32,
    pub a: f32,
    pub b: f32,
}

/// `unary.wgsl`.
#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
pub(crate) struct UnaryParams {
    pub n: u32,
    pub op: u32,
    pub k: i32,
    pub _pad: u32,
    pub a: f32,
    pub b: f32,
}

/// The parameters of `op` over `n` elements for `unary.wgsl`: its code
/// (see `codes.rs`), and its exponent or constants.
pub(crate) fn unary_params(op: Unary, n: u32) -> UnaryParams {
    let (k, a, b) = match op {
        Unary::Powi(k) => (k, 0.0, 0.0),
        Unary::AddScalar(c) | Unary::MulScalar(c) => (0, c, 0.0),
        Unary::LeakyRelu(slope) => (0, slope, 0.0),
        Unary::Elu(alpha) => (0, alpha, 0.0),
        Unary::Clamp(lo, hi) => (0, lo, hi),
        // No wildcard: a new variant must say what it passes.
        Unary::Neg
        | Unary::Exp
        | Unary::Log
        | Unary::Sqrt
        | Unary::Tanh
        | Unary::Sigmoid
        | Unary::Relu
        | Unary::Softplus => (0, 0.0, 0.0),
    };
    UnaryParams { n, op: unary_code(op), k, _pad: 0, a: a as f32, b: b as f32 }
}

/// `binary.wgsl`.
#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
pub(crate) struct BinaryParams {
    pub rows: u32,
    pub cols: u32,
    pub op: u32,
    pub broadcast: u32,
}

/// `broadcast.wgsl`.
#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
pub(crate) struct BroadcastParams {
    pub rows: u32,
    pub cols: u32,
    pub broadcast: u32,
}

/// `transpose.wgsl`.
#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
pub(crate) struct TransposeParams {
    pub rows: u32,
    pub cols: u32,
}

/// `copy_cols.wgsl`.
#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
pub(crate) struct CopyColsParams {
    pub rows: u32,
    pub len: u32,
    pub src_cols: u32,
    pub src_start: u32,
    pub dst_cols: u32,
    pub dst_start: u32,
}

/// `sum.wgsl`.
#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
pub(crate) struct SumParams {
    pub n: u32,
    pub rows: u32,
    pub cols: u32,
}

/// `matmul_naive.wgsl` and `matmul_tiled.wgsl`.
#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
pub(crate) struct MatmulParams {
    pub m: u32,
    pub k: u32,
    pub n: u32,
    pub trans_a: u32,
    pub trans_b: u32,
    pub k_begin: u32,
    pub k_end: u32,
}

/// `conv2d_naive.wgsl` and `conv2d_gemm.wgsl`: the geometry (see
/// `minimax_autodiff::ConvGeometry`), then each kernel's share of its sum.
#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
pub(crate) struct ConvParams {
    pub batch: u32,
    pub in_channels: u32,
    pub out_channels: u32,
    pub height: u32,
    pub width: u32,
    pub kernel: u32,
    pub stride: u32,
    pub padding: u32,
    pub out_height: u32,
    pub out_width: u32,
    /// The naive kernels: this dispatch sums over `[k_begin, k_end)`.
    pub k_begin: u32,
    /// See `k_begin`.
    pub k_end: u32,
    /// The implicit GEMM: the product `C [m, n]`, summing over `depth`
    /// values, `part` of them per layer of the grid, for the op `op`
    /// (`conv_code`).
    pub m: u32,
    /// See `m`.
    pub n: u32,
    /// See `m`.
    pub depth: u32,
    /// See `m`.
    pub part: u32,
    /// See `m`.
    pub op: u32,
}

/// `sum_parts.wgsl`.
#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
pub(crate) struct SumPartsParams {
    pub n: u32,
    pub count: u32,
}

/// `sgd.wgsl`.
#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
pub(crate) struct SgdParams {
    pub n: u32,
    pub lr: f32,
    pub momentum: f32,
}

/// `adam.wgsl`.
#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
pub(crate) struct AdamParams {
    pub n: u32,
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub bc1: f32,
    pub bc2: f32,
}

/// `gather.wgsl`.
#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
pub(crate) struct GatherParams {
    pub n: u32,
    pub cols: u32,
}

/// `pick.wgsl`, `logsumexp.wgsl` and `max_rows.wgsl`.
#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
pub(crate) struct RowsParams {
    pub rows: u32,
    pub cols: u32,
}

/// `matmul_small.wgsl` and `matmul_large.wgsl`: the product's shape, and
/// the epilogue.
#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
pub(crate) struct MatmulFusedParams {
    pub m: u32,
    pub k: u32,
    pub n: u32,
    pub trans_a: u32,
    pub trans_b: u32,
    pub bias: u32,
    pub act: u32,
    pub act_a: f32,
}

/// One product of `matmul_pair.wgsl`.
#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
pub(crate) struct PairProduct {
    pub m: u32,
    pub k: u32,
    pub n: u32,
    pub trans_a: u32,
    pub trans_b: u32,
    pub tiles_n: u32,
    pub first: u32,
    pub _pad: u32,
}

/// `matmul_pair.wgsl`.
#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
pub(crate) struct MatmulPairParams {
    pub p: [PairProduct; 2],
}

/// The `activation.wgsl` code and parameter of a layer's activation, or
/// `None` for a map the fused kernels do not have (the caller falls back on
/// the plain ops).
pub(crate) fn fused_act(act: Option<Unary>) -> Option<(u32, f32)> {
    let Some(op) = act else { return Some((ACT_NONE, 0.0)) };
    let code = unary_code(op);
    let fused = FUSED_ACTIVATIONS.iter().any(|&f| unary_code(f) == code);
    fused.then(|| (code, unary_params(op, 0).a)) // a: the slope or α
}

/// `bias_act.wgsl`.
#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
pub(crate) struct BiasActParams {
    pub rows: u32,
    pub cols: u32,
    pub bias: u32,
    pub act: u32,
    pub act_a: f32,
}

/// `bce.wgsl`.
#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
pub(crate) struct BceParams {
    pub rows: u32,
    pub cols: u32,
    pub broadcast: u32,
    pub inv_n: f32,
}

/// `adam_multi.wgsl`.
#[repr(C)]
#[derive(Copy, Clone, Pod, Zeroable)]
pub(crate) struct AdamMultiParams {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub bc1: f32,
    pub bc2: f32,
    pub count: u32,
    pub _pad: u32,
    /// Elements of each tensor (8 places: two vec4s in the shader).
    pub n: [u32; 8],
    /// First workgroup of each tensor; `start[count]` is the grid's size.
    pub start: [u32; 8],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fused_activations_are_those_of_the_table() {
        for op in [Unary::Tanh, Unary::Sigmoid, Unary::Relu] {
            assert_eq!(fused_act(Some(op)), Some((unary_code(op), 0.0)), "{op:?}");
        }
        for op in [Unary::LeakyRelu(0.2), Unary::Elu(1.5)] {
            let a = unary_params(op, 0).a;
            assert_eq!(fused_act(Some(op)), Some((unary_code(op), a)), "{op:?}");
        }
        assert_eq!(fused_act(None), Some((ACT_NONE, 0.0)));
        assert_eq!(fused_act(Some(Unary::Log)), None);
        assert_eq!(fused_act(Some(Unary::Clamp(0.0, 1.0))), None);
    }
}
