//! `impl Backend for Wgpu`: each primitive as one or two recorded kernel
//! dispatches.
//!
//! Every method reads the same way:
//!
//! 1. check the shapes with the shared rules of `minimax_autodiff::backend`
//!    (so the error messages are the CPU's);
//! 2. take an output buffer from the pool;
//! 3. fill in the kernel's parameters (the `Params` struct of its shader);
//! 4. record the dispatch, with a grid computed from the shader's workgroup
//!    size.
//!
//! Nothing waits for the GPU here except `download` and `sync`.

use crate::codes::{binary_code, broadcast_code, dist_code};
use crate::fused;
use crate::kernels::*;
use crate::params::*;
use crate::{conv, rows, ConvKernel, MatmulKernel, Wgpu, WgpuIndices, WgpuTensor};
use minimax_autodiff::backend::{
    binary_name, broadcast_rule, broadcast_to_rule, concat_cols_shape, concat_rows_shape,
    matmul_shape, reshape_shape, same_shape, slice_cols_shape, slice_rows_shape, sum_shape,
    upload_rule,
};
use minimax_autodiff::{
    rng, AdamStep, AdamTensors, Axis, Backend, Binary, ConvGeometry, Dist, Error, Product, Result,
    Shape, Unary,
};
use std::sync::Arc;

/// The grid for one invocation per element of an `n`-element tensor:
/// ceil(n / WORKGROUP_SIZE) workgroups, folded into a 2-D grid no wider
/// than the 65 535 workgroups one dimension may hold. The shaders unfold
/// `(group.y, group.x)` into one index and skip the overhang.
pub(crate) fn grid_1d(n: usize) -> [u32; 3] {
    grid(n.div_ceil(WORKGROUP_SIZE as usize))
}

/// `groups` workgroups as a 2-D grid no wider than the dispatch limit
/// (the shaders number them `group.y · groups.x + group.x`).
pub(crate) fn grid(groups: usize) -> [u32; 3] {
    let groups = groups as u32;
    let x = groups.min(MAX_GROUPS_PER_DIM);
    let y = if x == 0 { 1 } else { groups.div_ceil(x) };
    [x, y, 1]
}

/// An element count or dimension as the `u32` the kernels use. Every
/// tensor fits: a buffer holds at most 4 GiB, 2³⁰ f32s.
pub(crate) fn u(n: usize) -> u32 {
    n as u32
}

/// Sums over everything of at most this many elements are one dispatch
/// (see `Backend::sum`).
const ONE_PASS_SUM: usize = 64 * WORKGROUP_SIZE as usize;

/// `ceil(p · 2²⁴)`: the 24-bit draws below it are exactly those whose
/// uniform is `< p` (see `random.wgsl`). NaN gives 0, like the CPU's
/// `u < NaN`.
fn bernoulli_threshold(p: f64) -> u32 {
    (p * 16_777_216.0).ceil().clamp(0.0, 16_777_216.0) as u32
}

/// `op(a) · op(b)` with either kernel (see [`Wgpu::matmul_with`]).
pub(crate) fn matmul(
    gpu: &Wgpu,
    kernel: MatmulKernel,
    a: &WgpuTensor,
    transpose_a: bool,
    b: &WgpuTensor,
    transpose_b: bool,
) -> Result<WgpuTensor> {
    let out = matmul_shape(a.shape, transpose_a, b.shape, transpose_b)?; // [m, n]
    let k = if transpose_a { a.shape.rows } else { a.shape.cols };
    // The kernels for real GPUs are in `fused.rs`.
    let kernel = match kernel {
        MatmulKernel::Auto => fused::auto_kernel(out.rows, k, out.cols),
        other => other,
    };
    if let MatmulKernel::Small | MatmulKernel::Large = kernel {
        return Ok(fused::product(gpu, kernel, a, transpose_a, b, transpose_b, None)?.0);
    }
    // One workgroup per tile of C: 16 × 16 elements (naive) or 64 × 64 (tiled).
    let (k_id, tile_m, tile_n) = match kernel {
        MatmulKernel::Tiled => (K::MatmulTiled, TILE_M, TILE_N),
        MatmulKernel::Naive => (K::MatmulNaive, NAIVE_TILE, NAIVE_TILE),
        other => unreachable!("{other:?} was handled above"),
    };
    let groups = [u(out.cols).div_ceil(tile_n), u(out.rows).div_ceil(tile_m), 1];
    if groups[0] > MAX_GROUPS_PER_DIM || groups[1] > MAX_GROUPS_PER_DIM {
        return Err(Error::Invalid {
            op: "matmul",
            why: format!(
                "the product {out} needs {} × {} workgroups; a dispatch allows at most \
                 {MAX_GROUPS_PER_DIM} per dimension",
                groups[0], groups[1]
            ),
        });
    }
    let c = gpu.ctx.try_output("matmul", out)?;
    // Each invocation loops over k. llvmpipe (Mesa's software rasterizer,
    // behind lavapipe and wgpu's GL backend) silently stops a shader's
    // loops after 65 535 iterations in all, every loop counting, nested or
    // not; other drivers kill dispatches that run too long. So one dispatch
    // sums over at most K_PER_DISPATCH values of k: at most 1024 iterations
    // of the naive kernel's loop, and 64 of the tiled kernel's 16-deep steps,
    // under 500 iterations each even if the compiler unrolled none of its
    // inner loops. A longer k is split over several dispatches, each
    // starting from the partial sums the one before left in C: the same
    // additions in the same order as in one long loop, so the same bits.
    let mut k_begin = 0;
    loop {
        let k_end = (k_begin + K_PER_DISPATCH).min(u(k));
        let params = MatmulParams {
            m: u(out.rows),
            k: u(k),
            n: u(out.cols),
            trans_a: transpose_a as u32,
            trans_b: transpose_b as u32,
            k_begin,
            k_end,
        };
        gpu.ctx.dispatch(k_id, &params, &[&a.buffer, &b.buffer, &c], groups);
        k_begin = k_end;
        if k_begin >= u(k) {
            break;
        }
    }
    Ok(WgpuTensor::new(out, c))
}

impl Wgpu {
    /// Gives `t` a buffer of its own before an in-place update, copying the
    /// values if the buffer is shared with another tensor (the GPU's
    /// `Arc::make_mut`, as the CPU backend does): updating a parameter must
    /// not change a copy of it that the tape still holds.
    pub(crate) fn make_unique(&self, op: &'static str, t: &mut WgpuTensor) {
        if Arc::get_mut(&mut t.buffer).is_none() {
            let own = self.ctx.output(op, t.shape);
            self.ctx.copy(&t.buffer, &own, t.bytes());
            *t = WgpuTensor::new(t.shape, own);
        }
    }

    /// Checks that `other` has `x`'s shape where the trait cannot return an
    /// error; a mismatch is reported by the next sync.
    fn expect_same(&self, op: &str, x: Shape, other: Shape) {
        if x != other {
            self.ctx.report(format!("{op}: {x} and {other}: shapes differ"));
        }
    }
}

impl Backend for Wgpu {
    type Elem = f32;
    type Tensor = WgpuTensor;
    type Indices = WgpuIndices;

    fn name(&self) -> String {
        self.adapter_summary()
    }

    fn upload(&self, shape: Shape, data: &[f32]) -> Result<WgpuTensor> {
        upload_rule(shape, data.len())?;
        Ok(WgpuTensor::new(shape, self.ctx.upload(shape, data)?))
    }

    fn download(&self, x: &WgpuTensor) -> Result<Vec<f32>> {
        readable(self, x)?;
        self.ctx.download(&x.buffer, x.bytes())
    }

    fn upload_indices(&self, indices: &[u32]) -> Result<WgpuIndices> {
        rows::upload_indices(self, indices)
    }

    fn flush(&self) -> Result<()> {
        self.ctx.flush()
    }

    fn sync(&self) -> Result<()> {
        self.ctx.sync()
    }

    fn fill(&self, shape: Shape, value: f64) -> WgpuTensor {
        let out = self.ctx.output("fill", shape);
        let params = FillParams { n: u(shape.numel()), value: value as f32 };
        self.ctx.dispatch(K::Fill, &params, &[&out], grid_1d(shape.numel()));
        WgpuTensor::new(shape, out)
    }

    fn random(&self, shape: Shape, d: Dist, seed: u64) -> WgpuTensor {
        let out = self.ctx.output("random", shape);
        // The 64-bit seed is folded to the shader's 32-bit key here, exactly
        // as the CPU does it.
        let key = rng::seed_key(seed);
        let (a, b, threshold) = match d {
            Dist::Uniform { lo, hi } => (lo, hi, 0),
            Dist::Normal { mean, std } => (mean, std, 0),
            Dist::Bernoulli { p } => (0.0, 0.0, bernoulli_threshold(p)),
        };
        let n = u(shape.numel());
        let (dist, a, b) = (dist_code(d), a as f32, b as f32);
        let params = RandomParams { n, dist, key, threshold, a, b };
        self.ctx.dispatch(K::Random, &params, &[&out], grid_1d(shape.numel()));
        WgpuTensor::new(shape, out)
    }

    fn matmul(
        &self,
        a: &WgpuTensor,
        transpose_a: bool,
        b: &WgpuTensor,
        transpose_b: bool,
    ) -> Result<WgpuTensor> {
        matmul(self, MatmulKernel::Auto, a, transpose_a, b, transpose_b)
    }

    fn transpose(&self, x: &WgpuTensor) -> WgpuTensor {
        let out = self.ctx.output("transpose", x.shape.t()); // [cols, rows]
        let params = TransposeParams { rows: u(x.shape.rows), cols: u(x.shape.cols) };
        self.ctx.dispatch(K::Transpose, &params, &[&x.buffer, &out], grid_1d(x.shape.numel()));
        WgpuTensor::new(x.shape.t(), out)
    }

    fn unary(&self, op: Unary, x: &WgpuTensor) -> WgpuTensor {
        let y = self.ctx.output("unary", x.shape);
        let params = unary_params(op, x.n());
        self.ctx.dispatch(K::UnaryForward, &params, &[&x.buffer, &y], grid_1d(x.shape.numel()));
        WgpuTensor::new(x.shape, y)
    }

    fn unary_backward(
        &self,
        op: Unary,
        x: &WgpuTensor,
        y: &WgpuTensor,
        dy: &WgpuTensor,
    ) -> WgpuTensor {
        self.expect_same("unary_backward", x.shape, y.shape);
        self.expect_same("unary_backward", x.shape, dy.shape);
        let dx = self.ctx.output("unary_backward", x.shape);
        let params = unary_params(op, x.n());
        // Bindings in the order of unary.wgsl: x, out (= dx), y, dy.
        let buffers = [&*x.buffer, &dx, &*y.buffer, &*dy.buffer];
        self.ctx.dispatch(K::UnaryBackward, &params, &buffers, grid_1d(x.shape.numel()));
        WgpuTensor::new(x.shape, dx)
    }

    fn binary(&self, op: Binary, a: &WgpuTensor, b: &WgpuTensor) -> Result<WgpuTensor> {
        let rule = broadcast_rule(binary_name(op), a.shape, b.shape)?;
        let out = self.ctx.output(binary_name(op), a.shape);
        let params = BinaryParams {
            rows: u(a.shape.rows),
            cols: u(a.shape.cols),
            op: binary_code(op),
            broadcast: broadcast_code(rule),
        };
        let grid = grid_1d(a.shape.numel());
        self.ctx.dispatch(K::Binary, &params, &[&a.buffer, &b.buffer, &out], grid);
        Ok(WgpuTensor::new(a.shape, out))
    }

    fn sum(&self, x: &WgpuTensor, axis: Option<Axis>) -> WgpuTensor {
        let shape = sum_shape(x.shape, axis);
        let out = self.ctx.output("sum", shape);
        let Shape { rows, cols } = x.shape;
        let params = SumParams { n: x.n(), rows: u(rows), cols: u(cols) };
        match axis {
            // One workgroup per column / per row (and per part of a long one).
            Some(Axis::Rows) => {
                let parts = rows.div_ceil(SUM_PER_WORKGROUP);
                if parts <= 1 {
                    self.ctx.dispatch(K::SumRows, &params, &[&x.buffer, &out], grid(cols));
                } else {
                    // Partial sums of `parts` stretches of each column,
                    // [parts, cols], then their sum: a buffer holds at most
                    // 2³⁰ f32s, so parts ≤ 1024 and one part suffices.
                    let partials = self.ctx.output("sum", Shape::new(parts, cols));
                    let [gx, gy, _] = grid(cols);
                    let buffers = [&*x.buffer, &partials];
                    self.ctx.dispatch(K::SumRows, &params, &buffers, [gx, gy, u(parts)]);
                    let pass2 = SumParams { n: u(parts * cols), rows: u(parts), cols: u(cols) };
                    self.ctx.dispatch(K::SumRows, &pass2, &[&partials, &out], grid(cols));
                }
            }
            Some(Axis::Cols) => {
                let parts = cols.div_ceil(SUM_PER_WORKGROUP);
                if parts <= 1 {
                    self.ctx.dispatch(K::SumCols, &params, &[&x.buffer, &out], grid(rows));
                } else {
                    let partials = self.ctx.output("sum", Shape::new(rows, parts));
                    let [gx, gy, _] = grid(rows);
                    let buffers = [&*x.buffer, &partials];
                    self.ctx.dispatch(K::SumCols, &params, &buffers, [gx, gy, u(parts)]);
                    let pass2 = SumParams { n: u(rows * parts), rows: u(rows), cols: u(parts) };
                    self.ctx.dispatch(K::SumCols, &pass2, &[&partials, &out], grid(rows));
                }
            }
            None => {
                // Pass 1: G workgroups each reduce a strided share of x to
                // one partial sum. G ≤ WORKGROUP_SIZE, so that pass 2, one
                // workgroup with one invocation per partial, finishes it.
                // A small sum is one pass of one workgroup: one dispatch
                // instead of two, each invocation adding at most 64 numbers.
                let wg = WORKGROUP_SIZE as usize;
                let n = x.shape.numel();
                let groups = if n <= ONE_PASS_SUM { 1 } else { n.div_ceil(wg).clamp(1, wg) as u32 };
                if groups == 1 {
                    self.ctx.dispatch(K::SumAll, &params, &[&x.buffer, &out], [1, 1, 1]);
                } else {
                    let partials = self.ctx.output("sum", Shape::new(1, groups as usize));
                    self.ctx.dispatch(K::SumAll, &params, &[&x.buffer, &partials], [groups, 1, 1]);
                    let pass2 = SumParams { n: groups, rows: 1, cols: groups };
                    self.ctx.dispatch(K::SumAll, &pass2, &[&partials, &out], [1, 1, 1]);
                }
            }
        }
        WgpuTensor::new(shape, out)
    }

    fn broadcast(&self, x: &WgpuTensor, shape: Shape) -> Result<WgpuTensor> {
        let rule = broadcast_to_rule(x.shape, shape)?;
        let out = self.ctx.try_output("broadcast", shape)?;
        let params = BroadcastParams {
            rows: u(shape.rows),
            cols: u(shape.cols),
            broadcast: broadcast_code(rule),
        };
        self.ctx.dispatch(K::Broadcast, &params, &[&x.buffer, &out], grid_1d(shape.numel()));
        Ok(WgpuTensor::new(shape, out))
    }

    fn concat_cols(&self, parts: &[&WgpuTensor]) -> Result<WgpuTensor> {
        let shapes: Vec<Shape> = parts.iter().map(|p| p.shape).collect();
        let shape = concat_cols_shape(&shapes)?;
        let out = self.ctx.try_output("concat_cols", shape)?;
        // One copy per part, each into its own block of columns.
        let mut start = 0;
        for p in parts {
            let params = CopyColsParams {
                rows: u(shape.rows),
                len: u(p.shape.cols),
                src_cols: u(p.shape.cols),
                src_start: 0,
                dst_cols: u(shape.cols),
                dst_start: u(start),
            };
            self.ctx.dispatch(K::CopyCols, &params, &[&p.buffer, &out], grid_1d(p.shape.numel()));
            start += p.shape.cols;
        }
        Ok(WgpuTensor::new(shape, out))
    }

    fn slice_cols(&self, x: &WgpuTensor, start: usize, len: usize) -> Result<WgpuTensor> {
        let shape = slice_cols_shape(x.shape, start, len)?;
        let out = self.ctx.output("slice_cols", shape);
        let params = CopyColsParams {
            rows: u(shape.rows),
            len: u(len),
            src_cols: u(x.shape.cols),
            src_start: u(start),
            dst_cols: u(len),
            dst_start: 0,
        };
        self.ctx.dispatch(K::CopyCols, &params, &[&x.buffer, &out], grid_1d(shape.numel()));
        Ok(WgpuTensor::new(shape, out))
    }

    fn concat_rows(&self, parts: &[&WgpuTensor]) -> Result<WgpuTensor> {
        let shapes: Vec<Shape> = parts.iter().map(|p| p.shape).collect();
        let shape = concat_rows_shape(&shapes)?;
        let out = self.ctx.try_output("concat_rows", shape)?;
        // Row-major, so each part is one block of the output: copied as a
        // single "row" of all its values, after the parts before it.
        let total = u(shape.numel());
        let mut start = 0;
        for p in parts {
            let params = CopyColsParams {
                rows: 1,
                len: p.n(),
                src_cols: p.n(),
                src_start: 0,
                dst_cols: total,
                dst_start: start,
            };
            self.ctx.dispatch(K::CopyCols, &params, &[&p.buffer, &out], grid_1d(p.shape.numel()));
            start += p.n();
        }
        Ok(WgpuTensor::new(shape, out))
    }

    fn slice_rows(&self, x: &WgpuTensor, start: usize, len: usize) -> Result<WgpuTensor> {
        let shape = slice_rows_shape(x.shape, start, len)?;
        let out = self.ctx.output("slice_rows", shape);
        // One "row" of `len · cols` values, from `start · cols` on.
        let params = CopyColsParams {
            rows: 1,
            len: u(shape.numel()),
            src_cols: x.n(),
            src_start: u(start * x.shape.cols),
            dst_cols: u(shape.numel()),
            dst_start: 0,
        };
        self.ctx.dispatch(K::CopyCols, &params, &[&x.buffer, &out], grid_1d(shape.numel()));
        Ok(WgpuTensor::new(shape, out))
    }

    // The row-wise ops are in `rows.rs`.

    fn gather_rows(&self, x: &WgpuTensor, idx: &WgpuIndices) -> Result<WgpuTensor> {
        rows::gather_rows(self, x, idx)
    }

    fn scatter_add_rows(
        &self,
        dy: &WgpuTensor,
        idx: &WgpuIndices,
        rows: usize,
    ) -> Result<WgpuTensor> {
        rows::scatter_add_rows(self, dy, idx, rows)
    }

    fn pick_cols(&self, x: &WgpuTensor, labels: &WgpuIndices) -> Result<WgpuTensor> {
        rows::pick_cols(self, x, labels)
    }

    fn scatter_cols(
        &self,
        dy: &WgpuTensor,
        labels: &WgpuIndices,
        cols: usize,
    ) -> Result<WgpuTensor> {
        rows::scatter_cols(self, dy, labels, cols)
    }

    fn logsumexp_rows(&self, x: &WgpuTensor) -> WgpuTensor {
        rows::logsumexp_rows(self, x)
    }

    fn max_rows(&self, x: &WgpuTensor) -> WgpuTensor {
        rows::max_rows(self, x)
    }

    fn max_rows_backward(&self, x: &WgpuTensor, dy: &WgpuTensor) -> Result<WgpuTensor> {
        rows::max_rows_backward(self, x, dy)
    }

    fn reshape(&self, x: &WgpuTensor, shape: Shape) -> Result<WgpuTensor> {
        let shape = reshape_shape(x.shape, shape)?;
        Ok(WgpuTensor { shape, buffer: x.buffer.clone() }) // the same buffer
    }

    // The convolutions are in `conv.rs`.

    fn conv2d(&self, x: &WgpuTensor, w: &WgpuTensor, g: &ConvGeometry) -> Result<WgpuTensor> {
        conv::conv2d(self, ConvKernel::Gemm, x, w, g)
    }

    fn conv2d_backward_input(
        &self,
        dy: &WgpuTensor,
        w: &WgpuTensor,
        g: &ConvGeometry,
    ) -> Result<WgpuTensor> {
        conv::conv2d_backward_input(self, ConvKernel::Gemm, dy, w, g)
    }

    fn conv2d_backward_weight(
        &self,
        x: &WgpuTensor,
        dy: &WgpuTensor,
        g: &ConvGeometry,
    ) -> Result<WgpuTensor> {
        conv::conv2d_backward_weight(self, ConvKernel::Gemm, x, dy, g)
    }

    fn sgd_step(
        &self,
        param: &mut WgpuTensor,
        grad: &WgpuTensor,
        velocity: &mut WgpuTensor,
        lr: f64,
        momentum: f64,
    ) -> Result<()> {
        same_shape("sgd_step", param.shape, grad.shape)?;
        same_shape("sgd_step", param.shape, velocity.shape)?;
        self.make_unique("sgd_step", param);
        self.make_unique("sgd_step", velocity);
        let params = SgdParams { n: param.n(), lr: lr as f32, momentum: momentum as f32 };
        let buffers = [&*grad.buffer, &*param.buffer, &*velocity.buffer];
        self.ctx.dispatch(K::Sgd, &params, &buffers, grid_1d(param.shape.numel()));
        Ok(())
    }

    fn adam_step(
        &self,
        param: &mut WgpuTensor,
        grad: &WgpuTensor,
        m: &mut WgpuTensor,
        v: &mut WgpuTensor,
        hp: AdamStep,
    ) -> Result<()> {
        for other in [grad.shape, m.shape, v.shape] {
            same_shape("adam_step", param.shape, other)?;
        }
        self.make_unique("adam_step", param);
        self.make_unique("adam_step", m);
        self.make_unique("adam_step", v);
        // The bias corrections 1 - βᵗ, in f64 then rounded, as the CPU does.
        let t = hp.t as i32;
        let params = AdamParams {
            n: param.n(),
            lr: hp.lr as f32,
            beta1: hp.beta1 as f32,
            beta2: hp.beta2 as f32,
            eps: hp.eps as f32,
            bc1: (1.0 - hp.beta1.powi(t)) as f32,
            bc2: (1.0 - hp.beta2.powi(t)) as f32,
        };
        let buffers = [&*grad.buffer, &*param.buffer, &*m.buffer, &*v.buffer];
        self.ctx.dispatch(K::Adam, &params, &buffers, grid_1d(param.shape.numel()));
        Ok(())
    }
    // The fused ops: one kernel each where the defaults run several (see
    // `fused.rs`).

    fn linear(
        &self,
        x: &WgpuTensor,
        w: &WgpuTensor,
        b: Option<&WgpuTensor>,
        act: Option<Unary>,
    ) -> Result<(WgpuTensor, WgpuTensor)> {
        fused::linear(self, x, w, b, act)
    }

    fn bias_act_backward(
        &self,
        act: Option<Unary>,
        z: &WgpuTensor,
        y: &WgpuTensor,
        dy: &WgpuTensor,
        bias: bool,
    ) -> Result<(WgpuTensor, Option<WgpuTensor>)> {
        fused::bias_act_backward(self, act, z, y, dy, bias)
    }

    fn matmul_pair(
        &self,
        first: Product<'_, WgpuTensor>,
        second: Product<'_, WgpuTensor>,
    ) -> Result<(WgpuTensor, WgpuTensor)> {
        fused::matmul_pair(self, first, second)
    }

    fn bce_with_logits(&self, x: &WgpuTensor, t: &WgpuTensor) -> Result<WgpuTensor> {
        fused::bce_with_logits(self, x, t)
    }

    fn bce_with_logits_backward(
        &self,
        x: &WgpuTensor,
        t: &WgpuTensor,
        g: &WgpuTensor,
    ) -> Result<WgpuTensor> {
        fused::bce_with_logits_backward(self, x, t, g)
    }

    fn adam_step_many<'a>(
        &self,
        tensors: impl IntoIterator<Item = AdamTensors<'a, WgpuTensor>>,
        hp: AdamStep,
    ) -> Result<()> {
        fused::adam_step_many(self, tensors, hp)
    }
}

/// Whether `x` can be read back: not if the op that made it found its
/// shape too large for this adapter and gave it a minimal buffer. Then that
/// op's error comes first, if it was not returned yet, else this one.
pub(crate) fn readable(gpu: &Wgpu, x: &WgpuTensor) -> Result<()> {
    if x.bytes() > x.buffer.size() {
        gpu.ctx.take_error()?;
        return Err(Error::Device(format!(
            "download: the tensor of shape {} has no storage: the op that made it failed \
             (see the error an earlier flush, sync or download returned)",
            x.shape
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_cover_every_element_within_the_dispatch_limit() {
        for n in [0usize, 1, 255, 256, 257, 65_535 * 256, 65_535 * 256 + 1, 1 << 30] {
            let [x, y, z] = grid_1d(n);
            assert!(x <= MAX_GROUPS_PER_DIM && y <= MAX_GROUPS_PER_DIM && z == 1);
            let invocations = x as usize * y as usize * WORKGROUP_SIZE as usize;
            assert!(invocations >= n, "{n}: {x} × {y}");
            // No more than one row of workgroups of overhang.
            assert!(invocations < n + x as usize * WORKGROUP_SIZE as usize + 1, "{n}");
        }
    }

    #[test]
    fn bernoulli_threshold_agrees_with_the_cpu_comparison() {
        // u < p  ⇔  bits24 < threshold, for bits24 around the threshold.
        for p in [0.0, 1e-9, 0.1, 0.3, 0.5, 0.7, 1.0 - 1e-12, 1.0, 1.5, -0.5, f64::NAN] {
            let t = bernoulli_threshold(p) as i64;
            for bits24 in (t - 2).max(0)..(t + 2).min(1 << 24) {
                let u = bits24 as f64 / 16_777_216.0;
                assert_eq!(u < p, bits24 < t, "p = {p}, bits24 = {bits24}");
            }
        }
    }
}
