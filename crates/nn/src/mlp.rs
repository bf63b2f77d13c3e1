//! [`Mlp`]: a stack of [`Linear`] layers, each followed by an [`Activation`],
//! with optional batch normalisation before the activation and dropout after
//! the hidden layers.

use crate::batchnorm::{BatchNorm1d, Norm};
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
    /// Per layer, a batch normalisation between the affine map and the
    /// activation, or none (see [`Mlp::with_batch_norm`]).
    pub norms: Vec<Option<BatchNorm1d>>,
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
        let norms = vec![None; activations.len()];
        Ok(Mlp { layers, activations: activations.to_vec(), norms })
    }

    /// The same MLP with a [`BatchNorm1d`] (PyTorch's defaults) after the
    /// affine map of each layer in `layers` (0-based), before its activation.
    pub fn with_batch_norm(mut self, layers: &[usize]) -> Result<Mlp> {
        for &l in layers {
            let Some(layer) = self.layers.get(l) else {
                return Err(Error::Invalid {
                    op: "Mlp::with_batch_norm",
                    why: format!("layer {l} does not exist: the MLP has {}", self.layers.len()),
                });
            };
            self.norms[l] = Some(BatchNorm1d::new(layer.fan_out));
        }
        Ok(self)
    }

    /// Whether any layer is batch-normalised (and so needs running
    /// statistics: [`Mlp::init_running`], [`Mlp::forward_norm`]).
    pub fn has_batch_norm(&self) -> bool {
        self.norms.iter().any(Option::is_some)
    }

    /// Fresh running statistics for every batch-normalised layer:
    /// `layer{l}.running_mean` (0) and `layer{l}.running_var` (1).
    pub fn init_running<B: Backend>(&self, backend: &B) -> ParamStore<B> {
        let mut store = ParamStore::new();
        for (l, norm) in self.norms.iter().enumerate() {
            if let Some(bn) = norm {
                let (mean, var) = bn.init_running(backend);
                store.push(format!("layer{l}.running_mean"), mean);
                store.push(format!("layer{l}.running_var"), var);
            }
        }
        store
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
            if let Some(bn) = &self.norms[l] {
                let (gamma, beta) = bn.init(backend);
                store.push(format!("layer{l}.gamma"), gamma);
                store.push(format!("layer{l}.beta"), beta);
            }
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
        self.forward_layers(params, x, dropout, None, self.layers.len())
    }

    /// The forward pass of an MLP with batch normalisation: `norm` says
    /// whether its layers use the batch's statistics (and update the running
    /// ones) or the running ones.
    pub fn forward_norm<B: Backend>(
        &self,
        params: &[Var<B>],
        x: &Var<B>,
        dropout: Option<Dropout>,
        norm: Norm<'_, B>,
    ) -> Result<Var<B>> {
        self.forward_layers(params, x, dropout, Some(norm), self.layers.len())
    }

    /// The output of the first `n` layers, activations included (`n` = the
    /// number of layers is the whole forward pass; one less gives the
    /// last hidden layer's features, as a classifier's embedding).
    pub fn forward_layers<B: Backend>(
        &self,
        params: &[Var<B>],
        x: &Var<B>,
        dropout: Option<Dropout>,
        mut norm: Option<Norm<'_, B>>,
        n: usize,
    ) -> Result<Var<B>> {
        // Counted, not listed: a training step must not allocate here.
        let need = 2 * self.layers.len() + 2 * self.norms.iter().flatten().count();
        if params.len() != need || n > self.layers.len() {
            return Err(Error::Invalid {
                op: "Mlp::forward",
                why: format!(
                    "{} layers need {need} parameters, got {}; asked for {n} layers",
                    self.layers.len(),
                    params.len()
                ),
            });
        }
        if self.has_batch_norm() && norm.is_none() {
            return Err(Error::Invalid {
                op: "Mlp::forward",
                why: "this MLP has batch normalisation: use forward_norm".into(),
            });
        }
        let last = self.layers.len() - 1;
        let mut p = params.iter();
        let mut h = x.clone(); // [batch, sizes[0]]
        for (l, (layer, act)) in self.layers.iter().zip(&self.activations).enumerate().take(n) {
            let (w, b) = (p.next().expect("counted"), p.next().expect("counted"));
            h = match (&self.norms[l], &mut norm) {
                // [batch, fan_in] -> [batch, fan_out]: x·W + b, normalised,
                // then the activation.
                (Some(bn), Some(norm)) => {
                    let z = layer.forward(w, b, &h)?;
                    let (gamma, beta) = (p.next().expect("counted"), p.next().expect("counted"));
                    act.apply(&normalise(bn, l, &z, gamma, beta, norm)?)
                }
                // [batch, fan_in] -> [batch, fan_out]: f(x·W + b) as one op
                // (`Var::linear`: one kernel on the GPU).
                _ => h.linear(w, Some(b), act.as_unary())?,
            };
            if let (Some(d), true) = (dropout, l < last) {
                h = apply_dropout(&h, d.keep, derive_seed(&[d.seed, l as u64]))?;
            }
        }
        Ok(h)
    }
}

/// Layer `l`'s batch normalisation of `h`, updating its running statistics
/// in training mode.
fn normalise<B: Backend>(
    bn: &BatchNorm1d,
    l: usize,
    h: &Var<B>,
    gamma: &Var<B>,
    beta: &Var<B>,
    norm: &mut Norm<'_, B>,
) -> Result<Var<B>> {
    let (mean_name, var_name) = (format!("layer{l}.running_mean"), format!("layer{l}.running_var"));
    let missing = || Error::Invalid {
        op: "Mlp::forward_norm",
        why: format!("no running statistics {mean_name} and {var_name} (see Mlp::init_running)"),
    };
    match norm {
        Norm::Eval(store) => {
            let (m, v) = (
                store.get(&mean_name).ok_or_else(missing)?,
                store.get(&var_name).ok_or_else(missing)?,
            );
            bn.forward_eval(h, gamma, beta, (&m.tensor, &v.tensor))
        }
        Norm::Train(store) => {
            let (m, v) = (
                store.get(&mean_name).ok_or_else(missing)?,
                store.get(&var_name).ok_or_else(missing)?,
            );
            let (y, (mean, var)) = bn.forward_train(h, gamma, beta, (&m.tensor, &v.tensor))?;
            store.get_mut(&mean_name).expect("found above").tensor = mean;
            store.get_mut(&var_name).expect("found above").tensor = var;
            Ok(y)
        }
    }
}

impl Module for Mlp {
    fn param_specs(&self) -> Vec<(String, Shape)> {
        let mut specs = Vec::with_capacity(2 * self.layers.len());
        for (l, layer) in self.layers.iter().enumerate() {
            specs.push((format!("layer{l}.weight"), layer.weight_shape()));
            specs.push((format!("layer{l}.bias"), layer.bias_shape()));
            if let Some(bn) = &self.norms[l] {
                specs.push((format!("layer{l}.gamma"), bn.shape()));
                specs.push((format!("layer{l}.beta"), bn.shape()));
            }
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
