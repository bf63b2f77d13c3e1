//! [`Mlp`]: a multilayer perceptron described by its widths and
//! activations, built as a [`Sequential`] of [`Linear`] layers, each
//! followed by its activation, with optional batch normalisation before the
//! activation and dropout after the hidden layers.

use crate::batchnorm::BatchNorm1d;
use crate::dropout::Dropout;
use crate::layer::LayerKind;
use crate::layers::{Activation, Linear};
use crate::sequential::Sequential;
use minimax_autodiff::{Error, Result};

/// A multilayer perceptron `sizes[0] → sizes[1] → … → sizes[n]`, with
/// `activations[l]` after layer `l`; [`Mlp::build`] makes the network.
///
/// Layer `l` is block `l` of the [`Sequential`]: `Linear`, then
/// `BatchNorm1d` if asked for, the activation, and `Dropout` on the hidden
/// layers if asked for. So its parameters are `layer{l}.weight`,
/// `layer{l}.bias` (and `layer{l}.gamma`, `layer{l}.beta`), drawn from
/// `derive_seed(&[seed, l])`.
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    /// The widths, input first.
    sizes: Vec<usize>,
    /// One activation per layer (the last one is the output's).
    activations: Vec<Activation>,
    /// Per layer, whether a batch normalisation sits between the affine map
    /// and the activation.
    batch_norm: Vec<bool>,
    /// The probability of keeping a hidden unit, with dropout.
    keep: Option<f64>,
}

impl Mlp {
    /// An MLP with the given layer widths (input first, output last) and one
    /// activation per layer.
    pub fn new(sizes: &[usize], activations: &[Activation]) -> Result<Mlp> {
        if sizes.len() < 2 || sizes.contains(&0) {
            return Err(Error::Invalid {
                op: "Mlp::new",
                why: format!("layer sizes {sizes:?}: need at least two, all positive"),
            });
        }
        if activations.len() != sizes.len() - 1 {
            return Err(Error::Invalid {
                op: "Mlp::new",
                why: format!(
                    "{} layers need {} activations, got {}",
                    sizes.len() - 1,
                    sizes.len() - 1,
                    activations.len()
                ),
            });
        }
        let batch_norm = vec![false; activations.len()];
        Ok(Mlp { sizes: sizes.to_vec(), activations: activations.to_vec(), batch_norm, keep: None })
    }

    /// The same MLP with a [`BatchNorm1d`] (PyTorch's defaults) after the
    /// affine map of each layer in `layers` (0-based), before its activation.
    pub fn with_batch_norm(mut self, layers: &[usize]) -> Result<Mlp> {
        for &l in layers {
            let Some(norm) = self.batch_norm.get_mut(l) else {
                return Err(Error::Invalid {
                    op: "Mlp::with_batch_norm",
                    why: format!(
                        "layer {l} does not exist: the MLP has {}",
                        self.activations.len()
                    ),
                });
            };
            *norm = true;
        }
        Ok(self)
    }

    /// The same MLP with [`Dropout`] after each hidden layer's activation,
    /// keeping a unit with probability `keep` (in (0, 1]).
    pub fn with_dropout(mut self, keep: f64) -> Result<Mlp> {
        if !(keep > 0.0 && keep <= 1.0) {
            return Err(Error::Invalid {
                op: "Mlp::with_dropout",
                why: format!("keep probability {keep}: must be in (0, 1]"),
            });
        }
        self.keep = Some(keep);
        Ok(self)
    }

    /// The network: one block per layer (see [`Mlp`]).
    pub fn build(&self) -> Sequential {
        let last = self.activations.len() - 1;
        let mut net = Sequential::new();
        for (l, w) in self.sizes.windows(2).enumerate() {
            let mut block = vec![LayerKind::from(Linear { fan_in: w[0], fan_out: w[1] })];
            if self.batch_norm[l] {
                block.push(BatchNorm1d::new(w[1]).into());
            }
            block.push(self.activations[l].into());
            if let (Some(keep), true) = (self.keep, l < last) {
                block.push(Dropout { keep }.into());
            }
            net.push_block(block).expect("an MLP's blocks fit and name distinct tensors");
        }
        net
    }
}
