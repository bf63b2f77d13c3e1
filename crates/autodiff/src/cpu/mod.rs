//! The CPU backend: plain, readable loops over host memory.
//!
//! `Cpu<f64>` is the reference every gradient is checked on; `Cpu<f32>` is
//! the reference every GPU kernel is checked against. Speed is not the point
//! here: each kernel is the simplest correct loop. The one exception is
//! matmul, where large `f32` products take the blocked SIMD path in [`gemm`]
//! (tested against the plain loop in [`matmul`]).

pub mod gemm;
pub mod matmul;
pub mod unary;

use crate::backend::{
    binary_name, broadcast_rule, broadcast_to_rule, concat_cols_shape, matmul_shape, same_shape,
    slice_cols_shape, sum_shape,
};
use crate::{
    rng, AdamStep, Axis, Backend, Binary, Dist, Error, Real, Result, Shape, TensorShape, Unary,
};
use std::marker::PhantomData;
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
/// [`Arc::make_mut`], which copies only if the buffer is shared.
#[derive(Clone, Debug, PartialEq)]
pub struct CpuTensor<T> {
    shape: Shape,
    data: Arc<Vec<T>>,
}

impl<T: Real> CpuTensor<T> {
    /// A tensor from a shape and row-major data.
    pub fn new(shape: Shape, data: Vec<T>) -> Result<Self> {
        if data.len() != shape.numel() {
            return Err(Error::DataLength { op: "tensor", shape, got: data.len() });
        }
        Ok(CpuTensor { shape, data: Arc::new(data) })
    }

    /// The row-major data.
    pub fn data(&self) -> &[T] {
        &self.data
    }

    /// Element `(i, j)`.
    pub fn at(&self, i: usize, j: usize) -> T {
        self.data[i * self.shape.cols + j]
    }

    fn from_fn(shape: Shape, f: impl FnMut(usize) -> T) -> Self {
        CpuTensor { shape, data: Arc::new((0..shape.numel()).map(f).collect()) }
    }
}

impl<T> TensorShape for CpuTensor<T> {
    fn shape(&self) -> Shape {
        self.shape
    }
}

impl<T: Real> Backend for Cpu<T> {
    type Elem = T;
    type Tensor = CpuTensor<T>;

    fn name(&self) -> String {
        format!("cpu-{}", T::NAME)
    }

    fn upload(&self, shape: Shape, data: &[T]) -> Result<CpuTensor<T>> {
        if data.len() != shape.numel() {
            return Err(Error::DataLength { op: "upload", shape, got: data.len() });
        }
        Ok(CpuTensor { shape, data: Arc::new(data.to_vec()) })
    }

    fn download(&self, x: &CpuTensor<T>) -> Result<Vec<T>> {
        Ok(x.data.to_vec())
    }

    fn fill(&self, shape: Shape, value: f64) -> CpuTensor<T> {
        CpuTensor { shape, data: Arc::new(vec![T::from_f64(value); shape.numel()]) }
    }

    fn random(&self, shape: Shape, dist: Dist, seed: u64) -> CpuTensor<T> {
        let key = rng::seed_key(seed);
        CpuTensor::from_fn(shape, |i| {
            let i = i as u32;
            T::from_f64(match dist {
                Dist::Uniform { lo, hi } => lo + (hi - lo) * rng::uniform(key, i),
                Dist::Normal { mean, std } => mean + std * rng::normal(key, i),
                Dist::Bernoulli { p } => (rng::uniform(key, i) < p) as u8 as f64,
            })
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
        let mut c = vec![T::zero(); out.numel()];
        gemm::matmul(&a.data, transpose_a, &b.data, transpose_b, &mut c, out.rows, k, out.cols);
        Ok(CpuTensor { shape: out, data: Arc::new(c) })
    }

    fn transpose(&self, x: &CpuTensor<T>) -> CpuTensor<T> {
        let Shape { rows, cols } = x.shape;
        // out[j, i] = x[i, j]; out is [cols, rows].
        CpuTensor::from_fn(x.shape.t(), |idx| {
            let (j, i) = (idx / rows, idx % rows);
            x.data[i * cols + j]
        })
    }

    fn unary(&self, op: Unary, x: &CpuTensor<T>) -> CpuTensor<T> {
        CpuTensor::from_fn(x.shape, |i| unary::f(op, x.data[i]))
    }

    fn unary_backward(
        &self,
        op: Unary,
        x: &CpuTensor<T>,
        y: &CpuTensor<T>,
        dy: &CpuTensor<T>,
    ) -> CpuTensor<T> {
        CpuTensor::from_fn(x.shape, |i| dy.data[i] * unary::df(op, x.data[i], y.data[i]))
    }

    fn binary(&self, op: Binary, a: &CpuTensor<T>, b: &CpuTensor<T>) -> Result<CpuTensor<T>> {
        let rule = broadcast_rule(binary_name(op), a.shape, b.shape)?;
        let cols = a.shape.cols;
        Ok(CpuTensor::from_fn(a.shape, |idx| {
            let (x, y) = (a.data[idx], b.data[rule.index(idx / cols, idx % cols, cols)]);
            match op {
                Binary::Add => x + y,
                Binary::Sub => x - y,
                Binary::Mul => x * y,
                Binary::Div => x / y,
            }
        }))
    }

    fn sum(&self, x: &CpuTensor<T>, axis: Option<Axis>) -> CpuTensor<T> {
        let Shape { rows, cols } = x.shape;
        let mut out = vec![T::zero(); sum_shape(x.shape, axis).numel()];
        for i in 0..rows {
            for j in 0..cols {
                let o = match axis {
                    None => 0,
                    Some(Axis::Rows) => j,
                    Some(Axis::Cols) => i,
                };
                out[o] += x.data[i * cols + j];
            }
        }
        CpuTensor { shape: sum_shape(x.shape, axis), data: Arc::new(out) }
    }

    fn broadcast(&self, x: &CpuTensor<T>, shape: Shape) -> Result<CpuTensor<T>> {
        let rule = broadcast_to_rule(x.shape, shape)?;
        Ok(CpuTensor::from_fn(shape, |idx| {
            x.data[rule.index(idx / shape.cols, idx % shape.cols, shape.cols)]
        }))
    }

    fn concat_cols(&self, parts: &[&CpuTensor<T>]) -> Result<CpuTensor<T>> {
        let shape = concat_cols_shape(&parts.iter().map(|p| p.shape).collect::<Vec<_>>())?;
        let mut data = Vec::with_capacity(shape.numel());
        for i in 0..shape.rows {
            for p in parts {
                let c = p.shape.cols;
                data.extend_from_slice(&p.data[i * c..(i + 1) * c]);
            }
        }
        Ok(CpuTensor { shape, data: Arc::new(data) })
    }

    fn slice_cols(&self, x: &CpuTensor<T>, start: usize, len: usize) -> Result<CpuTensor<T>> {
        let shape = slice_cols_shape(x.shape, start, len)?;
        let cols = x.shape.cols;
        Ok(CpuTensor::from_fn(shape, |idx| x.data[(idx / len) * cols + start + idx % len]))
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
        let (p, v) = (Arc::make_mut(&mut param.data), Arc::make_mut(&mut velocity.data));
        for i in 0..p.len() {
            v[i] = mu * v[i] + grad.data[i];
            p[i] -= lr * v[i];
        }
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
        let c = T::from_f64;
        let (b1, b2) = (c(hp.beta1), c(hp.beta2));
        let bc1 = c(1.0 - hp.beta1.powi(hp.t as i32));
        let bc2 = c(1.0 - hp.beta2.powi(hp.t as i32));
        let (lr, eps) = (c(hp.lr), c(hp.eps));
        let p = Arc::make_mut(&mut param.data);
        let (m, v) = (Arc::make_mut(&mut m.data), Arc::make_mut(&mut v.data));
        for i in 0..p.len() {
            let g = grad.data[i];
            m[i] = b1 * m[i] + (T::one() - b1) * g;
            v[i] = b2 * v[i] + (T::one() - b2) * g * g;
            let (m_hat, v_hat) = (m[i] / bc1, v[i] / bc2);
            p[i] -= lr * m_hat / (v_hat.sqrt() + eps);
        }
        Ok(())
    }
}
