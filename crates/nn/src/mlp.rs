//! [`Mlp`]: a stack of [`Linear`] layers, each followed by an [`Activation`],
//! with optional dropout after the hidden layers.

use crate::layers::{Activation, Init, Linear};
use crate::{Module, ParamStore};
use minimax_autodiff::rng::derive_seed;
use minimax_autodiff::{Backend, Dist, Error, Result, Shape, Var};

/// Dropout on the hidden layers of one forward pass.
///
/// Each hidden unit is kept with probability `keep` and zeroed otherwise;
/// kept units are scaled by `1/keep` so the expected activation is unchanged
/// and nothing needs rescaling at evaluation time ("inverted dropout").
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Dropout {
    /// Probability of keeping a unit, in (0, 1].
    pub keep: f64,
    /// Seed of this pass's masks; hidden layer `l` uses `derive_seed(&[seed, l])`.
    pub seed: u64,
}

/// A multilayer perceptron: `sizes[0] → sizes[1] → … → sizes[n]`, with
/// `activations[l]` after layer `l`.
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    /// The affine layers, in order.
    pub layers: Vec<Linear>,
    /// One activation per layer (the last one is the output's).
    pub activations: Vec<Activation>,
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
        let layers = sizes.windows(2).map(|w| Linear { fan_in: w[0], fan_out: w[1] }).collect();
        Ok(Mlp { layers, activations: activations.to_vec() })
    }

    /// The widths, input first: `[fan_in of layer 0, fan_out of each layer…]`.
    pub fn sizes(&self) -> Vec<usize> {
        let mut sizes = vec![self.layers[0].fan_in];
        sizes.extend(self.layers.iter().map(|l| l.fan_out));
        sizes
    }

    /// Input features.
    pub fn input_size(&self) -> usize {
        self.layers[0].fan_in
    }

    /// Output features.
    pub fn output_size(&self) -> usize {
        self.layers[self.layers.len() - 1].fan_out
    }

    /// Fresh parameters `layer{l}.weight`, `layer{l}.bias` for every layer,
    /// drawn on `backend`; layer `l` draws from `derive_seed(&[seed, l])`,
    /// so two networks given different seeds start differently.
    pub fn init_params<B: Backend>(&self, backend: &B, init: Init, seed: u64) -> ParamStore<B> {
        let mut store = ParamStore::new();
        for (l, layer) in self.layers.iter().enumerate() {
            let (w, b) = layer.init(backend, init, derive_seed(&[seed, l as u64]));
            store.push(format!("layer{l}.weight"), w);
            store.push(format!("layer{l}.bias"), b);
        }
        store
    }

    /// The forward pass. `params` are the variables of
    /// [`ParamStore::on_tape`] (or [`ParamStore::constants`]) of a store that
    /// matches [`Module::param_specs`]: `layer0.weight`, `layer0.bias`, … in
    /// layer order.
    pub fn forward<B: Backend>(
        &self,
        params: &[Var<B>],
        x: &Var<B>,
        dropout: Option<Dropout>,
    ) -> Result<Var<B>> {
        if params.len() != 2 * self.layers.len() {
            return Err(Error::Invalid {
                op: "Mlp::forward",
                why: format!(
                    "{} layers need {} parameters, got {}",
                    self.layers.len(),
                    2 * self.layers.len(),
                    params.len()
                ),
            });
        }
        let last = self.layers.len() - 1;
        let mut h = x.clone(); // [batch, sizes[0]]
        for (l, (layer, act)) in self.layers.iter().zip(&self.activations).enumerate() {
            // [batch, fan_in] -> [batch, fan_out]
            h = act.apply(&layer.forward(&params[2 * l], &params[2 * l + 1], &h)?);
            if let (Some(d), true) = (dropout, l < last) {
                h = apply_dropout(&h, d.keep, derive_seed(&[d.seed, l as u64]))?;
            }
        }
        Ok(h)
    }
}

impl Module for Mlp {
    fn param_specs(&self) -> Vec<(String, Shape)> {
        let mut specs = Vec::with_capacity(2 * self.layers.len());
        for (l, layer) in self.layers.iter().enumerate() {
            specs.push((format!("layer{l}.weight"), layer.weight_shape()));
            specs.push((format!("layer{l}.bias"), layer.bias_shape()));
        }
        specs
    }
}

/// `h · mask / keep` with `mask ~ Bernoulli(keep)` drawn on the backend. The
/// mask is a constant, so the backward is `dh = dy · mask / keep`.
fn apply_dropout<B: Backend>(h: &Var<B>, keep: f64, seed: u64) -> Result<Var<B>> {
    if keep >= 1.0 {
        return Ok(h.clone());
    }
    // [batch, width] of 0s and 1s, then scaled to 0 or 1/keep.
    let mask = h.tape().random(h.shape(), Dist::Bernoulli { p: keep }, seed).mul_scalar(1.0 / keep);
    h.mul(&mask)
}
