//! The fast paths: the matmul kernels for the products training really has
//! (`matmul_small.wgsl`, `matmul_large.wgsl`), and the fused ops that
//! override the defaults of `Backend` (a layer's forward and backward, the
//! BCE loss, Adam over several tensors).
//!
//! Each falls back on the plain path (`backend.rs`, or the default made of
//! primitives in `minimax_autodiff::backend`) for a case its kernel does not
//! cover, and each is tested against that plain path
//! (`tests/gpu_fused.rs`).

use crate::backend::{grid, grid_1d, u};
use crate::codes::{broadcast_code, ACT_NONE};
use crate::kernels::*;
use crate::params::*;
use crate::pool::GpuBuffer;
use crate::{MatmulKernel, Wgpu, WgpuTensor};
use bytemuck::Zeroable;
use minimax_autodiff::backend::{
    broadcast_rule, linear_shape, matmul_shape, plain_bce_with_logits,
    plain_bce_with_logits_backward, plain_bias_act_backward, plain_linear, same_shape,
};
use minimax_autodiff::{
    AdamStep, AdamTensors, Axis, Backend, Error, Product, Result, Shape, Unary,
};

/// The large kernel is used when C has at least this many of its
/// 128 × 128 tiles: enough workgroups to fill a big GPU. Below, the small
/// kernel's 32 × 32 tiles make 16 times as many workgroups.
const LARGE_MIN_TILES: usize = 32;

/// The longest inner dimension the small and large kernels take, and the
/// most steps of `bias_act.wgsl`'s loop over rows (8 invocations per
/// column, so 8192 rows). llvmpipe (lavapipe, and Mesa's software OpenGL)
/// silently stops a shader's loops after 65 535 iterations in all, and
/// other drivers kill dispatches that run too long; so, like the plain
/// matmul (which splits k over dispatches of [`K_PER_DISPATCH`] each, see
/// `backend.rs`), one invocation loops over at most 1024 values of k: at
/// most 1024 / 16 (small) or 1024 / 8 (large) steps. Longer products go to
/// the tiled kernel, split over several dispatches; longer columns of
/// `bias_act` to the plain ops.
const MAX_K_FAST: usize = K_PER_DISPATCH as usize;
// Each step along k runs the TILE_K-deep loop plus the tile loads (a few
// iterations): far below llvmpipe's 65 535 for either kernel.
const _: () =
    assert!(MAX_K_FAST.div_ceil(SMALL_TILE_K as usize) * (SMALL_TILE_K as usize + 8) < 8192);
const _: () =
    assert!(MAX_K_FAST.div_ceil(LARGE_TILE_K as usize) * (LARGE_TILE_K as usize + 8) < 8192);

/// [`Backend::bce_with_logits`] runs as one workgroup up to this many
/// elements (256 per invocation); beyond, the plain ops.
const BCE_ONE_WORKGROUP: usize = 65_536;

/// What a fused product does after the multiply: add a bias row, apply an
/// activation (an `activation.wgsl` code and its parameter).
#[derive(Copy, Clone)]
pub(crate) struct Epilogue<'a> {
    pub bias: Option<&'a WgpuTensor>,
    pub act: (u32, f32),
}

/// Whether `kernel` can compute an `[m, k] · [k, n]` product on this device:
/// the large kernel needs multiples of 4 (its vec4 accesses), and k may be
/// at most [`MAX_K_FAST`].
fn fits(kernel: MatmulKernel, m: usize, k: usize, n: usize) -> bool {
    let aligned = m.is_multiple_of(4) && k.is_multiple_of(4) && n.is_multiple_of(4);
    k <= MAX_K_FAST && (kernel != MatmulKernel::Large || aligned)
}

/// The kernel [`Backend::matmul`] runs for an `[m, k] · [k, n]` product:
/// the large one when C has many 128 × 128 tiles and the shapes suit it,
/// else the small one; the tiled one only where neither may run.
pub(crate) fn auto_kernel(m: usize, k: usize, n: usize) -> MatmulKernel {
    let tiles = m.div_ceil(LARGE_TILE as usize) * n.div_ceil(LARGE_TILE as usize);
    if tiles >= LARGE_MIN_TILES && fits(MatmulKernel::Large, m, k, n) {
        MatmulKernel::Large
    } else if fits(MatmulKernel::Small, m, k, n) {
        MatmulKernel::Small
    } else {
        MatmulKernel::Tiled
    }
}

/// `z = op(a) · op(b)` with the small or the large kernel, and the epilogue
/// if any: `z += bias`, `y = f(z)`. Returns `z`, and `y` when there is an
/// activation.
pub(crate) fn product(
    gpu: &Wgpu,
    kernel: MatmulKernel,
    a: &WgpuTensor,
    transpose_a: bool,
    b: &WgpuTensor,
    transpose_b: bool,
    epilogue: Option<Epilogue<'_>>,
) -> Result<(WgpuTensor, Option<WgpuTensor>)> {
    let out = matmul_shape(a.shape, transpose_a, b.shape, transpose_b)?; // [m, n]
    let k = if transpose_a { a.shape.rows } else { a.shape.cols };
    let (k_id, tile) = match kernel {
        MatmulKernel::Small => (K::MatmulSmall, SMALL_TILE),
        MatmulKernel::Large => (K::MatmulLarge, LARGE_TILE),
        other => unreachable!("product() runs the small and large kernels, not {other:?}"),
    };
    if !fits(kernel, out.rows, k, out.cols) {
        return Err(Error::Invalid {
            op: "matmul",
            why: format!(
                "the {kernel:?} kernel cannot compute [{}, {k}] · [{k}, {}] on {}: it needs m, k \
                 and n multiples of 4 (Large), and k at most {MAX_K_FAST}",
                out.rows,
                out.cols,
                gpu.adapter_summary(),
            ),
        });
    }
    let groups = [u(out.cols).div_ceil(tile), u(out.rows).div_ceil(tile), 1];
    if groups[0] > MAX_GROUPS_PER_DIM || groups[1] > MAX_GROUPS_PER_DIM {
        return Err(Error::Invalid {
            op: "matmul",
            why: format!("the product {out} needs {} × {} workgroups; at most {MAX_GROUPS_PER_DIM} per dimension", groups[0], groups[1]),
        });
    }
    let (bias, (act, act_a)) = match epilogue {
        Some(e) => (e.bias, e.act),
        None => (None, (ACT_NONE, 0.0)),
    };
    let z = gpu.ctx.try_output("matmul", out)?;
    let y = (act != ACT_NONE).then(|| gpu.ctx.try_output("linear", out)).transpose()?;
    let params = MatmulFusedParams {
        m: u(out.rows),
        k: u(k),
        n: u(out.cols),
        trans_a: transpose_a as u32,
        trans_b: transpose_b as u32,
        bias: bias.is_some() as u32,
        act,
        act_a,
    };
    // Bindings 4 and 5 are unused without a bias or an activation: bind
    // what the kernel never touches there: a for the bias (a buffer may be
    // in several read-only bindings), and for y a placeholder (never z: one
    // buffer in two writable bindings is invalid in WebGPU).
    let bias_buffer: &GpuBuffer = bias.map_or(&a.buffer, |b| &b.buffer);
    let y_buffer = y.as_ref().unwrap_or(gpu.ctx.placeholder(0));
    gpu.ctx.dispatch(k_id, &params, &[&a.buffer, &b.buffer, &z, bias_buffer, y_buffer], groups);
    let z = WgpuTensor::new(out, z);
    Ok((z, y.map(|y| WgpuTensor::new(out, y))))
}

/// [`Backend::matmul_pair`]: one dispatch of `matmul_pair.wgsl` when the
/// small kernel is the one for both products; two products otherwise.
pub(crate) fn matmul_pair(
    gpu: &Wgpu,
    first: Product<'_, WgpuTensor>,
    second: Product<'_, WgpuTensor>,
) -> Result<(WgpuTensor, WgpuTensor)> {
    let mut outs = [Shape::scalar(); 2];
    let mut params = MatmulPairParams { p: [PairProduct::zeroed(); 2] };
    let mut groups = 0;
    let mut small = true;
    for (i, p) in [&first, &second].into_iter().enumerate() {
        let out = matmul_shape(p.a.shape, p.transpose_a, p.b.shape, p.transpose_b)?; // [m, n]
        let k = if p.transpose_a { p.a.shape.rows } else { p.a.shape.cols };
        small &= auto_kernel(out.rows, k, out.cols) == MatmulKernel::Small;
        let tiles_n = u(out.cols).div_ceil(SMALL_TILE);
        params.p[i] = PairProduct {
            m: u(out.rows),
            k: u(k),
            n: u(out.cols),
            trans_a: p.transpose_a as u32,
            trans_b: p.transpose_b as u32,
            tiles_n,
            first: groups,
            _pad: 0,
        };
        groups += tiles_n * u(out.rows).div_ceil(SMALL_TILE);
        outs[i] = out;
    }
    if !small {
        let one = gpu.matmul(first.a, first.transpose_a, first.b, first.transpose_b)?;
        let two = gpu.matmul(second.a, second.transpose_a, second.b, second.transpose_b)?;
        return Ok((one, two));
    }
    let c0 = gpu.ctx.try_output("matmul", outs[0])?;
    let c1 = gpu.ctx.try_output("matmul", outs[1])?;
    let buffers =
        [&*first.a.buffer, &*first.b.buffer, &c0, &*second.a.buffer, &*second.b.buffer, &c1];
    gpu.ctx.dispatch(K::MatmulPair, &params, &buffers, grid(groups as usize));
    Ok((WgpuTensor::new(outs[0], c0), WgpuTensor::new(outs[1], c1)))
}

/// [`Backend::linear`]: one dispatch, the product with its epilogue; the
/// plain ops for an activation the fused kernels do not have.
pub(crate) fn linear(
    gpu: &Wgpu,
    x: &WgpuTensor,
    w: &WgpuTensor,
    b: Option<&WgpuTensor>,
    act: Option<Unary>,
) -> Result<(WgpuTensor, WgpuTensor)> {
    let out = linear_shape(x.shape, w.shape, b.map(|b| b.shape))?;
    let Some(code) = fused_act(act) else {
        return plain_linear(gpu, x, w, b, act);
    };
    let kernel = auto_kernel(out.rows, x.shape.cols, out.cols);
    if kernel == MatmulKernel::Tiled {
        return plain_linear(gpu, x, w, b, act);
    }
    let (z, y) = product(gpu, kernel, x, false, w, false, Some(Epilogue { bias: b, act: code }))?;
    let y = y.unwrap_or_else(|| z.clone()); // no activation: y is z
    Ok((z, y))
}

/// [`Backend::bias_act_backward`]: one dispatch of `bias_act.wgsl`; the
/// row sum alone for the identity.
pub(crate) fn bias_act_backward(
    gpu: &Wgpu,
    act: Option<Unary>,
    z: &WgpuTensor,
    y: &WgpuTensor,
    dy: &WgpuTensor,
    bias: bool,
) -> Result<(WgpuTensor, Option<WgpuTensor>)> {
    let Shape { rows, cols } = dy.shape;
    let steps = rows.div_ceil(BIAS_ACT_ROW_LANES as usize); // each invocation's loop
    let over_limit = steps > MAX_K_FAST;
    match fused_act(act) {
        Some((ACT_NONE, _)) => Ok((dy.clone(), bias.then(|| gpu.sum(dy, Some(Axis::Rows))))),
        Some((code, a)) if !over_limit && z.shape == dy.shape && y.shape == dy.shape => {
            let dz = gpu.ctx.try_output("bias_act_backward", dy.shape)?;
            let db = bias
                .then(|| gpu.ctx.try_output("bias_act_backward", Shape::new(1, cols)))
                .transpose()?;
            let params = BiasActParams {
                rows: u(rows),
                cols: u(cols),
                bias: bias as u32,
                act: code,
                act_a: a,
            };
            // Without a bias, a placeholder (never dz: see Context::placeholder).
            let db_buffer = db.as_ref().unwrap_or(gpu.ctx.placeholder(0));
            let buffers = [&*z.buffer, &*y.buffer, &*dy.buffer, &dz, db_buffer];
            gpu.ctx.dispatch(
                K::BiasAct,
                &params,
                &buffers,
                grid(cols.div_ceil(BIAS_ACT_COLS as usize)),
            );
            Ok((
                WgpuTensor::new(dy.shape, dz),
                db.map(|db| WgpuTensor::new(Shape::new(1, cols), db)),
            ))
        }
        _ => plain_bias_act_backward(gpu, act, z, y, dy, bias),
    }
}

/// The parameters of `bce.wgsl` for logits `x` and targets `t`.
fn bce_params(x: &WgpuTensor, t: &WgpuTensor) -> Result<BceParams> {
    let rule = broadcast_rule("bce_with_logits", x.shape, t.shape)?;
    Ok(BceParams {
        rows: u(x.shape.rows),
        cols: u(x.shape.cols),
        broadcast: broadcast_code(rule),
        inv_n: (1.0 / x.shape.numel() as f64) as f32,
    })
}

/// [`Backend::bce_with_logits`]: one workgroup, one dispatch.
pub(crate) fn bce_with_logits(gpu: &Wgpu, x: &WgpuTensor, t: &WgpuTensor) -> Result<WgpuTensor> {
    let params = bce_params(x, t)?;
    let n = x.shape.numel();
    if n == 0 || n > BCE_ONE_WORKGROUP {
        return plain_bce_with_logits(gpu, x, t);
    }
    let out = gpu.ctx.try_output("bce_with_logits", Shape::scalar())?;
    gpu.ctx.dispatch(K::BceLoss, &params, &[&x.buffer, &t.buffer, &out], [1, 1, 1]);
    Ok(WgpuTensor::new(Shape::scalar(), out))
}

/// [`Backend::bce_with_logits_backward`]: one elementwise dispatch.
pub(crate) fn bce_with_logits_backward(
    gpu: &Wgpu,
    x: &WgpuTensor,
    t: &WgpuTensor,
    g: &WgpuTensor,
) -> Result<WgpuTensor> {
    let params = bce_params(x, t)?;
    if !g.shape.is_scalar() {
        return plain_bce_with_logits_backward(gpu, x, t, g); // its error names the shapes
    }
    let dx = gpu.ctx.try_output("bce_with_logits_backward", x.shape)?;
    let buffers = [&*x.buffer, &*t.buffer, &dx, &*g.buffer];
    gpu.ctx.dispatch(K::BceGrad, &params, &buffers, grid_1d(x.shape.numel()));
    Ok(WgpuTensor::new(x.shape, dx))
}

/// [`Backend::adam_step_many`]: up to [`ADAM_SLOTS`] tensors per dispatch
/// of `adam_multi.wgsl`, or one `adam_step` each where the device cannot
/// bind that many storage buffers.
pub(crate) fn adam_step_many<'a>(
    gpu: &Wgpu,
    tensors: impl IntoIterator<Item = AdamTensors<'a, WgpuTensor>>,
    hp: AdamStep,
) -> Result<()> {
    if adam_tensors_per_dispatch(gpu) == 1 {
        for t in tensors {
            gpu.adam_step(t.param, t.grad, t.m, t.v, hp)?;
        }
        return Ok(());
    }
    let mut batch: Vec<AdamTensors<'a, WgpuTensor>> = Vec::with_capacity(ADAM_SLOTS);
    for t in tensors {
        for other in [t.grad.shape, t.m.shape, t.v.shape] {
            same_shape("adam_step", t.param.shape, other)?;
        }
        if t.param.shape.numel() == 0 {
            continue;
        }
        batch.push(t);
        if batch.len() == ADAM_SLOTS {
            adam_dispatch(gpu, &mut batch, hp)?;
        }
    }
    if !batch.is_empty() {
        adam_dispatch(gpu, &mut batch, hp)?;
    }
    Ok(())
}

/// [`ADAM_SLOTS`] where the device can bind `adam_multi.wgsl`'s 24 storage
/// buffers, else 1 (`adam_step` per tensor).
pub(crate) fn adam_tensors_per_dispatch(gpu: &Wgpu) -> usize {
    let max_storage = gpu.ctx.device.limits().max_storage_buffers_per_shader_stage as usize;
    if max_storage >= 4 * ADAM_SLOTS {
        ADAM_SLOTS
    } else {
        1
    }
}

/// One dispatch of `adam_multi.wgsl` over `batch` (1 to 6 tensors), which
/// it empties.
fn adam_dispatch(
    gpu: &Wgpu,
    batch: &mut Vec<AdamTensors<'_, WgpuTensor>>,
    hp: AdamStep,
) -> Result<()> {
    let t = hp.t as i32;
    let mut params = AdamMultiParams {
        lr: hp.lr as f32,
        beta1: hp.beta1 as f32,
        beta2: hp.beta2 as f32,
        eps: hp.eps as f32,
        // The bias corrections 1 - βᵗ, in f64 then rounded, as adam_step.
        bc1: (1.0 - hp.beta1.powi(t)) as f32,
        bc2: (1.0 - hp.beta2.powi(t)) as f32,
        count: batch.len() as u32,
        _pad: 0,
        n: [0; 8],
        start: [0; 8],
    };
    let mut groups = 0u32;
    for (s, t) in batch.iter_mut().enumerate() {
        // In place, unless another handle shares the storage (then copied).
        gpu.make_unique("adam_step", t.param);
        gpu.make_unique("adam_step", t.m);
        gpu.make_unique("adam_step", t.v);
        params.n[s] = t.param.n();
        params.start[s] = groups;
        groups += t.param.n().div_ceil(WORKGROUP_SIZE);
    }
    params.start[batch.len()] = groups;
    let mut buffers: Vec<&GpuBuffer> = Vec::with_capacity(4 * ADAM_SLOTS);
    for t in batch.iter() {
        buffers.extend([&*t.grad.buffer, &*t.param.buffer, &*t.m.buffer, &*t.v.buffer]);
    }
    // Unused slots, which no workgroup reads: the last tensor's gradient
    // (read-only, so it may be bound twice) and a placeholder of its own for
    // each writable binding (see Context::placeholder).
    let last_grad = &*batch.last().expect("a batch of at least one tensor").grad.buffer;
    for i in 0..ADAM_SLOTS - batch.len() {
        buffers.push(last_grad);
        buffers.extend((0..3).map(|j| gpu.ctx.placeholder(3 * i + j)));
    }
    gpu.ctx.dispatch(K::AdamMulti, &params, &buffers, grid(groups as usize));
    batch.clear();
    Ok(())
}
