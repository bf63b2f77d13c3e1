//! The `Backend` trait: the small set of primitive kernels a training step
//! needs, on tensors that live wherever the backend keeps them.
//!
//! The CPU backends (the plain [`crate::Reference`], and the tuned one of
//! crate `minimax-cpu`) keep tensors in host memory; the GPU
//! backend (crate `minimax-wgsl`) keeps them in GPU buffers and records work
//! lazily. So that a GPU backend can keep every tensor resident, **no method
//! here returns host data except [`Backend::download`]**: every other method
//! takes device tensors and returns device tensors.
//!
//! Shapes are checked here, once, by the `*_shape` functions at the bottom
//! of this file, which every backend calls: the error messages are the same
//! on every device.

use crate::{shape_error, ConvGeometry, Error, Real, Result, Shape};
use std::fmt::Debug;

/// What every backend tensor can tell without touching the device.
pub trait TensorShape {
    /// The tensor's `[rows, cols]`.
    fn shape(&self) -> Shape;
}

/// What every backend's list of indices ([`Backend::Indices`]) can tell
/// without touching the device: how many there are and the largest one,
/// both recorded on the host when the list was uploaded.
///
/// That is what lets an op check its indices against a tensor's shape (and
/// return an error naming the bad index) with no download.
pub trait IndexInfo {
    /// How many indices.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The largest index and its position `(position, index)`, the first
    /// such position if it occurs more than once; `None` if empty.
    fn max(&self) -> Option<(usize, u32)>;
}

/// The largest of `indices` and its first position, as [`IndexInfo::max`]
/// reports it; for backends to call on upload.
pub fn index_max(indices: &[u32]) -> Option<(usize, u32)> {
    // `max_by_key` keeps the last of equal maxima; reversed, the first.
    indices.iter().copied().enumerate().rev().max_by_key(|&(_, v)| v)
}

/// An elementwise map `y = f(x)`, with its parameters.
///
/// Each variant's derivative is written beside its function in the CPU
/// kernel (`cpu/unary.rs`, `f` and `df` side by side) and in the WGSL kernel
/// (`shaders/unary.wgsl`).
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Unary {
    /// y = -x
    Neg,
    /// y = x + c
    AddScalar(f64),
    /// y = c · x
    MulScalar(f64),
    /// y = e^x
    Exp,
    /// y = ln x
    Log,
    /// y = √x
    Sqrt,
    /// y = x^n
    Powi(i32),
    /// y = tanh x
    Tanh,
    /// y = σ(x) = 1 / (1 + e^-x)
    Sigmoid,
    /// y = max(x, 0)
    Relu,
    /// y = x if x > 0, else slope · x
    LeakyRelu(f64),
    /// y = x if x > 0, else α (e^x - 1)
    Elu(f64),
    /// y = ln(1 + e^x), computed as max(x, 0) + ln(1 + e^-|x|) so it is finite for any x
    Softplus,
    /// y = min(max(x, lo), hi)
    Clamp(f64, f64),
}

/// An elementwise binary op `y = a ∘ b`.
///
/// Broadcasting rule (the only one): `b` may have the shape of `a`, or be a
/// row `[1, cols]` (a bias, repeated down the rows), a column `[rows, 1]`
/// (repeated across the columns), or a scalar `[1, 1]`. `a` never broadcasts.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Binary {
    /// a + b
    Add,
    /// a - b
    Sub,
    /// a · b
    Mul,
    /// a / b
    Div,
}

/// An axis to reduce over, named as in NumPy.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Axis {
    /// Axis 0: collapse the rows, one value per column: `[r, c] -> [1, c]`.
    Rows,
    /// Axis 1: collapse the columns, one value per row: `[r, c] -> [r, 1]`.
    Cols,
}

/// A distribution to fill a tensor from, see [`Backend::random`].
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Dist {
    /// Uniform on `[lo, hi)`.
    Uniform {
        /// Lower bound (included).
        lo: f64,
        /// Upper bound (excluded).
        hi: f64,
    },
    /// Normal with this mean and standard deviation (Box–Muller).
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// 1 with probability `p`, else 0 (a dropout keep-mask).
    Bernoulli {
        /// Probability of a 1.
        p: f64,
    },
}

/// Hyperparameters of one Adam update, see [`Backend::adam_step`].
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct AdamStep {
    /// Learning rate α.
    pub lr: f64,
    /// Decay of the first moment, β₁.
    pub beta1: f64,
    /// Decay of the second moment, β₂.
    pub beta2: f64,
    /// ε added to √v̂.
    pub eps: f64,
    /// The 1-based step number t, for the bias corrections 1 - βᵗ.
    pub t: u32,
}

/// The primitive kernels of a training step.
///
/// Implemented by [`crate::Reference`] (`f32` and `f64`, the plain loops
/// everything is checked against), by the tuned CPU backend in `minimax-cpu`
/// (`f32` and `f64`) and by the GPU backend in `minimax-wgsl` (`f32`). Everything above this trait (the
/// tape, the models, the optimizers) is written once against it.
pub trait Backend: Clone + 'static {
    /// The element type.
    type Elem: Real;
    /// A tensor handle: host memory for the CPU, a GPU buffer for the GPU.
    /// Cloning a handle is cheap and shares the data.
    type Tensor: Clone + Debug + TensorShape + 'static;
    /// A list of row or column indices (`u32`), on the device: the rows of
    /// a minibatch for [`Backend::gather_rows`], the class labels for
    /// [`Backend::pick_cols`]. Cloning a handle is cheap and shares the data.
    ///
    /// Indices are a type of their own rather than a tensor of whole numbers
    /// in `Elem`, so that an index is never a rounded float (`f32` holds
    /// whole numbers exactly only up to 2²⁴), and so that the handle can
    /// carry what was checked on the host at upload: its length and its
    /// largest index ([`IndexInfo`]). An op checks those against the shape
    /// of the tensor it indexes, with no download, and a kernel never reads
    /// out of bounds.
    type Indices: Clone + Debug + IndexInfo + 'static;

    /// A human-readable name, such as `"cpu-f64"` or the GPU adapter's name.
    fn name(&self) -> String;

    /// Copies host data into a new tensor of `shape`.
    fn upload(&self, shape: Shape, data: &[Self::Elem]) -> Result<Self::Tensor>;
    /// Copies a tensor back to the host. The only method that does.
    fn download(&self, x: &Self::Tensor) -> Result<Vec<Self::Elem>>;
    /// Copies a list of indices to the device, recording on the host its
    /// length and its largest index (see [`IndexInfo`]).
    fn upload_indices(&self, indices: &[u32]) -> Result<Self::Indices>;
    /// Hands all recorded work to the device without waiting for it: the
    /// end of a training step (a no-op on the CPU, which works eagerly).
    fn flush(&self) -> Result<()> {
        Ok(())
    }
    /// Hands all recorded work to the device and waits until it is done
    /// (a no-op on the CPU).
    fn sync(&self) -> Result<()> {
        Ok(())
    }

    /// A tensor of `shape` with every element `value`.
    ///
    /// A shape of more than [`Shape::MAX_NUMEL`] elements (or more than
    /// the device can hold) cannot be returned as an error here: the CPU
    /// panics, naming the op and the shape; the GPU returns that error from
    /// the next `flush`, `sync` or `download`. The same holds for every
    /// method that returns a tensor without a `Result`; the others return
    /// the error.
    fn fill(&self, shape: Shape, value: f64) -> Self::Tensor;
    /// A tensor of `shape` drawn from `dist` by a counter-based generator:
    /// element `i` depends only on `(seed, i)` (see [`crate::rng`]), so the
    /// CPU and the GPU draw the same numbers. Too large a shape: as
    /// [`Backend::fill`].
    fn random(&self, shape: Shape, dist: Dist, seed: u64) -> Self::Tensor;

    /// `op(a) · op(b)` where `op` transposes when its flag is set.
    fn matmul(
        &self,
        a: &Self::Tensor,
        transpose_a: bool,
        b: &Self::Tensor,
        transpose_b: bool,
    ) -> Result<Self::Tensor>;
    /// `[r, c] -> [c, r]`.
    fn transpose(&self, x: &Self::Tensor) -> Self::Tensor;

    /// `y = f(x)` elementwise.
    fn unary(&self, op: Unary, x: &Self::Tensor) -> Self::Tensor;
    /// `dx = dy · f'(x)` elementwise, given `x`, `y = f(x)` and `dy`.
    fn unary_backward(
        &self,
        op: Unary,
        x: &Self::Tensor,
        y: &Self::Tensor,
        dy: &Self::Tensor,
    ) -> Self::Tensor;
    /// `a ∘ b` elementwise, `b` broadcast by the rule on [`Binary`].
    fn binary(&self, op: Binary, a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;

    /// `acc + g` for `g` of `acc`'s shape: two gradients of one tensor
    /// added up (the tape calls it for a tensor used more than once). It
    /// takes `acc` by value so a backend may add into its storage when
    /// nothing else holds it (the CPU does), instead of allocating a third
    /// tensor. The same sum as [`Backend::binary`] with [`Binary::Add`],
    /// which is the default.
    fn accumulate(&self, acc: Self::Tensor, g: &Self::Tensor) -> Result<Self::Tensor> {
        self.binary(Binary::Add, &acc, g)
    }

    /// Sum over everything (`[1, 1]`) or over one axis.
    fn sum(&self, x: &Self::Tensor, axis: Option<Axis>) -> Self::Tensor;
    /// Repeats a row `[1, c]`, a column `[r, 1]` or a scalar to `shape`
    /// (the adjoint of [`Backend::sum`]).
    fn broadcast(&self, x: &Self::Tensor, shape: Shape) -> Result<Self::Tensor>;

    /// Joins tensors with the same number of rows side by side.
    fn concat_cols(&self, parts: &[&Self::Tensor]) -> Result<Self::Tensor>;
    /// Columns `start .. start + len` of `x`.
    fn slice_cols(&self, x: &Self::Tensor, start: usize, len: usize) -> Result<Self::Tensor>;
    /// Stacks tensors with the same number of columns, one below the other:
    /// `[r₁, c], [r₂, c], … -> [r₁ + r₂ + …, c]`.
    fn concat_rows(&self, parts: &[&Self::Tensor]) -> Result<Self::Tensor>;
    /// Rows `start .. start + len` of `x`.
    fn slice_rows(&self, x: &Self::Tensor, start: usize, len: usize) -> Result<Self::Tensor>;

    /// Rows of `x` picked by `idx`: `out[i, :] = x[idx[i], :]`, so
    /// `[rows, c]` and `n` indices give `[n, c]`. An index may repeat.
    /// A minibatch from a data set that stays on the device.
    fn gather_rows(&self, x: &Self::Tensor, idx: &Self::Indices) -> Result<Self::Tensor>;
    /// The adjoint of [`Backend::gather_rows`]: a `[rows, c]` tensor of
    /// zeros into which row `i` of `dy` (`[n, c]`) is added at row `idx[i]`,
    /// for `i = 0, 1, …, n - 1` in that order (so a repeated index gets the
    /// sum of its rows, added in a fixed order: the same bits every time).
    fn scatter_add_rows(
        &self,
        dy: &Self::Tensor,
        idx: &Self::Indices,
        rows: usize,
    ) -> Result<Self::Tensor>;
    /// One element per row, picked by `labels`: `out[i, 0] = x[i, labels[i]]`,
    /// so `[n, k]` and `n` labels give `[n, 1]`. The logit of each
    /// example's true class, for the cross-entropy.
    fn pick_cols(&self, x: &Self::Tensor, labels: &Self::Indices) -> Result<Self::Tensor>;
    /// The adjoint of [`Backend::pick_cols`]: `[n, cols]` zeros except
    /// `out[i, labels[i]] = dy[i, 0]` (a one-hot row scaled by `dy`).
    fn scatter_cols(
        &self,
        dy: &Self::Tensor,
        labels: &Self::Indices,
        cols: usize,
    ) -> Result<Self::Tensor>;
    /// The log-sum-exp of each row, `[n, k] -> [n, 1]`:
    /// `y_i = ln Σ_j e^(x_ij) = m_i + ln Σ_j e^(x_ij - m_i)` with
    /// `m_i = max_j x_ij`, so no `e^…` overflows (finite for logits of
    /// ±1000) and the largest term is exactly 1. A row of no columns gives
    /// `ln 0 = -∞`.
    fn logsumexp_rows(&self, x: &Self::Tensor) -> Self::Tensor;
    /// The maximum of each row, `[n, k] -> [n, 1]`: `y_i = max_j x_ij`,
    /// taken at the row's argmax, the first column `j` holding the largest
    /// value, where a NaN counts as larger than everything (so a row with
    /// a NaN gives NaN, unlike `f32::max`, which skips it) and `-0` ties
    /// with `+0`. A row of no columns gives `-∞`, the maximum of nothing.
    fn max_rows(&self, x: &Self::Tensor) -> Self::Tensor;
    /// The adjoint of [`Backend::max_rows`]: `[n, k]` zeros except
    /// `dx[i, argmax_i] = dy[i, 0]`, with the argmax of row `i` of `x`
    /// found as the forward finds it. `dy` must be `[n, 1]` for `x` of
    /// `[n, k]`.
    fn max_rows_backward(&self, x: &Self::Tensor, dy: &Self::Tensor) -> Result<Self::Tensor>;

    /// The same elements as `x`, row-major, read as a tensor of `shape`
    /// (of as many elements): `[batch, C·H·W]` as `[batch·C, H·W]`, one
    /// channel of one image a row. Shares `x`'s storage where the backend
    /// can (the CPUs and the GPU do): nothing is copied.
    fn reshape(&self, x: &Self::Tensor, shape: Shape) -> Result<Self::Tensor>;

    /// A 2-D convolution (cross-correlation, as PyTorch's `conv2d`), no bias:
    /// `x` `[batch, C_in·H·W]` and `w` `[C_out, C_in·k·k]` give
    /// `[batch, C_out·OH·OW]`, with
    /// `y[n, o, oy, ox] = Σ_{i,ky,kx} w[o, i, ky, kx] · x[n, i, oy·s + ky - p, ox·s + kx - p]`
    /// (taps outside the image read 0; the layout is in [`crate::conv`]).
    fn conv2d(&self, x: &Self::Tensor, w: &Self::Tensor, g: &ConvGeometry) -> Result<Self::Tensor>;
    /// The gradient of [`Backend::conv2d`] with respect to its input: given
    /// `dy` `[batch, C_out·OH·OW]` and `w`, the `[batch, C_in·H·W]` tensor
    /// `dx[n, i, y, x] = Σ dy[n, o, oy, ox] · w[o, i, ky, kx]` over the
    /// `(o, oy, ox, ky, kx)` with `oy·s + ky - p = y` and `ox·s + kx - p = x`.
    /// It is also the forward of a transposed convolution.
    fn conv2d_backward_input(
        &self,
        dy: &Self::Tensor,
        w: &Self::Tensor,
        g: &ConvGeometry,
    ) -> Result<Self::Tensor>;
    /// The gradient of [`Backend::conv2d`] with respect to its weight:
    /// given `x` `[batch, C_in·H·W]` and `dy` `[batch, C_out·OH·OW]`, the
    /// `[C_out, C_in·k·k]` tensor
    /// `dw[o, i, ky, kx] = Σ_{n, oy, ox} dy[n, o, oy, ox] · x[n, i, oy·s + ky - p, ox·s + kx - p]`.
    fn conv2d_backward_weight(
        &self,
        x: &Self::Tensor,
        dy: &Self::Tensor,
        g: &ConvGeometry,
    ) -> Result<Self::Tensor>;

    /// SGD with momentum, in place, as PyTorch does it:
    /// `v ← μ v + g`, `p ← p - lr · v`.
    fn sgd_step(
        &self,
        param: &mut Self::Tensor,
        grad: &Self::Tensor,
        velocity: &mut Self::Tensor,
        lr: f64,
        momentum: f64,
    ) -> Result<()>;
    /// Adam, in place: `m ← β₁m + (1-β₁)g`, `v ← β₂v + (1-β₂)g²`,
    /// `p ← p - lr · m̂ / (√v̂ + ε)` with `m̂ = m/(1-β₁ᵗ)`, `v̂ = v/(1-β₂ᵗ)`.
    fn adam_step(
        &self,
        param: &mut Self::Tensor,
        grad: &Self::Tensor,
        m: &mut Self::Tensor,
        v: &mut Self::Tensor,
        hp: AdamStep,
    ) -> Result<()>;

    // -----------------------------------------------------------------------
    // Fused ops. Each is a few of the primitives above done as one: on the
    // GPU one kernel instead of several (a training step of small layers is
    // bound by the number of commands), on the CPU one pass over memory.
    // Each has a default implementation made of the primitives, which is
    // what a learner should read first; both backends override most of
    // them (the CPU with one pass over memory, `cpu/fused.rs`; the GPU with
    // one kernel), each tested against this default.
    // -----------------------------------------------------------------------

    /// A layer's forward, `z = x · w + b` and `y = f(z)`: returns `(z, y)`.
    ///
    /// `x` is `[batch, in]`, `w` `[in, out]`, `b` (if any) the row
    /// `[1, out]` and `act` the activation `f` (`None`: the identity, and
    /// then `y` is `z`). `z` is returned for the backward
    /// ([`Backend::bias_act_backward`]).
    fn linear(
        &self,
        x: &Self::Tensor,
        w: &Self::Tensor,
        b: Option<&Self::Tensor>,
        act: Option<Unary>,
    ) -> Result<(Self::Tensor, Self::Tensor)> {
        plain_linear(self, x, w, b, act)
    }

    /// The backward of a layer's activation and bias: given `z`, `y = f(z)`
    /// and `dy`, returns `dz = dy · f'(z)` (`dy` itself for the identity)
    /// and, if `bias` is set, the bias's gradient `db = Σ_rows dz`
    /// (`[batch, out] -> [1, out]`).
    fn bias_act_backward(
        &self,
        act: Option<Unary>,
        z: &Self::Tensor,
        y: &Self::Tensor,
        dy: &Self::Tensor,
        bias: bool,
    ) -> Result<(Self::Tensor, Option<Self::Tensor>)> {
        plain_bias_act_backward(self, act, z, y, dy, bias)
    }

    /// Binary cross-entropy of logits `x` against targets `t`, averaged
    /// over the `n` elements of `x`: `[1, 1]` holding
    /// `(1/n) Σ softplus(x) - t · x`, with `t` broadcast by the rule on
    /// [`Binary`] (a scalar target `[1, 1]` is the usual case).
    ///
    /// The default is the composite `Var::bce_with_logits` records, op for
    /// op, so it gives the same numbers.
    fn bce_with_logits(&self, x: &Self::Tensor, t: &Self::Tensor) -> Result<Self::Tensor> {
        plain_bce_with_logits(self, x, t)
    }

    /// The gradient of [`Backend::bce_with_logits`] with respect to the
    /// logits, given the loss's gradient `g` (`[1, 1]`):
    /// `dx = g · (σ(x) - t) / n`.
    ///
    /// The default computes it the way the tape differentiates the
    /// composite (`g/n` broadcast, then softplus' = σ and the product's
    /// rule, added), so it gives the same numbers as the composite.
    fn bce_with_logits_backward(
        &self,
        x: &Self::Tensor,
        t: &Self::Tensor,
        g: &Self::Tensor,
    ) -> Result<Self::Tensor> {
        plain_bce_with_logits_backward(self, x, t, g)
    }

    /// Two products `(op(a) · op(b), op(c) · op(d))`, as two calls to
    /// [`Backend::matmul`] give them: the backward of a product or a layer
    /// needs both of its inputs' gradients, and the GPU computes the two in
    /// one kernel.
    fn matmul_pair(
        &self,
        first: Product<'_, Self::Tensor>,
        second: Product<'_, Self::Tensor>,
    ) -> Result<(Self::Tensor, Self::Tensor)> {
        let one = self.matmul(first.a, first.transpose_a, first.b, first.transpose_b)?;
        let two = self.matmul(second.a, second.transpose_a, second.b, second.transpose_b)?;
        Ok((one, two))
    }

    /// Adam on several tensors with the same hyperparameters (one
    /// optimizer's step): the same as [`Backend::adam_step`] on each, in
    /// place. On the GPU, several tensors go in one kernel.
    ///
    /// An update is in place only if the tensor's storage is not shared:
    /// drop every other handle on `param`, `m` and `v` (a tape's leaves,
    /// its recorded ops) first, or it is copied before it is updated.
    fn adam_step_many<'a>(
        &self,
        tensors: impl IntoIterator<Item = AdamTensors<'a, Self::Tensor>>,
        hp: AdamStep,
    ) -> Result<()>
    where
        Self::Tensor: 'a,
    {
        for t in tensors {
            self.adam_step(t.param, t.grad, t.m, t.v, hp)?;
        }
        Ok(())
    }
}

/// One product `op(a) · op(b)` of [`Backend::matmul_pair`].
#[derive(Debug)]
pub struct Product<'a, T> {
    /// The left operand, as stored.
    pub a: &'a T,
    /// Whether `op(a)` is `aᵀ`.
    pub transpose_a: bool,
    /// The right operand, as stored.
    pub b: &'a T,
    /// Whether `op(b)` is `bᵀ`.
    pub transpose_b: bool,
}

impl<'a, T> Product<'a, T> {
    /// `op(a) · op(b)`, `op` transposing where its flag is set.
    pub fn new(a: &'a T, transpose_a: bool, b: &'a T, transpose_b: bool) -> Self {
        Product { a, transpose_a, b, transpose_b }
    }
}

/// One tensor of a multi-tensor Adam update ([`Backend::adam_step_many`]).
#[derive(Debug)]
pub struct AdamTensors<'a, T> {
    /// The parameter, updated in place.
    pub param: &'a mut T,
    /// Its gradient.
    pub grad: &'a T,
    /// Adam's first moment, updated in place.
    pub m: &'a mut T,
    /// Adam's second moment, updated in place.
    pub v: &'a mut T,
}

// ---------------------------------------------------------------------------
// The plain versions of the fused ops: the trait's defaults, made of the
// primitives. Free functions, so that a backend overriding a fused op can
// still fall back on them (for a case its kernel does not cover).
// ---------------------------------------------------------------------------

/// [`Backend::linear`] from [`Backend::matmul`], [`Backend::binary`] and
/// [`Backend::unary`].
pub fn plain_linear<B: Backend>(
    be: &B,
    x: &B::Tensor,
    w: &B::Tensor,
    b: Option<&B::Tensor>,
    act: Option<Unary>,
) -> Result<(B::Tensor, B::Tensor)> {
    linear_shape(x.shape(), w.shape(), b.map(TensorShape::shape))?;
    let xw = be.matmul(x, false, w, false)?; // [batch, out]
    let z = match b {
        Some(b) => be.binary(Binary::Add, &xw, b)?, // + [1, out], down the rows
        None => xw,
    };
    let y = match act {
        Some(op) => be.unary(op, &z),
        None => z.clone(),
    };
    Ok((z, y))
}

/// [`Backend::bias_act_backward`] from [`Backend::unary_backward`] and
/// [`Backend::sum`].
pub fn plain_bias_act_backward<B: Backend>(
    be: &B,
    act: Option<Unary>,
    z: &B::Tensor,
    y: &B::Tensor,
    dy: &B::Tensor,
    bias: bool,
) -> Result<(B::Tensor, Option<B::Tensor>)> {
    let dz = match act {
        Some(op) => be.unary_backward(op, z, y, dy),
        None => dy.clone(),
    };
    let db = bias.then(|| be.sum(&dz, Some(Axis::Rows)));
    Ok((dz, db))
}

/// [`Backend::bce_with_logits`] from primitives, op for op as
/// `Var::bce_with_logits` records it.
pub fn plain_bce_with_logits<B: Backend>(
    be: &B,
    x: &B::Tensor,
    t: &B::Tensor,
) -> Result<B::Tensor> {
    broadcast_rule("bce_with_logits", x.shape(), t.shape())?;
    let n = x.shape().numel() as f64;
    // ℓ = t·softplus(-x) + (1 - t)·softplus(x), as `Var::bce_with_logits`.
    let if_one = be.unary(Unary::Softplus, &be.unary(Unary::Neg, x)); // [r, c]
    let if_zero = be.unary(Unary::Softplus, x); // [r, c]
    let one_minus_t = be.unary(Unary::AddScalar(1.0), &be.unary(Unary::Neg, t)); // t's shape
    let l = be.binary(
        Binary::Add,
        &be.binary(Binary::Mul, &if_one, t)?,
        &be.binary(Binary::Mul, &if_zero, &one_minus_t)?,
    )?; // [r, c]
    Ok(be.unary(Unary::MulScalar(1.0 / n), &be.sum(&l, None))) // [1, 1]
}

/// [`Backend::bce_with_logits_backward`] from primitives, op for op as the
/// tape differentiates `Var::bce_with_logits`.
pub fn plain_bce_with_logits_backward<B: Backend>(
    be: &B,
    x: &B::Tensor,
    t: &B::Tensor,
    g: &B::Tensor,
) -> Result<B::Tensor> {
    broadcast_rule("bce_with_logits", x.shape(), t.shape())?;
    let n = x.shape().numel() as f64;
    let g = be.unary_backward(Unary::MulScalar(1.0 / n), g, g, g); // g/n, [1, 1]
    let gn = be.broadcast(&g, x.shape())?; // [r, c]

    // From t·softplus(-x): d/dx = -((g/n)·t)·σ(-x); from
    // (1 - t)·softplus(x): ((g/n)·(1 - t))·σ(x).
    let neg_x = be.unary(Unary::Neg, x); // [r, c]
    let one_minus_t = be.unary(Unary::AddScalar(1.0), &be.unary(Unary::Neg, t)); // t's shape
    let d_if_one = be.binary(Binary::Mul, &gn, t)?; // [r, c]
    let d_neg_x = be.unary_backward(Unary::Softplus, &neg_x, &neg_x, &d_if_one);
    let from_one = be.unary_backward(Unary::Neg, x, &neg_x, &d_neg_x);
    let d_if_zero = be.binary(Binary::Mul, &gn, &one_minus_t)?; // [r, c]
    let from_zero = be.unary_backward(Unary::Softplus, x, x, &d_if_zero);
    be.binary(Binary::Add, &from_one, &from_zero)
}

// ---------------------------------------------------------------------------
// Shape rules, shared by every backend.
// ---------------------------------------------------------------------------

/// Checks that `len` values fill a tensor of `shape` (for
/// [`Backend::upload`]): too many or too few is an error naming both, as is
/// a shape too large for any tensor.
pub fn upload_rule(shape: Shape, len: usize) -> Result<()> {
    if len != shape.checked_numel("upload")? {
        return Err(Error::DataLength { op: "upload", shape, got: len });
    }
    Ok(())
}

/// The shape of `op(a) · op(b)`, or the error naming both shapes.
pub fn matmul_shape(a: Shape, transpose_a: bool, b: Shape, transpose_b: bool) -> Result<Shape> {
    let a_eff = if transpose_a { a.t() } else { a };
    let b_eff = if transpose_b { b.t() } else { b };
    if a_eff.cols != b_eff.rows {
        let op = match (transpose_a, transpose_b) {
            (false, false) => "matmul",
            (true, false) => "matmul(aᵀ, b)",
            (false, true) => "matmul(a, bᵀ)",
            (true, true) => "matmul(aᵀ, bᵀ)",
        };
        return Err(shape_error(
            op,
            a,
            b,
            format!("inner dimensions differ ({} != {})", a_eff.cols, b_eff.rows),
        ));
    }
    let out = Shape::new(a_eff.rows, b_eff.cols);
    out.checked_numel("matmul")?;
    Ok(out)
}

/// How `b` broadcasts against `a` in a [`Binary`] op.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Broadcast {
    /// Same shape.
    Same,
    /// `b` is `[1, cols]`, repeated down the rows.
    Row,
    /// `b` is `[rows, 1]`, repeated across the columns.
    Col,
    /// `b` is `[1, 1]`.
    Scalar,
}

impl Broadcast {
    /// The index into `b` for element `(i, j)` of `a`, where `a` has `cols` columns.
    #[inline]
    pub fn index(self, i: usize, j: usize, cols: usize) -> usize {
        match self {
            Broadcast::Same => i * cols + j,
            Broadcast::Row => j,
            Broadcast::Col => i,
            Broadcast::Scalar => 0,
        }
    }
}

/// Classifies `b` against `a` by the broadcasting rule on [`Binary`].
pub fn broadcast_rule(op: &'static str, a: Shape, b: Shape) -> Result<Broadcast> {
    if a == b {
        Ok(Broadcast::Same)
    } else if b.is_scalar() {
        Ok(Broadcast::Scalar)
    } else if b.rows == 1 && b.cols == a.cols {
        Ok(Broadcast::Row)
    } else if b.cols == 1 && b.rows == a.rows {
        Ok(Broadcast::Col)
    } else {
        Err(shape_error(
            op,
            a,
            b,
            "the right operand must have the left's shape, or be [1, cols], [rows, 1] or [1, 1]",
        ))
    }
}

/// The name of a binary op, for error messages.
pub fn binary_name(op: Binary) -> &'static str {
    match op {
        Binary::Add => "add",
        Binary::Sub => "sub",
        Binary::Mul => "mul",
        Binary::Div => "div",
    }
}

/// The shape of a sum over `axis`.
pub fn sum_shape(x: Shape, axis: Option<Axis>) -> Shape {
    match axis {
        None => Shape::scalar(),
        Some(Axis::Rows) => Shape::new(1, x.cols),
        Some(Axis::Cols) => Shape::new(x.rows, 1),
    }
}

/// Checks that `x` can be broadcast to `to` (and returns how).
pub fn broadcast_to_rule(x: Shape, to: Shape) -> Result<Broadcast> {
    let rule = broadcast_rule("broadcast", to, x).map_err(|_| {
        shape_error(
            "broadcast",
            x,
            to,
            "only [1, cols], [rows, 1] and [1, 1] broadcast to [rows, cols]",
        )
    })?;
    to.checked_numel("broadcast")?;
    Ok(rule)
}

/// The shape of the column concatenation of `parts`.
pub fn concat_cols_shape(parts: &[Shape]) -> Result<Shape> {
    let Some(first) = parts.first() else {
        return Err(Error::Invalid { op: "concat_cols", why: "no tensors given".into() });
    };
    let mut cols: usize = 0;
    for p in parts {
        if p.rows != first.rows {
            return Err(shape_error("concat_cols", *first, *p, "row counts differ"));
        }
        cols = cols.checked_add(p.cols).ok_or_else(|| Error::Invalid {
            op: "concat_cols",
            why: format!(
                "the widths of {} tensors add up to more than {} columns",
                parts.len(),
                usize::MAX
            ),
        })?;
    }
    let out = Shape::new(first.rows, cols);
    out.checked_numel("concat_cols")?;
    Ok(out)
}

/// Checks a column slice `start .. start + len` of `x`.
pub fn slice_cols_shape(x: Shape, start: usize, len: usize) -> Result<Shape> {
    // Saturating, so a huge `start` is an error rather than an overflow panic.
    let end = start.saturating_add(len);
    if len == 0 || end > x.cols {
        return Err(Error::Invalid {
            op: "slice_cols",
            why: format!("columns {start}..{end} are outside {x}"),
        });
    }
    Ok(Shape::new(x.rows, len))
}

/// The shape of [`Backend::concat_rows`] on `parts`, or the error naming
/// the two shapes whose column counts differ.
pub fn concat_rows_shape(parts: &[Shape]) -> Result<Shape> {
    let Some(first) = parts.first() else {
        return Err(Error::Invalid { op: "concat_rows", why: "no tensors given".into() });
    };
    let mut rows: usize = 0;
    for p in parts {
        if p.cols != first.cols {
            return Err(shape_error("concat_rows", *first, *p, "column counts differ"));
        }
        rows = rows.checked_add(p.rows).ok_or_else(|| Error::Invalid {
            op: "concat_rows",
            why: format!(
                "the heights of {} tensors add up to more than {} rows",
                parts.len(),
                usize::MAX
            ),
        })?;
    }
    let out = Shape::new(rows, first.cols);
    out.checked_numel("concat_rows")?;
    Ok(out)
}

/// The shape of [`Backend::slice_rows`]: `[len, cols]`, if rows
/// `start .. start + len` are inside `x`.
pub fn slice_rows_shape(x: Shape, start: usize, len: usize) -> Result<Shape> {
    let end = start.saturating_add(len);
    if len == 0 || end > x.rows {
        return Err(Error::Invalid {
            op: "slice_rows",
            why: format!("rows {start}..{end} are outside {x}"),
        });
    }
    Ok(Shape::new(len, x.cols))
}

/// Checks that every index in `idx` is below `bound`, the number of rows
/// (`what` = "rows") or columns (`what` = "columns") of `x`.
fn indices_below(
    op: &'static str,
    idx: &impl IndexInfo,
    bound: usize,
    x: Shape,
    what: &str,
) -> Result<()> {
    match idx.max() {
        Some((at, i)) if i as usize >= bound => Err(Error::Invalid {
            op,
            why: format!(
                "index {i} (position {at} of {}) is out of range for a tensor of {bound} {what} \
                 ({x})",
                idx.len()
            ),
        }),
        _ => Ok(()),
    }
}

/// The shape of [`Backend::gather_rows`]: `[idx.len(), x.cols]`, or the
/// error naming the first index that is not a row of `x`.
pub fn gather_rows_shape(x: Shape, idx: &impl IndexInfo) -> Result<Shape> {
    indices_below("gather_rows", idx, x.rows, x, "rows")?;
    Ok(Shape::new(idx.len(), x.cols))
}

/// The shape of [`Backend::scatter_add_rows`]: `[rows, dy.cols]`, if `dy`
/// has one row per index and every index is below `rows`.
pub fn scatter_add_rows_shape(dy: Shape, idx: &impl IndexInfo, rows: usize) -> Result<Shape> {
    let out = Shape::new(rows, dy.cols);
    if dy.rows != idx.len() {
        return Err(Error::Invalid {
            op: "scatter_add_rows",
            why: format!("{dy} has {} rows but {} indices were given", dy.rows, idx.len()),
        });
    }
    indices_below("scatter_add_rows", idx, rows, out, "rows")?;
    Ok(out)
}

/// Checks `labels` against logits or scores `x` of shape `[n, k]`: one
/// label per row, each a column (`0 ≤ label < k`). `op` names the caller
/// in the error (`"pick_cols"`, `"cross_entropy"`).
pub fn labels_rule(op: &'static str, x: Shape, labels: &impl IndexInfo) -> Result<()> {
    if labels.len() != x.rows {
        return Err(Error::Invalid {
            op,
            why: format!("{x} has {} rows but {} labels were given", x.rows, labels.len()),
        });
    }
    match labels.max() {
        Some((row, label)) if label as usize >= x.cols => Err(Error::Invalid {
            op,
            why: format!(
                "label {label} (row {row}) is not a column of {x}: labels must be below {}",
                x.cols
            ),
        }),
        _ => Ok(()),
    }
}

/// The shape of [`Backend::pick_cols`]: `[n, 1]` for `x` of `[n, k]`.
pub fn pick_cols_shape(x: Shape, labels: &impl IndexInfo) -> Result<Shape> {
    labels_rule("pick_cols", x, labels)?;
    Ok(Shape::new(x.rows, 1))
}

/// The shape of [`Backend::scatter_cols`]: `[n, cols]` for `dy` of `[n, 1]`.
pub fn scatter_cols_shape(dy: Shape, labels: &impl IndexInfo, cols: usize) -> Result<Shape> {
    if dy.cols != 1 {
        return Err(Error::Invalid {
            op: "scatter_cols",
            why: format!("the gradient must be a column [n, 1], got {dy}"),
        });
    }
    let out = Shape::new(dy.rows, cols);
    labels_rule("scatter_cols", out, labels)?;
    Ok(out)
}

/// The shape of [`Backend::logsumexp_rows`]: `[n, 1]`.
pub fn logsumexp_rows_shape(x: Shape) -> Shape {
    Shape::new(x.rows, 1)
}

/// The shape of [`Backend::max_rows`]: `[n, 1]`.
pub fn max_rows_shape(x: Shape) -> Shape {
    Shape::new(x.rows, 1)
}

/// The shape of [`Backend::max_rows_backward`]: `x`'s, after checking that
/// `dy` is the column `[n, 1]` of `x`'s `n` rows.
pub fn max_rows_backward_shape(x: Shape, dy: Shape) -> Result<Shape> {
    if dy != Shape::new(x.rows, 1) {
        return Err(shape_error(
            "max_rows_backward",
            x,
            dy,
            format!("the gradient must be the column [{}, 1] of the rows' maxima", x.rows),
        ));
    }
    Ok(x)
}

/// Checks a layer `x · w + b` ([`Backend::linear`]) and returns the output
/// shape `[batch, out]`: `w` must be `[in, out]` for `x` `[batch, in]`, and
/// `b` the row `[1, out]`.
pub fn linear_shape(x: Shape, w: Shape, b: Option<Shape>) -> Result<Shape> {
    if x.cols != w.rows {
        return Err(shape_error(
            "linear",
            x,
            w,
            format!("the weight must be [{}, out] for this input", x.cols),
        ));
    }
    let out = Shape::new(x.rows, w.cols);
    if let Some(b) = b {
        if b != Shape::new(1, w.cols) {
            return Err(shape_error(
                "linear",
                w,
                b,
                format!("the bias must be the row [1, {}] for this weight", w.cols),
            ));
        }
    }
    Ok(out)
}

/// Checks that an optimizer's tensors all have the parameter's shape.
pub fn same_shape(op: &'static str, param: Shape, other: Shape) -> Result<()> {
    if param != other {
        return Err(shape_error(
            op,
            param,
            other,
            "optimizer state must have the parameter's shape",
        ));
    }
    Ok(())
}

/// The shape of [`Backend::reshape`]'s output: `shape`, if it has as many
/// elements as `x`.
pub fn reshape_shape(x: Shape, shape: Shape) -> Result<Shape> {
    if x.numel() != shape.numel() {
        return Err(shape_error("reshape", x, shape, "a reshape keeps the number of elements"));
    }
    Ok(shape)
}

/// The shape of [`Backend::conv2d`]'s output, `[batch, C_out·OH·OW]`, after
/// checking `x` and `w` against `g`.
pub fn conv2d_shape(x: Shape, w: Shape, g: &ConvGeometry) -> Result<Shape> {
    g.check_input("conv2d", x, w)?;
    Ok(Shape::new(x.rows, g.out_cols()))
}

/// The shape of [`Backend::conv2d_backward_input`]'s output,
/// `[batch, C_in·H·W]`, after checking `dy` and `w` against `g`.
pub fn conv2d_backward_input_shape(dy: Shape, w: Shape, g: &ConvGeometry) -> Result<Shape> {
    g.check_output("conv2d_backward_input", dy, w)?;
    Ok(Shape::new(dy.rows, g.in_cols()))
}

/// The shape of [`Backend::conv2d_backward_weight`]'s output,
/// `[C_out, C_in·k·k]`, after checking `x` and `dy` against `g` and each
/// other.
pub fn conv2d_backward_weight_shape(x: Shape, dy: Shape, g: &ConvGeometry) -> Result<Shape> {
    let op = "conv2d_backward_weight";
    g.validate(op)?;
    if x.cols != g.in_cols() || dy.cols != g.out_cols() || x.rows != dy.rows {
        return Err(shape_error(
            op,
            x,
            dy,
            format!(
                "the input must be [batch, {}] and the output's gradient [batch, {}] for {g}",
                g.in_cols(),
                g.out_cols()
            ),
        ));
    }
    Ok(g.weight_shape())
}
