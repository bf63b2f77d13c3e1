//! The reference backend: every primitive as the plainest loop that states
//! it, over host memory. No SIMD, no threads, no buffer pool, no fused
//! kernels (the fused ops are the trait's defaults, made of these
//! primitives).
//!
//! `Reference<f64>` is what every gradient is checked on ([`crate::gradcheck`](mod@crate::gradcheck)),
//! and `Reference<f32>` is what the fast backends are tested against: the
//! tuned CPU backend (crate `minimax-cpu`) and the GPU backend (crate
//! `minimax-wgsl`), on awkward shapes, forward and backward. Read it as the
//! specification of [`Backend`]; the definitions it is built from live in
//! the files beside this one:
//!
//! - `unary.rs`: each elementwise function `f` and its derivative `df`;
//! - `matmul.rs`: the triple loop;
//! - `conv.rs`: the convolution and its gradients, as seven loops;
//! - `rows.rs`: gathers, scatters, the log-sum-exp and the maximum of each row;
//! - `optim.rs`: SGD and Adam by their definitions.

pub mod conv;
pub mod matmul;
pub mod optim;
pub mod rows;
pub mod unary;

pub use rows::HostIndices;

use crate::backend::{
    binary_name, broadcast_rule, broadcast_to_rule, concat_cols_shape, concat_rows_shape,
    conv2d_backward_input_shape, conv2d_backward_weight_shape, conv2d_shape, gather_rows_shape,
    logsumexp_rows_shape, matmul_shape, max_rows_backward_shape, max_rows_shape, pick_cols_shape,
    reshape_shape, same_shape, scatter_add_rows_shape, scatter_cols_shape, slice_cols_shape,
    slice_rows_shape, sum_shape, upload_rule,
};
use crate::{rng, AdamStep, Axis, Backend, Binary, ConvGeometry, Dist, Error, Real, Result, Shape};
use crate::{TensorShape, Unary};
use std::marker::PhantomData;
use std::sync::Arc;

/// The reference backend for element type `T` (`f32` or `f64`). Holds no
/// state.
#[derive(Debug, Default)]
pub struct Reference<T>(PhantomData<T>);

impl<T> Reference<T> {
    /// The reference backend.
    pub const fn new() -> Self {
        Reference(PhantomData)
    }
}

impl<T> Clone for Reference<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Reference<T> {}

/// A tensor in host memory: a shape and a shared, row-major buffer. Clones
/// share the buffer.
#[derive(Clone, Debug, PartialEq)]
pub struct RefTensor<T> {
    shape: Shape,
    data: Arc<Vec<T>>,
}

impl<T: Real> RefTensor<T> {
    /// A tensor from a shape and row-major data.
    pub fn new(shape: Shape, data: Vec<T>) -> Result<Self> {
        if data.len() != shape.checked_numel("tensor")? {
            return Err(Error::DataLength { op: "tensor", shape, got: data.len() });
        }
        Ok(RefTensor { shape, data: Arc::new(data) })
    }

    /// The row-major data.
    pub fn data(&self) -> &[T] {
        &self.data
    }

    /// Element `(i, j)`.
    pub fn at(&self, i: usize, j: usize) -> T {
        self.data[i * self.shape.cols + j]
    }

    /// A tensor of `shape` whose element `(i, j)` is `f(i, j)`. Panics,
    /// naming `op`, for more than [`Shape::MAX_NUMEL`] elements (the methods
    /// that cannot return an error, see [`Backend::fill`]).
    fn from_fn(op: &'static str, shape: Shape, mut f: impl FnMut(usize, usize) -> T) -> Self {
        if let Err(e) = shape.checked_numel(op) {
            panic!("{e}");
        }
        let mut data = Vec::with_capacity(shape.numel());
        for i in 0..shape.rows {
            for j in 0..shape.cols {
                data.push(f(i, j));
            }
        }
        RefTensor { shape, data: Arc::new(data) }
    }
}

impl<T: Real> TensorShape for RefTensor<T> {
    fn shape(&self) -> Shape {
        self.shape
    }
}

impl<T: Real> Backend for Reference<T> {
    type Elem = T;
    type Tensor = RefTensor<T>;
    type Indices = HostIndices;

    fn name(&self) -> String {
        format!("reference-{}", T::NAME)
    }

    fn upload(&self, shape: Shape, data: &[T]) -> Result<RefTensor<T>> {
        upload_rule(shape, data.len())?;
        RefTensor::new(shape, data.to_vec())
    }

    fn download(&self, x: &RefTensor<T>) -> Result<Vec<T>> {
        Ok(x.data.to_vec())
    }

    fn upload_indices(&self, indices: &[u32]) -> Result<HostIndices> {
        Ok(HostIndices::new(indices))
    }

    fn fill(&self, shape: Shape, value: f64) -> RefTensor<T> {
        RefTensor::from_fn("fill", shape, |_, _| T::from_f64(value))
    }

    fn random(&self, shape: Shape, dist: Dist, seed: u64) -> RefTensor<T> {
        // Element i (row-major) is the draw at counter i of the seed's key.
        let key = rng::seed_key(seed);
        let at = |i: usize, j: usize| (i * shape.cols + j) as u32;
        RefTensor::from_fn("random", shape, |i, j| {
            T::from_f64(match dist {
                Dist::Uniform { lo, hi } => lo + (hi - lo) * rng::uniform(key, at(i, j)),
                Dist::Normal { mean, std } => mean + std * rng::normal(key, at(i, j)),
                Dist::Bernoulli { p } => (rng::uniform(key, at(i, j)) < p) as u8 as f64,
            })
        })
    }

    fn matmul(
        &self,
        a: &RefTensor<T>,
        ta: bool,
        b: &RefTensor<T>,
        tb: bool,
    ) -> Result<RefTensor<T>> {
        let out = matmul_shape(a.shape, ta, b.shape, tb)?; // [m, n]
        let k = if ta { a.shape.rows } else { a.shape.cols };
        let mut c = vec![T::zero(); out.numel()];
        matmul::matmul(&a.data, ta, &b.data, tb, &mut c, out.rows, k, out.cols);
        RefTensor::new(out, c)
    }

    fn transpose(&self, x: &RefTensor<T>) -> RefTensor<T> {
        // out[i, j] = x[j, i]; out is [cols, rows].
        RefTensor::from_fn("transpose", x.shape.t(), |i, j| x.at(j, i))
    }

    fn unary(&self, op: Unary, x: &RefTensor<T>) -> RefTensor<T> {
        RefTensor::from_fn("unary", x.shape, |i, j| unary::f(op, x.at(i, j)))
    }

    fn unary_backward(
        &self,
        op: Unary,
        x: &RefTensor<T>,
        y: &RefTensor<T>,
        dy: &RefTensor<T>,
    ) -> RefTensor<T> {
        // dx = dy · f'(x), with f' given x and y = f(x).
        RefTensor::from_fn("unary_backward", x.shape, |i, j| {
            dy.at(i, j) * unary::df(op, x.at(i, j), y.at(i, j))
        })
    }

    fn binary(&self, op: Binary, a: &RefTensor<T>, b: &RefTensor<T>) -> Result<RefTensor<T>> {
        let rule = broadcast_rule(binary_name(op), a.shape, b.shape)?;
        let cols = a.shape.cols;
        Ok(RefTensor::from_fn("binary", a.shape, |i, j| {
            let (x, y) = (a.at(i, j), b.data[rule.index(i, j, cols)]);
            match op {
                Binary::Add => x + y,
                Binary::Sub => x - y,
                Binary::Mul => x * y,
                Binary::Div => x / y,
            }
        }))
    }

    fn sum(&self, x: &RefTensor<T>, axis: Option<Axis>) -> RefTensor<T> {
        let Shape { rows, cols } = x.shape;
        // Added in index order, one running sum per output element.
        let add = |range: &mut dyn Iterator<Item = (usize, usize)>| {
            range.fold(T::zero(), |s, (i, j)| s + x.at(i, j))
        };
        RefTensor::from_fn("sum", sum_shape(x.shape, axis), |oi, oj| match axis {
            None => add(&mut (0..rows).flat_map(|i| (0..cols).map(move |j| (i, j)))),
            Some(Axis::Rows) => add(&mut (0..rows).map(|i| (i, oj))), // [1, cols]
            Some(Axis::Cols) => add(&mut (0..cols).map(|j| (oi, j))), // [rows, 1]
        })
    }

    fn broadcast(&self, x: &RefTensor<T>, shape: Shape) -> Result<RefTensor<T>> {
        let rule = broadcast_to_rule(x.shape, shape)?;
        // out[i, j] = x[i, j], x[0, j], x[i, 0] or x[0, 0].
        Ok(RefTensor::from_fn("broadcast", shape, |i, j| x.data[rule.index(i, j, shape.cols)]))
    }

    fn concat_cols(&self, parts: &[&RefTensor<T>]) -> Result<RefTensor<T>> {
        let shape = concat_cols_shape(&parts.iter().map(|p| p.shape).collect::<Vec<_>>())?;
        // Row i of the output is row i of each part, side by side.
        let mut data = Vec::with_capacity(shape.numel());
        for i in 0..shape.rows {
            for p in parts {
                data.extend((0..p.shape.cols).map(|j| p.at(i, j)));
            }
        }
        RefTensor::new(shape, data)
    }

    fn slice_cols(&self, x: &RefTensor<T>, start: usize, len: usize) -> Result<RefTensor<T>> {
        let shape = slice_cols_shape(x.shape, start, len)?; // [rows, len]
        Ok(RefTensor::from_fn("slice_cols", shape, |i, j| x.at(i, start + j)))
    }

    fn concat_rows(&self, parts: &[&RefTensor<T>]) -> Result<RefTensor<T>> {
        let shape = concat_rows_shape(&parts.iter().map(|p| p.shape).collect::<Vec<_>>())?;
        // Row-major: the parts' values, one after the other.
        RefTensor::new(shape, parts.iter().flat_map(|p| p.data.iter().copied()).collect())
    }

    fn slice_rows(&self, x: &RefTensor<T>, start: usize, len: usize) -> Result<RefTensor<T>> {
        let shape = slice_rows_shape(x.shape, start, len)?; // [len, cols]
        Ok(RefTensor::from_fn("slice_rows", shape, |i, j| x.at(start + i, j)))
    }

    fn gather_rows(&self, x: &RefTensor<T>, idx: &HostIndices) -> Result<RefTensor<T>> {
        let shape = gather_rows_shape(x.shape, idx)?; // [n, cols]
        let mut out = vec![T::zero(); shape.numel()];
        rows::gather_rows(&x.data, shape.cols, idx.data(), &mut out);
        RefTensor::new(shape, out)
    }

    fn scatter_add_rows(
        &self,
        dy: &RefTensor<T>,
        idx: &HostIndices,
        rows: usize,
    ) -> Result<RefTensor<T>> {
        let shape = scatter_add_rows_shape(dy.shape, idx, rows)?; // [rows, cols]
        let mut out = vec![T::zero(); shape.numel()];
        rows::scatter_add_rows(&dy.data, shape.cols, idx.data(), &mut out);
        RefTensor::new(shape, out)
    }

    fn pick_cols(&self, x: &RefTensor<T>, labels: &HostIndices) -> Result<RefTensor<T>> {
        let shape = pick_cols_shape(x.shape, labels)?; // [n, 1]
        let mut out = vec![T::zero(); shape.numel()];
        rows::pick_cols(&x.data, x.shape.cols, labels.data(), &mut out);
        RefTensor::new(shape, out)
    }

    fn scatter_cols(
        &self,
        dy: &RefTensor<T>,
        labels: &HostIndices,
        cols: usize,
    ) -> Result<RefTensor<T>> {
        let shape = scatter_cols_shape(dy.shape, labels, cols)?; // [n, cols]
        let mut out = vec![T::zero(); shape.numel()];
        rows::scatter_cols(&dy.data, cols, labels.data(), &mut out);
        RefTensor::new(shape, out)
    }

    fn logsumexp_rows(&self, x: &RefTensor<T>) -> RefTensor<T> {
        let shape = logsumexp_rows_shape(x.shape); // [n, 1]
        let mut out = vec![T::zero(); shape.numel()];
        rows::logsumexp_rows(&x.data, x.shape.cols, &mut out);
        RefTensor { shape, data: Arc::new(out) }
    }

    fn max_rows(&self, x: &RefTensor<T>) -> RefTensor<T> {
        let shape = max_rows_shape(x.shape); // [n, 1]
        let mut out = vec![T::zero(); shape.numel()];
        rows::max_rows(&x.data, x.shape.cols, &mut out);
        RefTensor { shape, data: Arc::new(out) }
    }

    fn max_rows_backward(&self, x: &RefTensor<T>, dy: &RefTensor<T>) -> Result<RefTensor<T>> {
        let shape = max_rows_backward_shape(x.shape, dy.shape)?; // [n, k]
        let mut dx = vec![T::zero(); shape.numel()];
        rows::max_rows_backward(&x.data, &dy.data, shape.cols, &mut dx);
        RefTensor::new(shape, dx)
    }

    fn reshape(&self, x: &RefTensor<T>, shape: Shape) -> Result<RefTensor<T>> {
        let shape = reshape_shape(x.shape, shape)?;
        Ok(RefTensor { shape, data: x.data.clone() }) // the same buffer
    }

    fn conv2d(&self, x: &RefTensor<T>, w: &RefTensor<T>, g: &ConvGeometry) -> Result<RefTensor<T>> {
        let shape = conv2d_shape(x.shape, w.shape, g)?; // [batch, C_out·OH·OW]
        let mut y = vec![T::zero(); shape.numel()];
        conv::conv2d(&x.data, &w.data, &mut y, x.shape.rows, g);
        RefTensor::new(shape, y)
    }

    fn conv2d_backward_input(
        &self,
        dy: &RefTensor<T>,
        w: &RefTensor<T>,
        g: &ConvGeometry,
    ) -> Result<RefTensor<T>> {
        let shape = conv2d_backward_input_shape(dy.shape, w.shape, g)?; // [batch, C_in·H·W]
        let mut dx = vec![T::zero(); shape.numel()];
        conv::conv2d_backward_input(&dy.data, &w.data, &mut dx, dy.shape.rows, g);
        RefTensor::new(shape, dx)
    }

    fn conv2d_backward_weight(
        &self,
        x: &RefTensor<T>,
        dy: &RefTensor<T>,
        g: &ConvGeometry,
    ) -> Result<RefTensor<T>> {
        let shape = conv2d_backward_weight_shape(x.shape, dy.shape, g)?; // [C_out, C_in·k·k]
        let mut dw = vec![T::zero(); shape.numel()];
        conv::conv2d_backward_weight(&x.data, &dy.data, &mut dw, x.shape.rows, g);
        RefTensor::new(shape, dw)
    }

    fn sgd_step(
        &self,
        param: &mut RefTensor<T>,
        grad: &RefTensor<T>,
        velocity: &mut RefTensor<T>,
        lr: f64,
        momentum: f64,
    ) -> Result<()> {
        same_shape("sgd_step", param.shape, grad.shape)?;
        same_shape("sgd_step", param.shape, velocity.shape)?;
        let (lr, mu) = (T::from_f64(lr), T::from_f64(momentum));
        let mut p_new = vec![T::zero(); param.data.len()];
        let v = Arc::make_mut(&mut velocity.data);
        optim::sgd(lr, mu, &param.data, &grad.data, v, &mut p_new);
        param.data = Arc::new(p_new);
        Ok(())
    }

    fn adam_step(
        &self,
        param: &mut RefTensor<T>,
        grad: &RefTensor<T>,
        m: &mut RefTensor<T>,
        v: &mut RefTensor<T>,
        hp: AdamStep,
    ) -> Result<()> {
        for other in [grad.shape, m.shape, v.shape] {
            same_shape("adam_step", param.shape, other)?;
        }
        let mut p_new = vec![T::zero(); param.data.len()];
        let (m, v) = (Arc::make_mut(&mut m.data), Arc::make_mut(&mut v.data));
        optim::adam(hp, &param.data, &grad.data, m, v, &mut p_new);
        param.data = Arc::new(p_new);
        Ok(())
    }
}
