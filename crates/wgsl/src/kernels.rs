//! The WGSL kernels: their sources, their bindings, their parameters, and
//! the compute pipelines built from them (once, on first use).
//!
//! Every shader follows one convention: binding 0 is a uniform holding the
//! kernel's `Params`, the other bindings are storage buffers, listed in each
//! `.wgsl` file's header. [`Spec`] records the same list on the Rust side,
//! from which the bind-group layout is built.

use bytemuck::{Pod, Zeroable};
use minimax_autodiff::backend::Broadcast;
use minimax_autodiff::{Binary, Unary};
use std::sync::OnceLock;

/// Invocations per workgroup of every 1-D kernel: `WORKGROUP_SIZE` in
/// `fill.wgsl`, `unary.wgsl`, `sum.wgsl`, … (a test checks they agree).
pub(crate) const WORKGROUP_SIZE: u32 = 256;
/// Workgroups a dispatch may have along one dimension, on every adapter.
pub(crate) const MAX_GROUPS_PER_DIM: u32 = 65_535;
/// `matmul_naive.wgsl`: a 16 × 16 workgroup, one invocation per element of C.
pub(crate) const NAIVE_TILE: u32 = 16;
/// `matmul_tiled.wgsl`: each workgroup computes a TILE_M × TILE_N block of C.
pub(crate) const TILE_M: u32 = 64;
/// See [`TILE_M`].
pub(crate) const TILE_N: u32 = 64;
/// `matmul_tiled.wgsl`: the depth of one step along k.
pub(crate) const TILE_K: u32 = 16;
/// `sum.wgsl`'s `sum_rows` and `sum_cols`: the most numbers one workgroup
/// adds up, 4096 per invocation. A longer column or row is cut into parts,
/// summed by as many workgroups, whose partial sums a second dispatch adds
/// up (llvmpipe stops a shader's loops after 65 535 iterations in all).
pub(crate) const SUM_PER_WORKGROUP: usize = 4096 * WORKGROUP_SIZE as usize;
/// Both matmul kernels: the most values of the inner dimension k one
/// dispatch sums over; a longer k takes several dispatches (see `matmul` in
/// `backend.rs`). A multiple of [`TILE_K`].
pub(crate) const K_PER_DISPATCH: u32 = 1024;
const _: () = assert!(K_PER_DISPATCH.is_multiple_of(TILE_K));
/// `matmul_small.wgsl`: each workgroup computes a SMALL_TILE × SMALL_TILE
/// block of C, stepping SMALL_TILE_K along k.
pub(crate) const SMALL_TILE: u32 = 32;
/// See [`SMALL_TILE`].
pub(crate) const SMALL_TILE_K: u32 = 16;
/// `matmul_large.wgsl`: each workgroup computes a LARGE_TILE × LARGE_TILE
/// block of C, stepping LARGE_TILE_K along k.
pub(crate) const LARGE_TILE: u32 = 128;
/// See [`LARGE_TILE`].
pub(crate) const LARGE_TILE_K: u32 = 8;
/// `bias_act.wgsl`: columns per workgroup, and invocations per column.
pub(crate) const BIAS_ACT_COLS: u32 = 32;
/// See [`BIAS_ACT_COLS`].
pub(crate) const BIAS_ACT_ROW_LANES: u32 = 8;
/// `adam_multi.wgsl`: tensors per dispatch.
pub(crate) const ADAM_SLOTS: usize = 6;

/// The shader files, compiled into the binary.
mod source {
    pub const FILL: &str = include_str!("../../../shaders/fill.wgsl");
    pub const RANDOM: &str = include_str!("../../../shaders/random.wgsl");
    pub const UNARY: &str = include_str!("../../../shaders/unary.wgsl");
    pub const BINARY: &str = include_str!("../../../shaders/binary.wgsl");
    pub const BROADCAST: &str = include_str!("../../../shaders/broadcast.wgsl");
    pub const TRANSPOSE: &str = include_str!("../../../shaders/transpose.wgsl");
    pub const COPY_COLS: &str = include_str!("../../../shaders/copy_cols.wgsl");
    pub const SUM: &str = include_str!("../../../shaders/sum.wgsl");
    pub const MATMUL_NAIVE: &str = include_str!("../../../shaders/matmul_naive.wgsl");
    pub const MATMUL_TILED: &str = include_str!("../../../shaders/matmul_tiled.wgsl");
    pub const SGD: &str = include_str!("../../../shaders/sgd.wgsl");
    pub const ADAM: &str = include_str!("../../../shaders/adam.wgsl");
    pub const GATHER: &str = include_str!("../../../shaders/gather.wgsl");
    pub const PICK: &str = include_str!("../../../shaders/pick.wgsl");
    pub const LOGSUMEXP: &str = include_str!("../../../shaders/logsumexp.wgsl");
    /// Not a kernel: appended to the fused kernels' sources below.
    #[cfg(test)]
    pub const ACTIVATION: &str = include_str!("../../../shaders/activation.wgsl");
    pub const MATMUL_SMALL: &str = concat!(
        include_str!("../../../shaders/matmul_small.wgsl"),
        include_str!("../../../shaders/activation.wgsl")
    );
    pub const MATMUL_LARGE: &str = concat!(
        include_str!("../../../shaders/matmul_large.wgsl"),
        include_str!("../../../shaders/activation.wgsl")
    );
    pub const BIAS_ACT: &str = concat!(
        include_str!("../../../shaders/bias_act.wgsl"),
        include_str!("../../../shaders/activation.wgsl")
    );
    pub const MATMUL_PAIR: &str = include_str!("../../../shaders/matmul_pair.wgsl");
    pub const BCE: &str = include_str!("../../../shaders/bce.wgsl");
    pub const ADAM_MULTI: &str = include_str!("../../../shaders/adam_multi.wgsl");
}

/// What a binding holds.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// `var<storage, read>`: an input.
    Read,
    /// `var<storage, read_write>`: an output, or state updated in place.
    Write,
}
use Slot::{Read, Write};

/// One entry point of one shader file, and its storage bindings (1, 2, …;
/// binding 0 is always the uniform parameters).
pub(crate) struct Spec {
    file: &'static str,
    source: &'static str,
    entry: &'static str,
    slots: &'static [Slot],
}

/// The most storage bindings a kernel has (`adam_multi.wgsl`: 4 per tensor,
/// 6 tensors).
pub(crate) const MAX_STORAGE: usize = 24;

/// Every kernel, by name. The discriminant indexes [`Kernels`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum K {
    Fill,
    Random,
    UnaryForward,
    UnaryBackward,
    Binary,
    Broadcast,
    Transpose,
    CopyCols,
    SumAll,
    SumRows,
    SumCols,
    MatmulNaive,
    MatmulTiled,
    Sgd,
    Adam,
    GatherRows,
    ScatterAddRows,
    PickCols,
    ScatterCols,
    LogSumExpRows,
    MatmulSmall,
    MatmulLarge,
    MatmulPair,
    BiasAct,
    BceLoss,
    BceGrad,
    AdamMulti,
}

const COUNT: usize = K::AdamMulti as usize + 1;

/// `adam_multi.wgsl`'s bindings: gradient, parameter, m, v for each slot.
const ADAM_MULTI_SLOTS: [Slot; 4 * ADAM_SLOTS] = {
    let mut slots = [Read; 4 * ADAM_SLOTS];
    let mut i = 0;
    while i < 4 * ADAM_SLOTS {
        if i % 4 != 0 {
            slots[i] = Write;
        }
        i += 1;
    }
    slots
};

impl K {
    /// The shader entry point and its bindings, as in the `.wgsl` header.
    pub(crate) fn spec(self) -> Spec {
        let s = |file, source, entry, slots| Spec { file, source, entry, slots };
        match self {
            K::Fill => s("fill.wgsl", source::FILL, "main", &[Write]),
            K::Random => s("random.wgsl", source::RANDOM, "main", &[Write]),
            // x, out
            K::UnaryForward => s("unary.wgsl", source::UNARY, "forward", &[Read, Write]),
            // x, out (= dx), y, dy
            K::UnaryBackward => {
                s("unary.wgsl", source::UNARY, "backward", &[Read, Write, Read, Read])
            }
            // a, b, out
            K::Binary => s("binary.wgsl", source::BINARY, "main", &[Read, Read, Write]),
            K::Broadcast => s("broadcast.wgsl", source::BROADCAST, "main", &[Read, Write]),
            K::Transpose => s("transpose.wgsl", source::TRANSPOSE, "main", &[Read, Write]),
            K::CopyCols => s("copy_cols.wgsl", source::COPY_COLS, "main", &[Read, Write]),
            K::SumAll => s("sum.wgsl", source::SUM, "sum_all", &[Read, Write]),
            K::SumRows => s("sum.wgsl", source::SUM, "sum_rows", &[Read, Write]),
            K::SumCols => s("sum.wgsl", source::SUM, "sum_cols", &[Read, Write]),
            // a, b, c
            K::MatmulNaive => {
                s("matmul_naive.wgsl", source::MATMUL_NAIVE, "main", &[Read, Read, Write])
            }
            K::MatmulTiled => {
                s("matmul_tiled.wgsl", source::MATMUL_TILED, "main", &[Read, Read, Write])
            }
            // grad, param, velocity
            K::Sgd => s("sgd.wgsl", source::SGD, "main", &[Read, Write, Write]),
            // grad, param, m, v
            K::Adam => s("adam.wgsl", source::ADAM, "main", &[Read, Write, Write, Write]),
            // x (or dy), indices, out (or dx)
            K::GatherRows => s("gather.wgsl", source::GATHER, "gather_rows", &[Read, Read, Write]),
            K::ScatterAddRows => {
                s("gather.wgsl", source::GATHER, "scatter_add_rows", &[Read, Read, Write])
            }
            // x (or dy), labels, out (or dx)
            K::PickCols => s("pick.wgsl", source::PICK, "pick_cols", &[Read, Read, Write]),
            K::ScatterCols => s("pick.wgsl", source::PICK, "scatter_cols", &[Read, Read, Write]),
            // x, out
            K::LogSumExpRows => {
                s("logsumexp.wgsl", source::LOGSUMEXP, "logsumexp_rows", &[Read, Write])
            }
            // a, b, z, bias, y
            K::MatmulSmall => s(
                "matmul_small.wgsl",
                source::MATMUL_SMALL,
                "main",
                &[Read, Read, Write, Read, Write],
            ),
            K::MatmulLarge => s(
                "matmul_large.wgsl",
                source::MATMUL_LARGE,
                "main",
                &[Read, Read, Write, Read, Write],
            ),
            // a0, b0, c0, a1, b1, c1
            K::MatmulPair => s(
                "matmul_pair.wgsl",
                source::MATMUL_PAIR,
                "main",
                &[Read, Read, Write, Read, Read, Write],
            ),
            // z, y, dy, dz, db
            K::BiasAct => {
                s("bias_act.wgsl", source::BIAS_ACT, "main", &[Read, Read, Read, Write, Write])
            }
            // x, t, out
            K::BceLoss => s("bce.wgsl", source::BCE, "loss", &[Read, Read, Write]),
            // x, t, out (= dx), g
            K::BceGrad => s("bce.wgsl", source::BCE, "grad", &[Read, Read, Write, Read]),
            K::AdamMulti => s("adam_multi.wgsl", source::ADAM_MULTI, "main", &ADAM_MULTI_SLOTS),
        }
    }
}

/// A compute pipeline and the layout of its one bind group.
pub(crate) struct Kernel {
    pub(crate) pipeline: wgpu::ComputePipeline,
    pub(crate) layout: wgpu::BindGroupLayout,
}

impl Kernel {
    /// Compiles `spec` on `device`.
    fn build(device: &wgpu::Device, spec: &Spec) -> Kernel {
        let label = format!("{}::{}", spec.file, spec.entry);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(spec.file),
            source: wgpu::ShaderSource::Wgsl(spec.source.into()),
        });
        // Binding 0: the parameters; then one storage buffer per slot.
        let uniform = wgpu::BufferBindingType::Uniform;
        let storage = |slot| wgpu::BufferBindingType::Storage { read_only: slot == Read };
        let types = std::iter::once(uniform).chain(spec.slots.iter().map(|&s| storage(s)));
        let entries: Vec<wgpu::BindGroupLayoutEntry> = types
            .enumerate()
            .map(|(binding, ty)| wgpu::BindGroupLayoutEntry {
                binding: binding as u32,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty,
                    // The parameters' slot in the uniform chunk is chosen
                    // when the bind group is set (see `uniforms.rs`).
                    has_dynamic_offset: binding == 0,
                    min_binding_size: None,
                },
                count: None,
            })
            .collect();
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(&label),
            entries: &entries,
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(&label),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&label),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some(spec.entry),
            compilation_options: Default::default(),
            cache: None,
        });
        Kernel { pipeline, layout }
    }
}

/// Every kernel's pipeline, built the first time it is used: a test that
/// needs three kernels compiles three (shader compilation is slow on a
/// software rasterizer).
pub(crate) struct Kernels {
    built: [OnceLock<Kernel>; COUNT],
}

impl Kernels {
    /// No pipelines yet.
    pub(crate) fn new() -> Self {
        Kernels { built: std::array::from_fn(|_| OnceLock::new()) }
    }

    /// The pipeline of `k`, built now if this is its first use.
    pub(crate) fn get(&self, device: &wgpu::Device, k: K) -> &Kernel {
        self.built[k as usize].get_or_init(|| Kernel::build(device, &k.spec()))
    }
}

// ---------------------------------------------------------------------------
// Parameters: each mirrors the `struct Params` of its shader, field by field
// (u32, i32 and f32 only, so the layouts agree without padding rules).
// ---------------------------------------------------------------------------

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

/// `random.wgsl` distribution codes.
pub(crate) mod dist {
    pub const UNIFORM: u32 = 0;
    pub const NORMAL: u32 = 1;
    pub const BERNOULLI: u32 = 2;
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

/// The op code and parameters of `op` for `unary.wgsl` (codes in the order
/// of the `Unary` enum, as the shader's constants).
pub(crate) fn unary_params(op: Unary, n: u32) -> UnaryParams {
    let p = |op, k, a: f64, b: f64| UnaryParams { n, op, k, _pad: 0, a: a as f32, b: b as f32 };
    match op {
        Unary::Neg => p(0, 0, 0.0, 0.0),
        Unary::AddScalar(c) => p(1, 0, c, 0.0),
        Unary::MulScalar(c) => p(2, 0, c, 0.0),
        Unary::Exp => p(3, 0, 0.0, 0.0),
        Unary::Log => p(4, 0, 0.0, 0.0),
        Unary::Sqrt => p(5, 0, 0.0, 0.0),
        Unary::Powi(k) => p(6, k, 0.0, 0.0),
        Unary::Tanh => p(7, 0, 0.0, 0.0),
        Unary::Sigmoid => p(8, 0, 0.0, 0.0),
        Unary::Relu => p(9, 0, 0.0, 0.0),
        Unary::LeakyRelu(slope) => p(10, 0, slope, 0.0),
        Unary::Elu(alpha) => p(11, 0, alpha, 0.0),
        Unary::Softplus => p(12, 0, 0.0, 0.0),
        Unary::Clamp(lo, hi) => p(13, 0, lo, hi),
    }
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

/// The op code of `op` in `binary.wgsl`.
pub(crate) fn binary_code(op: Binary) -> u32 {
    match op {
        Binary::Add => 0,
        Binary::Sub => 1,
        Binary::Mul => 2,
        Binary::Div => 3,
    }
}

/// The code of a broadcast rule in `binary.wgsl` and `broadcast.wgsl`.
pub(crate) fn broadcast_code(rule: Broadcast) -> u32 {
    match rule {
        Broadcast::Same => 0,
        Broadcast::Row => 1,
        Broadcast::Col => 2,
        Broadcast::Scalar => 3,
    }
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

/// `pick.wgsl` and `logsumexp.wgsl`.
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

/// `activation.wgsl`'s code for the identity.
pub(crate) const ACT_NONE: u32 = 100;

/// The `activation.wgsl` code and parameter of a layer's activation, or
/// `None` for a map the fused kernels do not have (the caller falls back on
/// the plain ops). The codes are `unary.wgsl`'s.
pub(crate) fn fused_act(act: Option<Unary>) -> Option<(u32, f32)> {
    let code = |op| unary_params(op, 0).op;
    match act {
        None => Some((ACT_NONE, 0.0)),
        Some(op @ (Unary::Tanh | Unary::Sigmoid | Unary::Relu)) => Some((code(op), 0.0)),
        Some(op @ (Unary::LeakyRelu(a) | Unary::Elu(a))) => Some((code(op), a as f32)),
        Some(_) => None,
    }
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

    /// The value of `const NAME: u32 = 123u;` in a shader's source.
    fn shader_const(src: &str, name: &str) -> u32 {
        let decl = format!("const {name}: u32 = ");
        let start = src.find(&decl).unwrap_or_else(|| panic!("no `{decl}` in shader")) + decl.len();
        let digits: String = src[start..].chars().take_while(char::is_ascii_digit).collect();
        digits.parse().unwrap()
    }

    #[test]
    fn rust_constants_match_the_shaders() {
        for src in [
            source::FILL,
            source::RANDOM,
            source::UNARY,
            source::BINARY,
            source::BROADCAST,
            source::TRANSPOSE,
            source::COPY_COLS,
            source::SUM,
            source::SGD,
            source::ADAM,
            source::GATHER,
            source::PICK,
            source::LOGSUMEXP,
            source::BIAS_ACT,
            source::BCE,
            source::ADAM_MULTI,
        ] {
            assert_eq!(shader_const(src, "WORKGROUP_SIZE"), WORKGROUP_SIZE);
        }
        assert_eq!(shader_const(source::MATMUL_SMALL, "TILE"), SMALL_TILE);
        assert_eq!(shader_const(source::MATMUL_SMALL, "TILE_K"), SMALL_TILE_K);
        assert_eq!(shader_const(source::MATMUL_PAIR, "TILE"), SMALL_TILE);
        assert_eq!(shader_const(source::MATMUL_PAIR, "TILE_K"), SMALL_TILE_K);
        assert_eq!(shader_const(source::MATMUL_LARGE, "TILE"), LARGE_TILE);
        assert_eq!(shader_const(source::MATMUL_LARGE, "TILE_K"), LARGE_TILE_K);
        assert_eq!(shader_const(source::BIAS_ACT, "COLS"), BIAS_ACT_COLS);
        assert_eq!(shader_const(source::BIAS_ACT, "ROW_LANES"), BIAS_ACT_ROW_LANES);
        assert_eq!(shader_const(source::ADAM_MULTI, "SLOTS") as usize, ADAM_SLOTS);
        assert_eq!(shader_const(source::MATMUL_NAIVE, "WORKGROUP_X"), NAIVE_TILE);
        assert_eq!(shader_const(source::MATMUL_NAIVE, "WORKGROUP_Y"), NAIVE_TILE);
        assert_eq!(shader_const(source::MATMUL_TILED, "TILE_M"), TILE_M);
        assert_eq!(shader_const(source::MATMUL_TILED, "TILE_N"), TILE_N);
        assert_eq!(shader_const(source::MATMUL_TILED, "TILE_K"), TILE_K);
    }

    #[test]
    fn unary_op_codes_match_the_shader() {
        let ops = [
            (Unary::Neg, "NEG"),
            (Unary::AddScalar(1.0), "ADD_SCALAR"),
            (Unary::MulScalar(1.0), "MUL_SCALAR"),
            (Unary::Exp, "EXP"),
            (Unary::Log, "LOG"),
            (Unary::Sqrt, "SQRT"),
            (Unary::Powi(2), "POWI"),
            (Unary::Tanh, "TANH"),
            (Unary::Sigmoid, "SIGMOID"),
            (Unary::Relu, "RELU"),
            (Unary::LeakyRelu(0.1), "LEAKY_RELU"),
            (Unary::Elu(1.0), "ELU"),
            (Unary::Softplus, "SOFTPLUS"),
            (Unary::Clamp(0.0, 1.0), "CLAMP"),
        ];
        for (op, name) in ops {
            assert_eq!(unary_params(op, 1).op, shader_const(source::UNARY, name), "{op:?}");
        }
    }

    #[test]
    fn other_codes_match_the_shaders() {
        for (op, name) in
            [(Binary::Add, "ADD"), (Binary::Sub, "SUB"), (Binary::Mul, "MUL"), (Binary::Div, "DIV")]
        {
            assert_eq!(binary_code(op), shader_const(source::BINARY, name));
        }
        let rules = [
            (Broadcast::Same, "SAME"),
            (Broadcast::Row, "ROW"),
            (Broadcast::Col, "COL"),
            (Broadcast::Scalar, "SCALAR"),
        ];
        for (rule, name) in rules {
            assert_eq!(broadcast_code(rule), shader_const(source::BINARY, name));
            assert_eq!(broadcast_code(rule), shader_const(source::BROADCAST, name));
        }
        assert_eq!(dist::UNIFORM, shader_const(source::RANDOM, "UNIFORM"));
        assert_eq!(dist::NORMAL, shader_const(source::RANDOM, "NORMAL"));
        assert_eq!(dist::BERNOULLI, shader_const(source::RANDOM, "BERNOULLI"));
        // The end of a chain of positions, 0xffffffffu in the shader.
        assert!(source::GATHER.contains("const NONE: u32 = 0xffffffffu;"));
        assert_eq!(crate::tensor::NONE, 0xffff_ffff);
    }

    #[test]
    fn parameters_fit_a_uniform_slot() {
        assert!(std::mem::size_of::<RandomParams>() as u64 <= crate::uniforms::SLOT);
        assert!(std::mem::size_of::<AdamParams>() as u64 <= crate::uniforms::SLOT);
        assert!(std::mem::size_of::<AdamMultiParams>() as u64 <= crate::uniforms::SLOT);
    }

    #[test]
    fn activation_codes_match_the_shaders() {
        for (op, name) in [
            (Unary::Tanh, "ACT_TANH"),
            (Unary::Sigmoid, "ACT_SIGMOID"),
            (Unary::Relu, "ACT_RELU"),
            (Unary::LeakyRelu(0.2), "ACT_LEAKY_RELU"),
            (Unary::Elu(1.0), "ACT_ELU"),
        ] {
            let (code, _) = fused_act(Some(op)).expect("a layer's activation is fused");
            assert_eq!(code, shader_const(source::ACTIVATION, name), "{op:?}");
            // The same code as unary.wgsl's op of the same name.
            assert_eq!(code, shader_const(source::UNARY, &name[4..]), "{op:?}");
        }
        assert_eq!(fused_act(None), Some((shader_const(source::ACTIVATION, "ACT_NONE"), 0.0)));
        assert_eq!(fused_act(Some(Unary::Log)), None);
    }

    #[test]
    fn every_kernel_fits_the_bind_group_key() {
        assert_eq!(K::AdamMulti.spec().slots.len(), MAX_STORAGE);
        for k in [K::MatmulSmall, K::MatmulLarge, K::BiasAct, K::BceGrad, K::Adam, K::UnaryBackward]
        {
            assert!(k.spec().slots.len() <= MAX_STORAGE, "{k:?}");
        }
    }
}
