//! Elementwise maps `y = f(x)`.
//!
//! They share one recording: the backward is `dx = dy · f'(x)`, computed by
//! the backend's `unary_backward`, which has each `f'` written beside its `f`
//! (`reference/unary.rs`; `shaders/unary.wgsl` on the GPU).

use crate::ops::Rule;
use crate::tape::InputGrads;
use crate::{Backend, Result, Unary, Var};

impl<B: Backend> Var<B> {
    /// Applies the elementwise map `op` and records its backward.
    pub fn map(&self, op: Unary) -> Var<B> {
        let y = self.backend().unary(op, &self.value);
        let (x, out) = (self.value.clone(), y.clone());
        self.tape.record_on_own_tape(y, &[self], MapRule { op, x, y: out })
    }
}

/// What the backward below needs, saved when the op is recorded.
pub(crate) struct MapRule<B: Backend> {
    pub(crate) op: Unary,
    pub(crate) x: B::Tensor,
    pub(crate) y: B::Tensor,
}

/// The backward of [`Var::map`]: y = f(x)  =>  dx = dy · f'(x), with f'
/// given x and y (whichever is cheaper: σ' = y(1 - y), exp' = y).
impl<B: Backend> Rule<B> for MapRule<B> {
    fn name(&self) -> &'static str {
        "map"
    }

    fn backward(&self, be: &B, dy: &B::Tensor, inputs: &mut InputGrads<'_, B>) -> Result<()> {
        let MapRule { op, ref x, ref y } = *self;
        inputs.add(0, be.unary_backward(op, x, y, dy))
    }
}

impl<B: Backend> Var<B> {
    /// e^x. Derivative: e^x.
    pub fn exp(&self) -> Var<B> {
        self.map(Unary::Exp)
    }

    /// ln x. Derivative: 1/x.
    pub fn log(&self) -> Var<B> {
        self.map(Unary::Log)
    }

    /// √x. Derivative: 1/(2√x).
    pub fn sqrt(&self) -> Var<B> {
        self.map(Unary::Sqrt)
    }

    /// x^n. Derivative: n x^(n-1).
    pub fn powi(&self, n: i32) -> Var<B> {
        self.map(Unary::Powi(n))
    }

    /// x². Derivative: 2x.
    pub fn square(&self) -> Var<B> {
        self.powi(2)
    }

    /// tanh x. Derivative: 1 - tanh²x.
    pub fn tanh(&self) -> Var<B> {
        self.map(Unary::Tanh)
    }

    /// σ(x) = 1/(1 + e^-x). Derivative: σ(x)(1 - σ(x)).
    pub fn sigmoid(&self) -> Var<B> {
        self.map(Unary::Sigmoid)
    }

    /// max(x, 0). Derivative: 1 for x > 0, else 0.
    pub fn relu(&self) -> Var<B> {
        self.map(Unary::Relu)
    }

    /// x for x > 0, else slope · x. Derivative: 1 or slope.
    pub fn leaky_relu(&self, slope: f64) -> Var<B> {
        self.map(Unary::LeakyRelu(slope))
    }

    /// x for x > 0, else α(e^x - 1). Derivative: 1, or α e^x.
    pub fn elu(&self, alpha: f64) -> Var<B> {
        self.map(Unary::Elu(alpha))
    }

    /// ln(1 + e^x), finite for any x. Derivative: σ(x).
    pub fn softplus(&self) -> Var<B> {
        self.map(Unary::Softplus)
    }

    /// min(max(x, lo), hi). Derivative: 1 inside (lo, hi), else 0.
    pub fn clamp(&self, lo: f64, hi: f64) -> Var<B> {
        self.map(Unary::Clamp(lo, hi))
    }
}
