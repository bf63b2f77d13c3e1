//! # minimax-cpu: the tuned CPU backend
//!
//! [`Cpu`] implements the same [`Backend`] as the plain reference
//! ([`minimax_autodiff::Reference`]), with the same definitions (each
//! elementwise `f` and `df`, the row kernels, SGD) and these for speed,
//! each tested against the reference (`tests/against_reference.rs`) or
//! against its own plain loop:
//!
//! - matmul: `f32` products go to the blocked SIMD path in [`gemm`], and
//!   outputs at most 8 wide to its narrow path (`gemm/narrow.rs`, the plain
//!   loop's bits); `f64` and small products run the plain loop;
//! - the elementwise loops run in a copy compiled with AVX-512 (else AVX2)
//!   when the CPU has it, chosen at run time (`simd.rs`: same operations,
//!   same bits), and short rows (a bias of 5) are worked a block of whole
//!   rows at a time;
//! - Adam folds its bias corrections into two constants ([`optim`]), and
//!   the multi-tensor `adam_step_many` updates unshared parameters in place,
//!   all tensors of one call split together across the threads;
//! - the fused ops (`linear`, `bias_act_backward`, `bce_with_logits` and its
//!   backward) are one pass each over memory (`fused.rs`), doing the
//!   trait's plain defaults' operations in the same order (the same bits,
//!   tested against `backend::plain_linear` and the others);
//! - the convolution and its two gradients unfold the image's patches
//!   (im2col) and run as matmuls on [`gemm`] (`conv.rs`, a block of images
//!   at a time, the unfolded patches in pool buffers);
//! - large products and elementwise kernels are split across threads
//!   ([`threads`]: `MINIMAX_THREADS`, default one per core), with the same
//!   bits for any thread count;
//! - e^x, tanh and σ in `f32` use the fast versions in [`approx`] (`f64`
//!   uses the reference's `f` unchanged), and so do the `f32` normal draws
//!   (their `ln` and `cos`);
//! - tensor buffers are recycled through a per-thread pool (`pool.rs`), so a
//!   training step in steady state allocates no tensor storage.
//!
//! ```
//! use minimax_autodiff::{Backend, Shape, Tape};
//! use minimax_cpu::Cpu;
//!
//! // y = x² + 5x  =>  dy/dx = 2x + 5 = 11 at x = 3
//! let be = Cpu::<f32>::new();
//! let tape = Tape::new(be);
//! let x = tape.leaf(be.upload(Shape::scalar(), &[3.0]).unwrap());
//! let y = x.square().add(&x.mul_scalar(5.0)).unwrap();
//! let grads = tape.backward(&y).unwrap();
//! assert_eq!(be.download(grads.get(&x).unwrap()).unwrap(), vec![11.0]);
//! ```

pub mod approx;
pub mod conv;
mod fused;
pub mod gemm;
pub mod optim;
mod pool;
mod simd;
pub mod threads;
pub mod unary;

use minimax_autodiff::backend::{
    binary_name, broadcast_rule, broadcast_to_rule, concat_cols_shape, concat_rows_shape,
    conv2d_backward_input_shape, conv2d_backward_weight_shape, conv2d_shape, gather_rows_shape,
    linear_shape, logsumexp_rows_shape, matmul_shape, max_rows_backward_shape, max_rows_shape,
    pick_cols_shape, plain_bias_act_backward, reshape_shape, same_shape, scatter_add_rows_shape,
    scatter_cols_shape, slice_cols_shape, slice_rows_shape, sum_shape, upload_rule, Broadcast,
};
use minimax_autodiff::reference::{optim::sgd, rows};
use minimax_autodiff::{
    rng, shape_error, AdamStep, AdamTensors, Axis, Backend, Binary, ConvGeometry, Dist, Error,
    HostIndices, Real, Result, Shape, TensorShape, Unary,
};
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::sync::Arc;

/// The CPU backend for element type `T` (`f32` or `f64`). Holds no state.
#[derive(Debug, Default)]
pub struct Cpu<T>(PhantomData<T>);

impl<T> Cpu<T> {
    /// The CPU backend.
    pub const fn new() -> Self {
        Cpu(PhantomData)
    }
}

impl<T> Clone for Cpu<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Cpu<T> {}

/// A tensor in host memory: a shape and a shared, row-major buffer.
///
/// Clones share the buffer; the optimizers write through
/// [`Arc::make_mut`], which copies only if the buffer is shared. When the
/// last tensor holding a buffer is dropped, the buffer is kept for reuse
/// (see `pool.rs`).
#[derive(Clone, Debug, PartialEq)]
pub struct CpuTensor<T: Real> {
    shape: Shape,
    /// `ManuallyDrop` so that `drop` can move the buffer out to the pool
    /// without putting a placeholder `Arc` in its place (two atomic
    /// operations per tensor, in a step of many tiny ones).
    data: ManuallyDrop<Arc<Vec<T>>>,
}

impl<T: Real> Drop for CpuTensor<T> {
    fn drop(&mut self) {
        // SAFETY: `self.data` is not used again: the tensor is being dropped.
        pool::give_back(unsafe { ManuallyDrop::take(&mut self.data) });
    }
}

impl<T: Real> CpuTensor<T> {
    /// A tensor from a shape and row-major data.
    pub fn new(shape: Shape, data: Vec<T>) -> Result<Self> {
        if data.len() != shape.checked_numel("tensor")? {
            return Err(Error::DataLength { op: "tensor", shape, got: data.len() });
        }
        Ok(CpuTensor { shape, data: ManuallyDrop::new(Arc::new(data)) })
    }

    /// The row-major data.
    pub fn data(&self) -> &[T] {
        &self.data
    }

    /// Element `(i, j)`.
    pub fn at(&self, i: usize, j: usize) -> T {
        self.data[i * self.shape.cols + j]
    }

    /// A tensor of `shape` whose elements `write` sets, every one of them:
    /// the buffer comes from the pool and holds old values until then.
    ///
    /// Panics for a shape of more than [`Shape::MAX_NUMEL`] elements (see
    /// [`Backend::fill`]); the ops that can return an error refuse it first.
    fn build(shape: Shape, write: impl FnOnce(&mut [T])) -> Self {
        checked_or_panic("CpuTensor", shape);
        let mut data = pool::take(shape.numel());
        write(Arc::make_mut(&mut data).as_mut_slice()); // unshared: never copies
        CpuTensor { shape, data: ManuallyDrop::new(data) }
    }
}

impl<T: Real> TensorShape for CpuTensor<T> {
    fn shape(&self) -> Shape {
        self.shape
    }
}

impl<T: Real> Backend for Cpu<T> {
    type Elem = T;
    type Tensor = CpuTensor<T>;
    type Indices = HostIndices;

    fn name(&self) -> String {
        format!("cpu-{}", T::NAME)
    }

    fn upload(&self, shape: Shape, data: &[T]) -> Result<CpuTensor<T>> {
        upload_rule(shape, data.len())?;
        Ok(CpuTensor::build(shape, |out| out.copy_from_slice(data)))
    }

    fn download(&self, x: &CpuTensor<T>) -> Result<Vec<T>> {
        Ok(x.data.to_vec())
    }

    fn upload_indices(&self, indices: &[u32]) -> Result<HostIndices> {
        Ok(HostIndices::new(indices))
    }

    fn fill(&self, shape: Shape, value: f64) -> CpuTensor<T> {
        checked_or_panic("fill", shape);
        CpuTensor::build(shape, |out| out.fill(T::from_f64(value)))
    }

    fn random(&self, shape: Shape, dist: Dist, seed: u64) -> CpuTensor<T> {
        checked_or_panic("random", shape);
        let key = rng::seed_key(seed);
        if let (Dist::Normal { mean, std }, true) = (dist, unary::is_f32::<T>()) {
            // f32: the same Box–Muller draw in f32 arithmetic with the fast
            // ln and cos, which vectorise (libm's f64 ones do not).
            let (mean, std) = (mean as f32, std as f32);
            return CpuTensor::build(shape, |out| {
                simd::vectorized(
                    #[inline(always)]
                    move || {
                        for (i, o) in out.iter_mut().enumerate() {
                            let z = normal_f32(key, i as u32);
                            *o = T::from_f64((mean + std * z) as f64); // exact: T is f32
                        }
                    },
                )
            });
        }
        // One loop per distribution, compiled with the CPU's SIMD: the hash
        // and the f64 arithmetic vectorise (a `match` inside the loop would
        // keep it scalar).
        CpuTensor::build(shape, |out| {
            simd::vectorized(
                #[inline(always)]
                || match dist {
                    Dist::Uniform { lo, hi } => {
                        for (i, o) in out.iter_mut().enumerate() {
                            *o = T::from_f64(lo + (hi - lo) * rng::uniform(key, i as u32));
                        }
                    }
                    Dist::Bernoulli { p } => {
                        for (i, o) in out.iter_mut().enumerate() {
                            *o = T::from_f64((rng::uniform(key, i as u32) < p) as u8 as f64);
                        }
                    }
                    // f64 only (f32 took the branch above): libm's ln and cos.
                    Dist::Normal { mean, std } => {
                        for (i, o) in out.iter_mut().enumerate() {
                            *o = T::from_f64(mean + std * rng::normal(key, i as u32));
                        }
                    }
                },
            )
        })
    }

    fn matmul(
        &self,
        a: &CpuTensor<T>,
        transpose_a: bool,
        b: &CpuTensor<T>,
        transpose_b: bool,
    ) -> Result<CpuTensor<T>> {
        let out = matmul_shape(a.shape, transpose_a, b.shape, transpose_b)?;
        let k = if transpose_a { a.shape.rows } else { a.shape.cols };
        // Both matmul paths write every element of `c` (neither accumulates
        // into it), so a recycled buffer from the pool is safe here.
        Ok(CpuTensor::build(out, |c| {
            gemm::matmul(&a.data, transpose_a, &b.data, transpose_b, c, out.rows, k, out.cols)
        }))
    }

    fn transpose(&self, x: &CpuTensor<T>) -> CpuTensor<T> {
        let Shape { rows, cols } = x.shape;
        // out[j, i] = x[i, j]; out is [cols, rows].
        CpuTensor::build(x.shape.t(), |out| {
            for i in 0..rows {
                for j in 0..cols {
                    out[j * rows + i] = x.data[i * cols + j];
                }
            }
        })
    }

    fn unary(&self, op: Unary, x: &CpuTensor<T>) -> CpuTensor<T> {
        CpuTensor::build(x.shape, |out| {
            elementwise([out], 1, |at, [out]| {
                let x = &x.data[at..at + out.len()];
                simd::vectorized(
                    #[inline(always)]
                    || unary::forward(op, x, out),
                )
            })
        })
    }

    fn unary_backward(
        &self,
        op: Unary,
        x: &CpuTensor<T>,
        y: &CpuTensor<T>,
        dy: &CpuTensor<T>,
    ) -> CpuTensor<T> {
        CpuTensor::build(x.shape, |dx| {
            elementwise([dx], 1, |at, [dx]| {
                let range = at..at + dx.len();
                let (x, y, dy) = (&x.data[range.clone()], &y.data[range.clone()], &dy.data[range]);
                simd::vectorized(
                    #[inline(always)]
                    || unary::backward(op, x, y, dy, dx),
                )
            })
        })
    }

    fn binary(&self, op: Binary, a: &CpuTensor<T>, b: &CpuTensor<T>) -> Result<CpuTensor<T>> {
        let rule = broadcast_rule(binary_name(op), a.shape, b.shape)?;
        let (a_shape, cols) = (a.shape, a.shape.cols);
        if a_shape.numel() == 0 {
            return Ok(CpuTensor::build(a_shape, |_| {})); // nothing to compute (nor to divide by)
        }
        let (a, b) = (&a.data[..], &b.data[..]);
        // Parts of whole rows when `b` is a row or a column.
        let unit = match rule {
            Broadcast::Row | Broadcast::Col => cols,
            Broadcast::Same | Broadcast::Scalar => 1,
        };
        Ok(CpuTensor::build(a_shape, |out| {
            elementwise([out], unit, |at, [out]| {
                let a = &a[at..at + out.len()];
                let b = match rule {
                    Broadcast::Same => &b[at..at + out.len()],
                    Broadcast::Col => &b[at / cols..(at + out.len()) / cols],
                    Broadcast::Row | Broadcast::Scalar => b,
                };
                simd::vectorized(
                    #[inline(always)]
                    || match op {
                        Binary::Add => binary_loop(a, b, out, cols, rule, |x, y| x + y),
                        Binary::Sub => binary_loop(a, b, out, cols, rule, |x, y| x - y),
                        Binary::Mul => binary_loop(a, b, out, cols, rule, |x, y| x * y),
                        Binary::Div => binary_loop(a, b, out, cols, rule, |x, y| x / y),
                    },
                )
            })
        }))
    }

    /// In place when `acc`'s buffer is unshared (a gradient the tape made
    /// and holds alone): `acc[i] += g[i]`, the `acc[i] + g[i]` of `binary`,
    /// so the same bits, without a third buffer.
    fn accumulate(&self, mut acc: CpuTensor<T>, g: &CpuTensor<T>) -> Result<CpuTensor<T>> {
        let Some(sums) = Arc::get_mut(&mut acc.data).filter(|_| acc.shape == g.shape) else {
            return self.binary(Binary::Add, &acc, g); // shared, or not one shape
        };
        elementwise([sums.as_mut_slice()], 1, |at, [sums]| {
            let g = &g.data[at..at + sums.len()];
            simd::vectorized(
                #[inline(always)]
                || sums.iter_mut().zip(g).for_each(|(s, &g)| *s += g),
            )
        });
        Ok(acc)
    }

    fn sum(&self, x: &CpuTensor<T>, axis: Option<Axis>) -> CpuTensor<T> {
        let cols = x.shape.cols;
        // Whole rows and columns are summed by `sum_all`; a sum over the rows
        // of a matrix adds the rows up with `sum_rows`.
        CpuTensor::build(sum_shape(x.shape, axis), |out| {
            simd::vectorized(
                #[inline(always)]
                || match axis {
                    None => out[0] = sum_all(&x.data),
                    Some(Axis::Rows) if cols == 1 => out[0] = sum_all(&x.data), // a column
                    Some(Axis::Rows) => sum_rows(&x.data, cols, out),
                    Some(Axis::Cols) if cols == 0 => out.fill(T::zero()), // rows of nothing
                    Some(Axis::Cols) => {
                        let rows = x.data.chunks_exact(cols);
                        out.iter_mut().zip(rows).for_each(|(o, row)| *o = sum_all(row))
                    }
                },
            )
        })
    }

    fn broadcast(&self, x: &CpuTensor<T>, shape: Shape) -> Result<CpuTensor<T>> {
        let rule = broadcast_to_rule(x.shape, shape)?;
        // out[i, j] = x[i, j], x[0, j], x[i, 0] or x[0, 0].
        Ok(CpuTensor::build(shape, |out| {
            let cols = shape.cols.max(1);
            match rule {
                Broadcast::Same => out.copy_from_slice(&x.data),
                Broadcast::Row => {
                    out.chunks_exact_mut(cols).for_each(|row| row.copy_from_slice(&x.data))
                }
                Broadcast::Col => {
                    out.chunks_exact_mut(cols).zip(x.data.iter()).for_each(|(row, &v)| row.fill(v))
                }
                Broadcast::Scalar => out.fill(x.data[0]),
            }
        }))
    }

    fn concat_cols(&self, parts: &[&CpuTensor<T>]) -> Result<CpuTensor<T>> {
        // `concat_cols_shape` on each part beside the first: the same checks
        // and errors as on all the shapes at once, without collecting them.
        let shape = match parts {
            [] => concat_cols_shape(&[])?,
            [first, rest @ ..] => rest.iter().try_fold(first.shape, |joined, p| {
                concat_cols_shape(&[first.shape, p.shape])?;
                concat_cols_shape(&[joined, p.shape]) // the size so far, checked
            })?,
        };
        Ok(CpuTensor::build(shape, |out| {
            // Row i of the output is row i of each part, side by side.
            let mut at = 0;
            for i in 0..shape.rows {
                for p in parts {
                    let c = p.shape.cols;
                    out[at..at + c].copy_from_slice(&p.data[i * c..(i + 1) * c]);
                    at += c;
                }
            }
        }))
    }

    fn slice_cols(&self, x: &CpuTensor<T>, start: usize, len: usize) -> Result<CpuTensor<T>> {
        let shape = slice_cols_shape(x.shape, start, len)?;
        let cols = x.shape.cols;
        Ok(CpuTensor::build(shape, |out| {
            for (i, row) in out.chunks_exact_mut(len).enumerate() {
                row.copy_from_slice(&x.data[i * cols + start..i * cols + start + len]);
            }
        }))
    }

    fn concat_rows(&self, parts: &[&CpuTensor<T>]) -> Result<CpuTensor<T>> {
        let shape = match parts {
            [] => concat_rows_shape(&[])?,
            [first, rest @ ..] => rest.iter().try_fold(first.shape, |joined, p| {
                concat_rows_shape(&[first.shape, p.shape])?;
                concat_rows_shape(&[joined, p.shape])
            })?,
        };
        // Row-major: the parts' values, one after the other.
        Ok(CpuTensor::build(shape, |out| {
            let mut at = 0;
            for p in parts {
                out[at..at + p.data.len()].copy_from_slice(&p.data);
                at += p.data.len();
            }
        }))
    }

    fn slice_rows(&self, x: &CpuTensor<T>, start: usize, len: usize) -> Result<CpuTensor<T>> {
        let shape = slice_rows_shape(x.shape, start, len)?;
        let c = x.shape.cols;
        Ok(CpuTensor::build(shape, |out| {
            out.copy_from_slice(&x.data[start * c..(start + len) * c])
        }))
    }

    fn gather_rows(&self, x: &CpuTensor<T>, idx: &HostIndices) -> Result<CpuTensor<T>> {
        let shape = gather_rows_shape(x.shape, idx)?; // [n, cols]
        Ok(CpuTensor::build(shape, |out| rows::gather_rows(&x.data, shape.cols, idx.data(), out)))
    }

    fn scatter_add_rows(
        &self,
        dy: &CpuTensor<T>,
        idx: &HostIndices,
        rows: usize,
    ) -> Result<CpuTensor<T>> {
        let shape = scatter_add_rows_shape(dy.shape, idx, rows)?; // [rows, cols]
        Ok(CpuTensor::build(shape, |out| {
            rows::scatter_add_rows(&dy.data, shape.cols, idx.data(), out)
        }))
    }

    fn pick_cols(&self, x: &CpuTensor<T>, labels: &HostIndices) -> Result<CpuTensor<T>> {
        let shape = pick_cols_shape(x.shape, labels)?; // [n, 1]
        Ok(CpuTensor::build(shape, |out| {
            rows::pick_cols(&x.data, x.shape.cols, labels.data(), out)
        }))
    }

    fn scatter_cols(
        &self,
        dy: &CpuTensor<T>,
        labels: &HostIndices,
        cols: usize,
    ) -> Result<CpuTensor<T>> {
        let shape = scatter_cols_shape(dy.shape, labels, cols)?; // [n, cols]
        Ok(CpuTensor::build(shape, |out| rows::scatter_cols(&dy.data, cols, labels.data(), out)))
    }

    fn logsumexp_rows(&self, x: &CpuTensor<T>) -> CpuTensor<T> {
        let shape = logsumexp_rows_shape(x.shape); // [n, 1]
        CpuTensor::build(shape, |out| rows::logsumexp_rows(&x.data, x.shape.cols, out))
    }

    // The maximum and its adjoint: the reference's loops, as they are (one
    // comparison per element, nothing to tune).
    fn max_rows(&self, x: &CpuTensor<T>) -> CpuTensor<T> {
        let shape = max_rows_shape(x.shape); // [n, 1]
        CpuTensor::build(shape, |out| rows::max_rows(&x.data, x.shape.cols, out))
    }

    fn max_rows_backward(&self, x: &CpuTensor<T>, dy: &CpuTensor<T>) -> Result<CpuTensor<T>> {
        let shape = max_rows_backward_shape(x.shape, dy.shape)?; // [n, k]
        Ok(CpuTensor::build(shape, |dx| rows::max_rows_backward(&x.data, &dy.data, shape.cols, dx)))
    }

    fn reshape(&self, x: &CpuTensor<T>, shape: Shape) -> Result<CpuTensor<T>> {
        let shape = reshape_shape(x.shape, shape)?;
        Ok(CpuTensor { shape, data: x.data.clone() }) // the same buffer
    }

    fn conv2d(&self, x: &CpuTensor<T>, w: &CpuTensor<T>, g: &ConvGeometry) -> Result<CpuTensor<T>> {
        let shape = conv2d_shape(x.shape, w.shape, g)?; // [batch, C_out·OH·OW]
        Ok(CpuTensor::build(shape, |y| conv::conv2d(&x.data, &w.data, y, x.shape.rows, g)))
    }

    fn conv2d_backward_input(
        &self,
        dy: &CpuTensor<T>,
        w: &CpuTensor<T>,
        g: &ConvGeometry,
    ) -> Result<CpuTensor<T>> {
        let shape = conv2d_backward_input_shape(dy.shape, w.shape, g)?; // [batch, C_in·H·W]
        Ok(CpuTensor::build(shape, |dx| {
            conv::conv2d_backward_input(&dy.data, &w.data, dx, dy.shape.rows, g)
        }))
    }

    fn conv2d_backward_weight(
        &self,
        x: &CpuTensor<T>,
        dy: &CpuTensor<T>,
        g: &ConvGeometry,
    ) -> Result<CpuTensor<T>> {
        let shape = conv2d_backward_weight_shape(x.shape, dy.shape, g)?; // [C_out, C_in·k·k]
        Ok(CpuTensor::build(shape, |dw| {
            conv::conv2d_backward_weight(&x.data, &dy.data, dw, x.shape.rows, g)
        }))
    }

    fn sgd_step(
        &self,
        param: &mut CpuTensor<T>,
        grad: &CpuTensor<T>,
        velocity: &mut CpuTensor<T>,
        lr: f64,
        momentum: f64,
    ) -> Result<()> {
        same_shape("sgd_step", param.shape, grad.shape)?;
        same_shape("sgd_step", param.shape, velocity.shape)?;
        let (lr, mu) = (T::from_f64(lr), T::from_f64(momentum));
        let v = Arc::make_mut(&mut velocity.data);
        let (p, g) = (&param.data[..], &grad.data[..]);
        // The parameter is written out of place (see `updated`).
        *param = updated(param, |p_new| {
            elementwise([p_new, v], 1, |at, [p_new, v]| {
                let range = at..at + p_new.len();
                let (p, g) = (&p[range.clone()], &g[range]);
                simd::vectorized(
                    #[inline(always)]
                    || sgd(lr, mu, p, g, v, p_new),
                )
            })
        });
        Ok(())
    }

    fn adam_step(
        &self,
        param: &mut CpuTensor<T>,
        grad: &CpuTensor<T>,
        m: &mut CpuTensor<T>,
        v: &mut CpuTensor<T>,
        hp: AdamStep,
    ) -> Result<()> {
        for other in [grad.shape, m.shape, v.shape] {
            same_shape("adam_step", param.shape, other)?;
        }
        let consts = optim::AdamConsts::new(hp);
        let (m, v) = (Arc::make_mut(&mut m.data), Arc::make_mut(&mut v.data));
        let (p, g) = (&param.data[..], &grad.data[..]);
        // The parameter is written out of place (see `updated`).
        *param = updated(param, |p_new| {
            elementwise([p_new, m, v], 1, |at, [p_new, m, v]| {
                let range = at..at + p_new.len();
                let (p, g) = (&p[range.clone()], &g[range]);
                simd::vectorized(
                    #[inline(always)]
                    || optim::adam(&consts, p, g, m, v, p_new),
                )
            })
        });
        Ok(())
    }

    // The fused ops: one pass each where the plain defaults make several
    // (`fused.rs`; the same operations in the same order, so the same bits).

    fn linear(
        &self,
        x: &CpuTensor<T>,
        w: &CpuTensor<T>,
        b: Option<&CpuTensor<T>>,
        act: Option<Unary>,
    ) -> Result<(CpuTensor<T>, CpuTensor<T>)> {
        let out = linear_shape(x.shape, w.shape, b.map(|b| b.shape))?; // [batch, out]
        let mut z = self.matmul(x, false, w, false)?; // x · w, [batch, out]
        let cols = out.cols;
        let bias = b.map(|b| &b.data[..]); // [1, out]
                                           // `z` was just made: its buffer is unshared, so this never copies.
        let zs = Arc::make_mut(&mut z.data).as_mut_slice();
        match (bias, act) {
            (None, None) => {}
            (Some(bias), None) => elementwise([zs], cols, |_, [z]| {
                simd::vectorized(
                    #[inline(always)]
                    || fused::add_row_in_place(z, bias, cols),
                )
            }),
            (bias, Some(op)) => {
                // z += b and y = f(z), a chunk of rows at a time.
                let y = CpuTensor::build(out, |y| {
                    elementwise([zs, y], cols, |_, [z, y]| {
                        simd::vectorized(
                            #[inline(always)]
                            || fused::bias_act(z, bias, op, y, cols),
                        )
                    })
                });
                return Ok((z, y));
            }
        }
        let y = z.clone(); // the identity: y is z
        Ok((z, y))
    }

    fn bias_act_backward(
        &self,
        act: Option<Unary>,
        z: &CpuTensor<T>,
        y: &CpuTensor<T>,
        dy: &CpuTensor<T>,
        bias: bool,
    ) -> Result<(CpuTensor<T>, Option<CpuTensor<T>>)> {
        for other in [y.shape, dy.shape] {
            if other != z.shape {
                return Err(shape_error(
                    "bias_act_backward",
                    z.shape,
                    other,
                    "z, y and dy must have one shape",
                ));
            }
        }
        let cols = z.shape.cols;
        let parts = threads::threads().min(z.shape.numel() / ELEMENTWISE_PER_THREAD).max(1);
        // The plain path where there is nothing to fuse (no activation, or
        // no bias), for a column (whose sum takes `sum_all`'s order), and
        // where the activation's backward is split across threads (the
        // column sums then run once over the whole of `dz`, in one order).
        let Some(op) = act.filter(|_| bias && cols > 1 && parts == 1) else {
            return plain_bias_act_backward(self, act, z, y, dy, bias);
        };
        let mut db = None;
        let dz = CpuTensor::build(z.shape, |dz| {
            // [batch, out] and [1, out]
            db = Some(CpuTensor::build(Shape::new(1, cols), |db| {
                simd::vectorized(
                    #[inline(always)]
                    || fused::act_backward_and_bias(op, &z.data, &y.data, &dy.data, dz, db, cols),
                )
            }));
        });
        Ok((dz, db))
    }

    fn bce_with_logits(&self, x: &CpuTensor<T>, t: &CpuTensor<T>) -> Result<CpuTensor<T>> {
        let rule = broadcast_rule("bce_with_logits", x.shape, t.shape)?;
        let loss = fused::bce_with_logits(&x.data, &t.data, x.shape.cols, rule);
        Ok(CpuTensor::build(Shape::scalar(), |out| out[0] = loss)) // [1, 1]
    }

    fn bce_with_logits_backward(
        &self,
        x: &CpuTensor<T>,
        t: &CpuTensor<T>,
        g: &CpuTensor<T>,
    ) -> Result<CpuTensor<T>> {
        let rule = broadcast_rule("bce_with_logits", x.shape, t.shape)?;
        if !g.shape.is_scalar() {
            return Err(shape_error(
                "bce_with_logits_backward",
                x.shape,
                g.shape,
                "the loss's gradient must be a scalar [1, 1]",
            ));
        }
        let g = g.data[0];
        Ok(CpuTensor::build(x.shape, |dx| {
            fused::bce_with_logits_backward(&x.data, &t.data, g, x.shape.cols, rule, dx)
        }))
    }

    fn adam_step_many<'a>(
        &self,
        tensors: impl IntoIterator<Item = AdamTensors<'a, CpuTensor<T>>>,
        hp: AdamStep,
    ) -> Result<()>
    where
        CpuTensor<T>: 'a,
    {
        let consts = optim::AdamConsts::new(hp);
        let mut batch = AdamBatch::new();
        for AdamTensors { param, grad, m, v } in tensors {
            for other in [grad.shape, m.shape, v.shape] {
                if let Err(e) = same_shape("adam_step", param.shape, other) {
                    batch.run(&consts); // the tensors before it are updated, as one by one
                    return Err(e);
                }
            }
            if Arc::get_mut(&mut param.data).is_none() {
                // Shared (a tape still holds it): written out of place, as
                // `adam_step` does, rather than copied and then updated.
                self.adam_step(param, grad, m, v, hp)?;
                continue;
            }
            let p = Arc::make_mut(&mut param.data); // unshared: never copies
            let (m, v) = (Arc::make_mut(&mut m.data), Arc::make_mut(&mut v.data));
            batch.push(AdamSlices {
                p: p.as_mut_ptr(),
                g: grad.data.as_ptr(),
                m: m.as_mut_ptr(),
                v: v.as_mut_ptr(),
                len: p.len(),
            });
            if batch.len == ADAM_BATCH {
                batch.run(&consts);
            }
        }
        batch.run(&consts);
        Ok(())
    }
}

/// Tensors per batch of [`Backend::adam_step_many`] on the CPU: an
/// optimizer with more runs in several batches (on the stack, so an update
/// allocates nothing).
const ADAM_BATCH: usize = 32;

/// Elements per thread (all the batch's tensors together) from which an
/// Adam update is split across threads: the elementwise kernels' threshold.
/// Provisional: on the 2-core machine it was measured on (`BENCHMARKS.md`,
/// "Issue 13"), two threads beat one at no size.
const ADAM_PER_THREAD: usize = ELEMENTWISE_PER_THREAD;

/// Elements of one part of a threaded Adam update: parts are claimed one at
/// a time by the threads (see `threads.rs`), across all the tensors of a
/// batch. A multiple of 16 (a cache line of `f32`).
const ADAM_PART: usize = 1 << 14;

/// One tensor of an in-place Adam update: its parameter, gradient and
/// moments, `len` elements each, as raw parts so a batch of them can be
/// shared by the threads.
#[derive(Clone, Copy)]
struct AdamSlices<T> {
    p: *mut T,
    g: *const T,
    m: *mut T,
    v: *mut T,
    len: usize,
}

/// Up to [`ADAM_BATCH`] tensors waiting for their update.
struct AdamBatch<T> {
    items: [Option<AdamSlices<T>>; ADAM_BATCH],
    len: usize,
}

// SAFETY: the pointers are only dereferenced by `AdamBatch::run`, into
// disjoint element ranges (each range of each tensor by one part), of
// buffers that `adam_step_many` borrows mutably (`p`, `m`, `v`, unshared)
// or shared (`g`) for as long as the batch lives.
unsafe impl<T: Send> Sync for AdamBatch<T> {}

impl<T: Real> AdamBatch<T> {
    fn new() -> Self {
        AdamBatch { items: [None; ADAM_BATCH], len: 0 }
    }

    fn push(&mut self, item: AdamSlices<T>) {
        self.items[self.len] = Some(item);
        self.len += 1;
    }

    /// Updates every tensor of the batch in place and empties it: split into
    /// parts of [`ADAM_PART`] elements across the threads when the batch
    /// holds at least [`ADAM_PER_THREAD`] elements per thread, else
    /// one after the other on this thread. Each element is updated on its
    /// own, so the split does not change a bit.
    fn run(&mut self, k: &optim::AdamConsts<T>) {
        let items = &self.items[..self.len];
        // SAFETY (both closures): see the `Sync` impl; `part` covers
        // `start .. start + len` of one tensor, inside its `len` elements.
        let update = |s: &AdamSlices<T>, start: usize, len: usize| unsafe {
            let p = std::slice::from_raw_parts_mut(s.p.add(start), len);
            let g = std::slice::from_raw_parts(s.g.add(start), len);
            let m = std::slice::from_raw_parts_mut(s.m.add(start), len);
            let v = std::slice::from_raw_parts_mut(s.v.add(start), len);
            simd::vectorized(
                #[inline(always)]
                || optim::adam_in_place(k, p, g, m, v),
            )
        };
        let total: usize = items.iter().flatten().map(|s| s.len).sum();
        let threads = threads::threads().min(total / ADAM_PER_THREAD);
        if threads <= 1 {
            items.iter().flatten().for_each(|s| update(s, 0, s.len));
        } else {
            let parts: usize = items.iter().flatten().map(|s| s.len.div_ceil(ADAM_PART)).sum();
            let this = &*self;
            threads::run_parts(parts, &|mut i| {
                // Part i: the tensor whose parts it falls in, and where.
                for s in this.items[..this.len].iter().flatten() {
                    let here = s.len.div_ceil(ADAM_PART);
                    if i < here {
                        let start = i * ADAM_PART;
                        return update(s, start, ADAM_PART.min(s.len - start));
                    }
                    i -= here;
                }
            });
        }
        self.items = [None; ADAM_BATCH];
        self.len = 0;
    }
}

/// [`rng::normal`] in `f32` arithmetic: `z = √(-2 ln u₁) · cos(2π u₂)`
/// with the same two 24-bit uniforms (exact in `f32`), and
/// [`approx::ln`] and [`approx::cos_turns`] (≤ 1 ulp and 1e-7 absolute).
#[inline(always)]
fn normal_f32(key: u32, i: u32) -> f32 {
    // rng::uniform has 24 random bits: exact in f32.
    let uniform = |j: u32| rng::uniform(key, j) as f32;
    let u1 = 1.0 - uniform(i.wrapping_mul(2)); // in (0, 1]
    let u2 = uniform(i.wrapping_mul(2).wrapping_add(1)); // in [0, 1)
    (-2.0 * approx::ln(u1)).sqrt() * approx::cos_turns(u2)
}

/// Panics, naming `op`, if `shape` holds more than [`Shape::MAX_NUMEL`]
/// elements: for the methods that cannot return the error (see
/// [`Backend::fill`]), rather than overflow or abort on the allocation.
fn checked_or_panic(op: &'static str, shape: Shape) {
    if let Err(e) = shape.checked_numel(op) {
        panic!("{e}");
    }
}

/// A parameter's new value, written by `write` into a fresh buffer from the
/// pool rather than in place: while a step's tape is alive, the parameter's
/// buffer is shared with its leaf (and with backward closures), and writing
/// in place would first copy it (`Arc::make_mut`). The old buffer goes back
/// to the pool when the tape is dropped, for the next step's update.
fn updated<T: Real>(param: &CpuTensor<T>, write: impl FnOnce(&mut [T])) -> CpuTensor<T> {
    CpuTensor::build(param.shape, write)
}

/// Elements per thread from which an elementwise kernel is split across
/// threads: below it, handing half of the work to a worker costs more than
/// it saves (measured with `cargo bench --bench elementwise`, see
/// `BENCHMARKS.md`).
pub const ELEMENTWISE_PER_THREAD: usize = 1 << 15;

/// Runs an elementwise kernel `f(start, parts)` over `N` output slices of
/// one length, split into one part per thread when there is enough work
/// ([`ELEMENTWISE_PER_THREAD`]), each part a multiple of `unit` elements
/// (a row, for kernels that walk whole rows) and of 16 (a cache line of
/// `f32`). Each element's value does not depend on the split.
#[inline]
fn elementwise<T: Real, const N: usize>(
    outs: [&mut [T]; N],
    unit: usize,
    f: impl Fn(usize, [&mut [T]; N]) + Sync,
) {
    let len = outs.first().map_or(0, |o| o.len());
    let parts = threads::threads().min(len / ELEMENTWISE_PER_THREAD).max(1);
    if parts == 1 {
        return f(0, outs);
    }
    let unit = unit.max(1);
    let step = unit * 16 / gcd(unit, 16); // the least common multiple
    threads::run_parts_mut(outs, len.div_ceil(parts).next_multiple_of(step), f);
}

/// The greatest common divisor.
fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Rows shorter than this are repeated to fill a block of about this many
/// elements before a row-wise loop runs over them (see [`binary_loop`] and
/// [`sum_rows`]).
const BLOCK: usize = 64;

/// The length of a block of whole rows of `cols` elements: as many rows as
/// fit in [`BLOCK`] elements.
#[inline(always)]
fn block_len(cols: usize) -> usize {
    (BLOCK / cols) * cols
}

/// `row` repeated to fill whole rows of a block of at most [`BLOCK`]
/// elements; the block's length is returned beside it.
///
/// A loop over a 5-element row does not vectorise (and spends its time
/// starting and ending), but a loop over 60 elements, the row 12 times, does.
#[inline(always)]
fn repeated<T: Real>(row: &[T]) -> ([T; BLOCK], usize) {
    let cols = row.len();
    let len = block_len(cols);
    let mut block = [T::zero(); BLOCK];
    for (i, v) in block[..len].iter_mut().enumerate() {
        *v = row[i % cols];
    }
    (block, len)
}

/// `out[j] = Σ_i x[i, j]` for `x` of `cols` columns (a sum over the rows).
///
/// Long rows are added one after the other. Short rows (at most half a
/// [`BLOCK`]) are added a block of whole rows at a time into a block-long
/// accumulator, whose row-long pieces are then added in order; either way
/// the order of the additions is fixed, so the result is too.
#[inline(always)]
fn sum_rows<T: Real>(x: &[T], cols: usize, out: &mut [T]) {
    out.fill(T::zero());
    if cols == 0 {
        return;
    }
    if cols > BLOCK / 2 {
        for row in x.chunks_exact(cols) {
            out.iter_mut().zip(row).for_each(|(o, &v)| *o += v);
        }
        return;
    }
    let len = block_len(cols);
    let mut acc = [T::zero(); BLOCK];
    for rows in x.chunks(len) {
        acc.iter_mut().zip(rows).for_each(|(a, &v)| *a += v);
    }
    for piece in acc[..len].chunks_exact(cols) {
        out.iter_mut().zip(piece).for_each(|(o, &v)| *o += v);
    }
}

/// `out[i, j] = f(a[i, j], b[…])` for `a` of `cols` columns, `b` broadcast
/// by `rule`: one loop per rule, so no index is divided per element.
#[inline(always)]
fn binary_loop<T: Real>(
    a: &[T],
    b: &[T],
    out: &mut [T],
    cols: usize,
    rule: Broadcast,
    f: impl Fn(T, T) -> T,
) {
    if out.is_empty() {
        return;
    }
    match rule {
        Broadcast::Same => {
            out.iter_mut().zip(a).zip(b).for_each(|((o, &x), &y)| *o = f(x, y));
        }
        Broadcast::Row if cols <= BLOCK / 2 => {
            // A short row (a bias of 5): a block of whole rows at a time.
            let (b_rows, len) = repeated(b);
            for (o, x) in out.chunks_mut(len).zip(a.chunks(len)) {
                o.iter_mut().zip(x).zip(&b_rows).for_each(|((o, &x), &y)| *o = f(x, y));
            }
        }
        Broadcast::Row => {
            for (o, x) in out.chunks_exact_mut(cols).zip(a.chunks_exact(cols)) {
                o.iter_mut().zip(x).zip(b).for_each(|((o, &x), &y)| *o = f(x, y));
            }
        }
        Broadcast::Col => {
            for ((o, x), &y) in out.chunks_exact_mut(cols).zip(a.chunks_exact(cols)).zip(b) {
                o.iter_mut().zip(x).for_each(|(o, &x)| *o = f(x, y));
            }
        }
        Broadcast::Scalar => {
            let y = b[0];
            out.iter_mut().zip(a).for_each(|(o, &x)| *o = f(x, y));
        }
    }
}

/// The sum of `xs`, in a fixed order: eight running sums, element `i` going
/// to sum `i % 8`, then the eight added in order. The same result for the
/// same input every time, and a loop the compiler vectorises (a single
/// running sum is a chain of dependent additions).
#[inline(always)]
fn sum_all<T: Real>(xs: &[T]) -> T {
    let mut lanes = [T::zero(); 8];
    let chunks = xs.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        lanes.iter_mut().zip(chunk).for_each(|(s, &v)| *s += v);
    }
    lanes.iter_mut().zip(rest).for_each(|(s, &v)| *s += v);
    lanes.into_iter().fold(T::zero(), |a, b| a + b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small integers in `-3..=3`: every sum of them is exact, in any order.
    fn ints(len: usize, seed: u32) -> Vec<f32> {
        (0..len as u32).map(|i| (rng::bits(seed, i) % 7) as f32 - 3.0).collect()
    }

    /// Row counts and column counts around the block of 64 and its halves.
    const ROWS: [usize; 6] = [1, 2, 7, 13, 64, 65];
    const COLS: [usize; 9] = [1, 2, 5, 7, 31, 32, 33, 64, 65];

    #[test]
    fn f32_normal_draws_are_the_f64_draws_rounded_within_error_bounds() {
        // The same uniforms, in f32 with the fast ln and cos: each draw
        // within a few f32 roundings of the f64 one (|z| ≤ 5.8 for 24-bit
        // uniforms, so 4e-6 is about 8 ulp of the largest).
        let (seed, n) = (11, 200_000);
        let key = rng::seed_key(seed);
        let dist = Dist::Normal { mean: 4.0, std: 1.25 };
        let got = Cpu::<f32>::new().random(Shape::new(n, 1), dist, seed);
        for i in 0..n {
            let want = 4.0 + 1.25 * rng::normal(key, i as u32);
            let err = (f64::from(got.at(i, 0)) - want).abs();
            assert!(err <= 4e-6 * want.abs().max(1.0), "draw {i}: {} vs {want}", got.at(i, 0));
        }
    }

    #[test]
    fn short_rows_broadcast_and_sum_like_the_plain_loops() {
        let be = Cpu::<f32>::new();
        for rows in ROWS {
            for cols in COLS {
                let x = be.upload(Shape::new(rows, cols), &ints(rows * cols, 1)).unwrap();
                let bias = be.upload(Shape::new(1, cols), &ints(cols, 2)).unwrap();
                // x - bias, broadcast down the rows: element by element.
                let y = be.binary(Binary::Sub, &x, &bias).unwrap();
                for i in 0..rows {
                    for j in 0..cols {
                        assert_eq!(y.at(i, j), x.at(i, j) - bias.at(0, j), "[{rows}, {cols}]");
                    }
                }
                // Σ over the rows, exact on integers whatever the order.
                let s = be.sum(&x, Some(Axis::Rows));
                for j in 0..cols {
                    let want: f32 = (0..rows).map(|i| x.at(i, j)).sum();
                    assert_eq!(s.at(0, j), want, "sum over rows of [{rows}, {cols}], column {j}");
                }
            }
        }
    }
}
