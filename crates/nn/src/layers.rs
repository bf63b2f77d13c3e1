//! The building blocks of a multilayer perceptron: activations, weight
//! initialisers and the affine layer [`Linear`].
//!
//! A layer here is only a *shape* (and a way to fill its parameters): the
//! parameter tensors themselves live in a [`crate::ParamStore`] that outlives
//! every tape, and are handed to the layer's [`crate::Layer::forward`] as
//! variables each step.

use crate::layer::{Layer, LayerContext, Spec};
use minimax_autodiff::rng::derive_seed;
use minimax_autodiff::{Backend, Dist, Result, Shape, Unary, Var};
use std::fmt;

/// An elementwise nonlinearity applied after a layer.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Activation {
    /// y = x (a linear output).
    Identity,
    /// y = tanh x.
    Tanh,
    /// y = σ(x) = 1 / (1 + e^-x).
    Sigmoid,
    /// y = max(x, 0).
    Relu,
    /// y = x for x > 0, else slope · x (the GAN trick "LeakyReLU, not ReLU":
    /// a unit that is off still passes a little gradient).
    LeakyRelu(f64),
    /// y = x for x > 0, else α (e^x - 1).
    Elu(f64),
}

impl Activation {
    /// Applies the activation, recording its backward on the tape: the
    /// elementwise map [`Activation::as_unary`] names, or `x` itself.
    pub fn apply<B: Backend>(self, x: &Var<B>) -> Var<B> {
        match self.as_unary() {
            Some(op) => x.map(op),
            None => x.clone(),
        }
    }

    /// The activation as the backend [`Unary`] it is (every activation is
    /// one, so it is its function, derivative and kernels), or `None` for
    /// the identity.
    pub fn as_unary(self) -> Option<Unary> {
        match self {
            Activation::Identity => None,
            Activation::Tanh => Some(Unary::Tanh),
            Activation::Sigmoid => Some(Unary::Sigmoid),
            Activation::Relu => Some(Unary::Relu),
            Activation::LeakyRelu(slope) => Some(Unary::LeakyRelu(slope)),
            Activation::Elu(alpha) => Some(Unary::Elu(alpha)),
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activation::Identity => write!(f, "identity"),
            Activation::Tanh => write!(f, "tanh"),
            Activation::Sigmoid => write!(f, "sigmoid"),
            Activation::Relu => write!(f, "relu"),
            Activation::LeakyRelu(slope) => write!(f, "leaky_relu({slope})"),
            Activation::Elu(alpha) => write!(f, "elu({alpha})"),
        }
    }
}

impl std::str::FromStr for Activation {
    type Err = String;

    /// Parses what [`fmt::Display`] writes: `identity`, `tanh`, `sigmoid`,
    /// `relu`, `leaky_relu(0.2)`, `elu(1)`.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let arg = |name: &str| -> Option<std::result::Result<f64, String>> {
            let inner = s.strip_prefix(name)?.strip_prefix('(')?.strip_suffix(')')?;
            Some(inner.parse().map_err(|_| format!("activation {s:?}: {inner:?} is not a number")))
        };
        match s {
            "identity" => Ok(Activation::Identity),
            "tanh" => Ok(Activation::Tanh),
            "sigmoid" => Ok(Activation::Sigmoid),
            "relu" => Ok(Activation::Relu),
            _ => {
                if let Some(slope) = arg("leaky_relu") {
                    return Ok(Activation::LeakyRelu(slope?));
                }
                if let Some(alpha) = arg("elu") {
                    return Ok(Activation::Elu(alpha?));
                }
                Err(format!(
                    "unknown activation {s:?}: expected identity, tanh, sigmoid, relu, \
                     leaky_relu(SLOPE) or elu(ALPHA)"
                ))
            }
        }
    }
}

/// How a layer's weights and bias are drawn at the start of training.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Init {
    /// Glorot & Bengio (2010): `W ~ U(-a, a)` with `a = √(6 / (fan_in + fan_out))`,
    /// which keeps the variance of activations and of gradients roughly equal
    /// from layer to layer; the bias starts at 0.
    XavierUniform,
    /// PyTorch's `nn.Linear` default: `W ~ U(-1/√fan_in, 1/√fan_in)` and the
    /// bias from the same range. (PyTorch writes it as Kaiming-uniform with
    /// `a = √5`: bound `= √(6 / ((1 + a²) fan_in)) = 1/√fan_in`.)
    TorchDefault,
}

impl fmt::Display for Init {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Init::XavierUniform => "xavier-uniform",
            Init::TorchDefault => "torch-default",
        })
    }
}

impl std::str::FromStr for Init {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "xavier-uniform" => Ok(Init::XavierUniform),
            "torch-default" => Ok(Init::TorchDefault),
            _ => {
                Err(format!("unknown initialiser {s:?}: expected xavier-uniform or torch-default"))
            }
        }
    }
}

/// An affine layer `y = x·W + b` from `fan_in` to `fan_out` features.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Linear {
    /// Input features.
    pub fan_in: usize,
    /// Output features.
    pub fan_out: usize,
}

impl Linear {
    /// The weight's shape, `[fan_in, fan_out]`.
    pub fn weight_shape(&self) -> Shape {
        Shape::new(self.fan_in, self.fan_out)
    }

    /// The bias's shape, `[1, fan_out]` (one row, repeated down the batch).
    pub fn bias_shape(&self) -> Shape {
        Shape::new(1, self.fan_out)
    }

    /// Fresh `(weight, bias)` tensors drawn by `init` on the backend with the
    /// counter-based generator, so every backend starts from the same
    /// numbers. `seed` identifies the layer (see [`crate::Sequential::init_params`]).
    pub fn init<B: Backend>(&self, backend: &B, init: Init, seed: u64) -> (B::Tensor, B::Tensor) {
        let weight_seed = derive_seed(&[seed, 0]);
        let bias_seed = derive_seed(&[seed, 1]);
        let uniform = |a: f64| Dist::Uniform { lo: -a, hi: a };
        match init {
            Init::XavierUniform => {
                let a = (6.0 / (self.fan_in + self.fan_out) as f64).sqrt();
                let w = backend.random(self.weight_shape(), uniform(a), weight_seed);
                (w, backend.fill(self.bias_shape(), 0.0))
            }
            Init::TorchDefault => {
                let a = 1.0 / (self.fan_in as f64).sqrt();
                let w = backend.random(self.weight_shape(), uniform(a), weight_seed);
                let b = backend.random(self.bias_shape(), uniform(a), bias_seed);
                (w, b)
            }
        }
    }
}

impl Layer for Linear {
    fn param_specs(&self) -> Vec<Spec> {
        vec![("weight", self.weight_shape()), ("bias", self.bias_shape())]
    }

    fn init_params<B: Backend>(&self, backend: &B, init: Init, seed: u64) -> Vec<B::Tensor> {
        let (w, b) = self.init(backend, init, seed);
        vec![w, b]
    }

    fn widths(&self) -> Option<(usize, usize)> {
        Some((self.fan_in, self.fan_out))
    }

    /// `x·W + b`: `[batch, fan_in] · [fan_in, fan_out] + [1, fan_out]`
    /// (the bias broadcast down the rows) `= [batch, fan_out]`, recorded as
    /// one op ([`Var::linear`]); its value is `x.matmul(w)?.add(b)`.
    fn forward<B: Backend>(
        &self,
        params: &[Var<B>],
        x: &Var<B>,
        _: &mut LayerContext<'_, B>,
    ) -> Result<Var<B>> {
        x.linear(&params[0], Some(&params[1]), None)
    }

    /// `f(x·W + b)` as one op ([`Var::linear`]: one kernel on the GPU).
    fn forward_then<B: Backend>(
        &self,
        params: &[Var<B>],
        x: &Var<B>,
        act: Activation,
        _: &mut LayerContext<'_, B>,
    ) -> Result<Var<B>> {
        x.linear(&params[0], Some(&params[1]), act.as_unary())
    }
}

impl Layer for Activation {
    fn forward<B: Backend>(
        &self,
        _: &[Var<B>],
        x: &Var<B>,
        _: &mut LayerContext<'_, B>,
    ) -> Result<Var<B>> {
        Ok(self.apply(x))
    }

    fn as_activation(&self) -> Option<Activation> {
        Some(*self)
    }
}

crate::serde_as_string!(Activation);
crate::serde_as_string!(Init);
