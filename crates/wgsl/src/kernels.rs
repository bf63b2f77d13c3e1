//! The WGSL kernels: one table row each, and the compute pipelines built
//! from the rows (once, on first use).
//!
//! Every shader follows one convention: binding 0 is a uniform holding the
//! kernel's `Params` (a struct of `params.rs`), the other bindings are
//! storage buffers, listed in each `.wgsl` file's header. A kernel's row in
//! the table below says the same on the Rust side: its shader file, its entry
//! point, its parameters' struct, whether each storage binding is read or
//! written, and the sets of codes (`codes.rs`) the shader uses by name.
//! Everything else is made from the rows: the kernel enum [`K`], the
//! shader sources compiled into the binary, the bind-group layouts, and
//! the check that each dispatch passes the parameters its kernel takes.
//!
//! Adding a kernel: its `.wgsl` file in `shaders/`, its row here (and a
//! `Params` struct in `params.rs` if none fits), and its dispatch in the
//! backend method that runs it.

use crate::codes::Codes;
use crate::params::*;
use std::any::TypeId;
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
/// `conv2d_gemm.wgsl`: each workgroup computes a CONV_TILE × CONV_TILE
/// block of the product, stepping CONV_TILE_K along its sum.
pub(crate) const CONV_TILE: u32 = 64;
/// See [`CONV_TILE`].
pub(crate) const CONV_TILE_K: u32 = 16;
/// `conv2d_naive.wgsl`: the most terms of each sum one dispatch adds;
/// `conv2d_gemm.wgsl`: the most one layer of the grid adds (a part). As
/// [`K_PER_DISPATCH`], for llvmpipe's loop limit.
pub(crate) const CONV_PART: u32 = K_PER_DISPATCH;
const _: () = assert!(CONV_PART.is_multiple_of(CONV_TILE_K));
/// `bias_act.wgsl`: columns per workgroup, and invocations per column.
pub(crate) const BIAS_ACT_COLS: u32 = 32;
/// See [`BIAS_ACT_COLS`].
pub(crate) const BIAS_ACT_ROW_LANES: u32 = 8;
/// `adam_multi.wgsl`: tensors per dispatch.
pub(crate) const ADAM_SLOTS: usize = 6;

/// What a storage binding holds.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// `var<storage, read>`: an input.
    Read,
    /// `var<storage, read_write>`: an output, or state updated in place.
    Write,
}
use Slot::{Read, Write};

/// One kernel: an entry point of a shader, what it binds, and the source
/// its pipeline is compiled from.
pub(crate) struct Spec {
    /// The shader file, then any files appended to it (WGSL has no
    /// `#include`), as in `shaders/`.
    files: &'static [&'static str],
    /// The contents of `files`, compiled into the binary.
    sources: &'static [&'static str],
    /// The entry point.
    entry: &'static str,
    /// The name, size and type of the kernel's `Params` (binding 0).
    params: (&'static str, u64, fn() -> TypeId),
    /// Storage bindings 1, 2, …, in the order of the shader's header.
    slots: &'static [Slot],
    /// The codes the shader uses by name, declared after its source.
    codes: &'static [Codes],
}

impl Spec {
    /// The WGSL the pipeline is compiled from: the files, then the `const`
    /// declarations of the codes. Appended, so the line numbers of an error
    /// in the shader file are those of the file.
    pub(crate) fn source(&self) -> String {
        let mut source = self.sources.concat();
        for codes in self.codes {
            source += &codes.wgsl();
        }
        source
    }
}

/// The most storage bindings a kernel has (`adam_multi.wgsl`: 4 per tensor,
/// 6 tensors).
pub(crate) const MAX_STORAGE: usize = 24;

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

/// The kernel table: rows `Name => "file.wgsl" (+ "appended.wgsl")*,
/// "entry", Params, &[storage bindings]` and, for a shader that uses codes
/// by name, `, codes [Unary, …]` (variants of [`Codes`]), each ending in
/// `;`. Makes the enum [`K`], one variant per row, and [`K::spec`], the
/// [`Spec`] of each row.
macro_rules! kernels {
    ($(
        $name:ident => $file:literal $(+ $appended:literal)*, $entry:literal, $params:ty,
            $slots:expr $(, codes [$($codes:ident),*])?;
    )*) => {
        /// Every kernel, by name: one row of the table each. The
        /// discriminant indexes [`Kernels`].
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        pub(crate) enum K {
            $($name,)*
        }

        impl K {
            /// Every kernel, in the table's order.
            pub(crate) const ALL: &[K] = &[$(K::$name),*];

            /// The kernel's row of the table.
            pub(crate) fn spec(self) -> Spec {
                match self {
                    $(K::$name => Spec {
                        files: &[$file $(, $appended)*],
                        sources: &[
                            include_str!(concat!("../../../shaders/", $file))
                            $(, include_str!(concat!("../../../shaders/", $appended)))*
                        ],
                        entry: $entry,
                        params: (
                            stringify!($params),
                            std::mem::size_of::<$params>() as u64,
                            TypeId::of::<$params>,
                        ),
                        slots: $slots,
                        codes: &[$($(Codes::$codes),*)?],
                    },)*
                }
            }
        }
    };
}

kernels! {
    // out
    Fill => "fill.wgsl", "main", FillParams, &[Write];
    Random => "random.wgsl", "main", RandomParams, &[Write], codes [Dist];
    // x, out
    UnaryForward => "unary.wgsl", "forward", UnaryParams, &[Read, Write], codes [Unary];
    // x, out (= dx), y, dy
    UnaryBackward => "unary.wgsl", "backward", UnaryParams,
        &[Read, Write, Read, Read], codes [Unary];
    // a, b, out
    Binary => "binary.wgsl", "main", BinaryParams,
        &[Read, Read, Write], codes [Binary, Broadcast];
    // x, out
    Broadcast => "broadcast.wgsl", "main", BroadcastParams, &[Read, Write], codes [Broadcast];
    Transpose => "transpose.wgsl", "main", TransposeParams, &[Read, Write];
    CopyCols => "copy_cols.wgsl", "main", CopyColsParams, &[Read, Write];
    SumAll => "sum.wgsl", "sum_all", SumParams, &[Read, Write];
    SumRows => "sum.wgsl", "sum_rows", SumParams, &[Read, Write];
    SumCols => "sum.wgsl", "sum_cols", SumParams, &[Read, Write];
    // a, b, c
    MatmulNaive => "matmul_naive.wgsl", "main", MatmulParams, &[Read, Read, Write];
    MatmulTiled => "matmul_tiled.wgsl", "main", MatmulParams, &[Read, Read, Write];
    // grad, param, velocity
    Sgd => "sgd.wgsl", "main", SgdParams, &[Read, Write, Write];
    // grad, param, m, v
    Adam => "adam.wgsl", "main", AdamParams, &[Read, Write, Write, Write];
    // x (or dy), indices, out (or dx)
    GatherRows => "gather.wgsl", "gather_rows", GatherParams, &[Read, Read, Write];
    ScatterAddRows => "gather.wgsl", "scatter_add_rows", GatherParams, &[Read, Read, Write];
    // x (or dy), labels, out (or dx)
    PickCols => "pick.wgsl", "pick_cols", RowsParams, &[Read, Read, Write];
    ScatterCols => "pick.wgsl", "scatter_cols", RowsParams, &[Read, Read, Write];
    // x, out
    LogSumExpRows => "logsumexp.wgsl", "logsumexp_rows", RowsParams, &[Read, Write];
    MaxRows => "max_rows.wgsl", "max_rows", RowsParams, &[Read, Write];
    // x, out (= dx), dy
    MaxRowsBackward => "max_rows.wgsl", "max_rows_backward", RowsParams, &[Read, Write, Read];
    // a, b, z, bias, y
    MatmulSmall => "matmul_small.wgsl" + "activation.wgsl", "main", MatmulFusedParams,
        &[Read, Read, Write, Read, Write], codes [Activation];
    MatmulLarge => "matmul_large.wgsl" + "activation.wgsl", "main", MatmulFusedParams,
        &[Read, Read, Write, Read, Write], codes [Activation];
    // a0, b0, c0, a1, b1, c1
    MatmulPair => "matmul_pair.wgsl", "main", MatmulPairParams,
        &[Read, Read, Write, Read, Read, Write];
    // z, y, dy, dz, db
    BiasAct => "bias_act.wgsl" + "activation.wgsl", "main", BiasActParams,
        &[Read, Read, Read, Write, Write], codes [Activation];
    // x, t, out
    BceLoss => "bce.wgsl", "loss", BceParams, &[Read, Read, Write], codes [Broadcast];
    // x, t, out (= dx), g
    BceGrad => "bce.wgsl", "grad", BceParams, &[Read, Read, Write, Read], codes [Broadcast];
    // a (x or dy), b (w or dy), out: see the shaders' headers
    ConvForwardNaive => "conv2d_naive.wgsl", "forward", ConvParams, &[Read, Read, Write];
    ConvBackwardInputNaive => "conv2d_naive.wgsl", "backward_input", ConvParams,
        &[Read, Read, Write];
    ConvBackwardWeightNaive => "conv2d_naive.wgsl", "backward_weight", ConvParams,
        &[Read, Read, Write];
    ConvGemm => "conv2d_gemm.wgsl", "main", ConvParams, &[Read, Read, Write], codes [Conv];
    // parts, out
    SumParts => "sum_parts.wgsl", "main", SumPartsParams, &[Read, Write];
    // gradient, parameter, m, v of each of ADAM_SLOTS tensors
    AdamMulti => "adam_multi.wgsl", "main", AdamMultiParams, &ADAM_MULTI_SLOTS;
}

/// How many kernels there are.
const COUNT: usize = K::ALL.len();

/// A compute pipeline, the layout of its one bind group, and what a
/// dispatch of it must pass.
pub(crate) struct Kernel {
    pub(crate) pipeline: wgpu::ComputePipeline,
    pub(crate) layout: wgpu::BindGroupLayout,
    /// The name and type of the parameters' struct.
    pub(crate) params: (&'static str, TypeId),
    /// How many storage buffers it binds.
    pub(crate) storage: usize,
}

impl Kernel {
    /// Compiles `spec` on `device`.
    fn build(device: &wgpu::Device, spec: &Spec) -> Kernel {
        let label = format!("{}::{}", spec.files[0], spec.entry);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(spec.files[0]),
            source: wgpu::ShaderSource::Wgsl(spec.source().into()),
        });
        // Binding 0: the parameters; then one storage buffer per slot.
        let (params_name, params_size, params_type) = spec.params;
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
                    // The parameters' size: the pipeline is refused if the
                    // shader's `Params` is larger than the Rust struct.
                    min_binding_size: if binding == 0 {
                        wgpu::BufferSize::new(params_size)
                    } else {
                        None
                    },
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
        Kernel { pipeline, layout, params: (params_name, params_type()), storage: spec.slots.len() }
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

/// The source the pipelines of `file`'s kernels are compiled from (see
/// [`Spec::source`]), or `None` if no kernel's shader is `file`.
pub(crate) fn source_of(file: &str) -> Option<String> {
    K::ALL.iter().map(|k| k.spec()).find(|spec| spec.files[0] == file).map(|spec| spec.source())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::{unary_code, FUSED_ACTIVATIONS, UNARY_NAMES};

    /// The value of `const NAME: u32 = 123u;` in a shader's source.
    fn shader_const(src: &str, name: &str) -> u32 {
        let decl = format!("const {name}: u32 = ");
        let start = src.find(&decl).unwrap_or_else(|| panic!("no `{decl}` in shader")) + decl.len();
        let digits: String = src[start..].chars().take_while(char::is_ascii_digit).collect();
        digits.parse().unwrap()
    }

    /// The source of kernel `k`'s pipeline.
    fn src(k: K) -> String {
        k.spec().source()
    }

    #[test]
    fn rust_constants_match_the_shaders() {
        use K::*;
        for &k in K::ALL {
            if !matches!(
                k,
                MatmulNaive | MatmulTiled | MatmulSmall | MatmulLarge | MatmulPair | ConvGemm
            ) {
                assert_eq!(shader_const(&src(k), "WORKGROUP_SIZE"), WORKGROUP_SIZE, "{k:?}");
            }
        }
        assert_eq!(shader_const(&src(MatmulSmall), "TILE"), SMALL_TILE);
        assert_eq!(shader_const(&src(MatmulSmall), "TILE_K"), SMALL_TILE_K);
        assert_eq!(shader_const(&src(MatmulPair), "TILE"), SMALL_TILE);
        assert_eq!(shader_const(&src(MatmulPair), "TILE_K"), SMALL_TILE_K);
        assert_eq!(shader_const(&src(MatmulLarge), "TILE"), LARGE_TILE);
        assert_eq!(shader_const(&src(MatmulLarge), "TILE_K"), LARGE_TILE_K);
        assert_eq!(shader_const(&src(BiasAct), "COLS"), BIAS_ACT_COLS);
        assert_eq!(shader_const(&src(BiasAct), "ROW_LANES"), BIAS_ACT_ROW_LANES);
        assert_eq!(shader_const(&src(AdamMulti), "SLOTS") as usize, ADAM_SLOTS);
        assert_eq!(shader_const(&src(MatmulNaive), "WORKGROUP_X"), NAIVE_TILE);
        assert_eq!(shader_const(&src(MatmulNaive), "WORKGROUP_Y"), NAIVE_TILE);
        assert_eq!(shader_const(&src(MatmulTiled), "TILE_M"), TILE_M);
        assert_eq!(shader_const(&src(MatmulTiled), "TILE_N"), TILE_N);
        assert_eq!(shader_const(&src(MatmulTiled), "TILE_K"), TILE_K);
        assert_eq!(shader_const(&src(ConvGemm), "TILE_M"), CONV_TILE);
        assert_eq!(shader_const(&src(ConvGemm), "TILE_N"), CONV_TILE);
        assert_eq!(shader_const(&src(ConvGemm), "TILE_K"), CONV_TILE_K);
        // The end of a chain of positions, 0xffffffffu in the shader.
        assert!(src(GatherRows).contains("const NONE: u32 = 0xffffffffu;"));
        assert_eq!(crate::tensor::NONE, 0xffff_ffff);
    }

    #[test]
    fn the_codes_are_declared_only_by_the_host() {
        for &k in K::ALL {
            let spec = k.spec();
            let files = spec.sources.concat();
            for codes in spec.codes {
                for (name, code) in codes.consts() {
                    let decl = format!("const {name}: u32");
                    assert!(!files.contains(&decl), "{k:?}: the shader declares {name} itself");
                    assert_eq!(shader_const(&spec.source(), &name), code, "{k:?}: {name}");
                }
            }
        }
    }

    /// A decimal literal past f32's range, such as `-3.40282347e38` (the
    /// f32 maximum rounded up in its ninth digit), is an error in
    /// Chromium's WGSL compiler ("cannot be represented as 'f32'"), though
    /// naga rounds it to the maximum: the kernel then never compiles in a
    /// browser. Write such values in hex, exactly (`0x1.fffffep+127f`).
    #[test]
    fn no_decimal_literal_is_outside_f32s_range() {
        let number = |c: char| c.is_ascii_digit() || ".eE+-".contains(c);
        for &k in K::ALL {
            let source = src(k);
            for token in source.split(|c: char| !number(c)) {
                let Ok(value) = token.parse::<f64>() else { continue };
                assert!(
                    value.abs() <= f32::MAX as f64,
                    "{k:?}: the literal {token} is outside f32's range"
                );
            }
        }
    }

    #[test]
    fn every_op_and_activation_has_its_arms_in_the_shaders() {
        // `f` and `df`: two arms per op.
        let unary = src(K::UnaryForward);
        for name in UNARY_NAMES {
            assert_eq!(unary.matches(&format!("case {name}:")).count(), 2, "unary.wgsl: {name}");
        }
        let activation = include_str!("../../../shaders/activation.wgsl");
        for op in FUSED_ACTIVATIONS {
            let name = format!("ACT_{}", UNARY_NAMES[unary_code(op) as usize]);
            let arms = activation.matches(&format!("case {name}:")).count();
            assert_eq!(arms, 2, "activation.wgsl: {name}");
        }
    }

    #[test]
    fn every_kernels_parameters_fit_a_uniform_slot_and_its_buffers_the_bind_group_key() {
        assert_eq!(K::AdamMulti.spec().slots.len(), MAX_STORAGE);
        for &k in K::ALL {
            let spec = k.spec();
            assert!(spec.params.1 <= crate::uniforms::SLOT, "{k:?}: {}", spec.params.0);
            assert!(spec.slots.len() <= MAX_STORAGE, "{k:?}");
        }
    }

    /// What wgpu checks when it builds a pipeline, checked here without a
    /// GPU: the source of every kernel parses and validates, has its entry
    /// point, and every binding that entry point uses is in the row, with
    /// the row's access, and a `Params` no larger than the row's struct.
    #[test]
    fn every_kernel_compiles_with_the_bindings_of_its_row() {
        use naga::valid::{Capabilities, ValidationFlags, Validator};
        use naga::{AddressSpace, StorageAccess};
        for &k in K::ALL {
            let spec = k.spec();
            let module = naga::front::wgsl::parse_str(&spec.source())
                .unwrap_or_else(|e| panic!("{k:?}: {}", e.emit_to_string(&spec.source())));
            let info = Validator::new(ValidationFlags::all(), Capabilities::all())
                .validate(&module)
                .unwrap_or_else(|e| panic!("{k:?}: {e:?}"));
            let index = module.entry_points.iter().position(|e| e.name == spec.entry);
            let index = index.unwrap_or_else(|| panic!("{k:?}: no entry point {}", spec.entry));
            let uses = info.get_entry_point(index);
            for (handle, var) in module.global_variables.iter() {
                let Some(binding) = &var.binding else { continue };
                if uses[handle].is_empty() {
                    continue; // another entry point's binding
                }
                let name = var.name.as_deref().unwrap_or("?");
                assert_eq!(binding.group, 0, "{k:?}: {name}");
                let slot = binding.binding as usize;
                let want = match slot {
                    0 => AddressSpace::Uniform,
                    _ => {
                        let row = spec.slots.get(slot - 1);
                        let row = row.unwrap_or_else(|| panic!("{k:?}: {name}: not in the row"));
                        let mut access = StorageAccess::LOAD;
                        access.set(StorageAccess::STORE, *row == Write);
                        AddressSpace::Storage { access }
                    }
                };
                assert_eq!(var.space, want, "{k:?}: binding {slot}, {name}");
                if slot == 0 {
                    let size = module.types[var.ty].inner.size(module.to_ctx()) as u64;
                    let (params, rust_size, _) = spec.params;
                    assert!(
                        size <= rust_size,
                        "{k:?}: Params is {size} bytes, {params} {rust_size}"
                    );
                }
            }
        }
    }
}
