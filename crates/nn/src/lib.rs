//! # minimax-nn: neural-network building blocks
//!
//! Everything a training loop needs beside the autodiff itself, generic over
//! the [`minimax_autodiff::Backend`], for any model, not only a GAN's:
//!
//! - `layer.rs`: the [`Layer`] trait, and [`LayerKind`], every layer a
//!   network can hold;
//! - `sequential.rs`: a network of layers in numbered blocks
//!   ([`Sequential`]), which names their parameters and runs them in order;
//! - `layers.rs`: activations, initialisers, the affine layer `x·W + b`;
//! - `batchnorm.rs`: [`BatchNorm1d`] and its running statistics;
//! - `batchnorm2d.rs`: [`BatchNorm2d`], per channel of an image;
//! - `conv.rs`: [`Conv2d`] and [`ConvTranspose2d`], on images as rows;
//! - `dropout.rs`: [`Dropout`];
//! - `mlp.rs`: a multilayer perceptron ([`Mlp`]), built as a [`Sequential`];
//! - `params.rs`: [`ParamStore`], the named parameter tensors that outlive
//!   every tape, and the [`Module`] trait that names a model's parameters;
//! - `optim.rs`: SGD (momentum, Nesterov, weight decay), Adam and AdamW;
//! - `schedule.rs`: learning-rate schedules.
//!
//! A model here is a *shape* (a [`Sequential`] knows its layers' widths
//! and activations); its parameters live in a [`ParamStore`] and go on each
//! step's tape as leaves. `examples/00_regression.rs` fits sin(x) with
//! these pieces in about forty lines.
//!
//! ```
//! use minimax_autodiff::{Backend, Shape, Tape, TensorShape};
//! use minimax_cpu::Cpu;
//! use minimax_nn::{Activation, Init, Mlp, Module};
//!
//! let be = Cpu::<f32>::new();
//! let mlp = Mlp::new(&[2, 8, 1], &[Activation::Tanh, Activation::Identity])?.build();
//! let params = mlp.init_params(&be, Init::XavierUniform, 0);
//! assert_eq!(params.get("layer1.bias").unwrap().tensor.shape(), Shape::new(1, 1));
//! assert_eq!(mlp.param_specs().len(), 4);
//! let tape = Tape::new(be);
//! let x = tape.constant(be.upload(Shape::new(3, 2), &[0.0; 6])?); // [batch 3, 2]
//! let y = mlp.forward(&params.on_tape(&tape), &x)?; // [3, 1]
//! assert_eq!(y.shape(), Shape::new(3, 1));
//! # Ok::<(), minimax_autodiff::Error>(())
//! ```

/// Serialises a type as its `Display` string and parses it back with
/// `FromStr` (`"leaky_relu(0.2)"`, `"xavier-uniform"`), so configs in JSON
/// read as they do on the command line.
#[macro_export]
macro_rules! serde_as_string {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(
                d: D,
            ) -> ::std::result::Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

pub mod batchnorm;
pub mod batchnorm2d;
pub mod conv;
pub mod dropout;
pub mod layer;
pub mod layers;
pub mod mlp;
pub mod optim;
pub mod params;
pub mod schedule;
pub mod sequential;

pub use batchnorm::{BatchNorm1d, Norm};
pub use batchnorm2d::BatchNorm2d;
pub use conv::{Conv2d, ConvTranspose2d};
pub use dropout::Dropout;
pub use layer::{Layer, LayerContext, LayerKind, Spec};
pub use layers::{Activation, Init, Linear};
pub use mlp::Mlp;
pub use optim::{Optimizer, OptimizerConfig};
pub use params::{Module, Param, ParamStore};
pub use schedule::{CosineDecay, LrDecay};
pub use sequential::{Context, Sequential};
