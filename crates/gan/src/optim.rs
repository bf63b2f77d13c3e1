//! Optimizers: SGD with momentum and Adam, with per-parameter state.
//!
//! The arithmetic is the backend's fused [`Backend::sgd_step`] and
//! [`Backend::adam_step`] (one kernel per parameter on the GPU); this file
//! only keeps the state tensors and the step counter.

use crate::ParamStore;
use minimax_autodiff::{AdamStep, Backend, Grads, Result, Shape, TensorShape, Var};
use std::fmt;

/// Which optimizer, and its hyperparameters.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum OptimizerConfig {
    /// SGD with momentum, as PyTorch does it: `v ← μ v + g`, `p ← p - lr · v`.
    Sgd {
        /// Learning rate.
        lr: f64,
        /// Momentum μ (0 for plain SGD).
        momentum: f64,
    },
    /// Adam (Kingma & Ba, 2015).
    Adam {
        /// Learning rate α.
        lr: f64,
        /// First-moment decay β₁ (0.5 is the usual choice for GANs, after DCGAN).
        beta1: f64,
        /// Second-moment decay β₂.
        beta2: f64,
        /// ε added to √v̂.
        eps: f64,
    },
}

impl OptimizerConfig {
    /// The learning rate.
    pub fn lr(&self) -> f64 {
        match *self {
            OptimizerConfig::Sgd { lr, .. } | OptimizerConfig::Adam { lr, .. } => lr,
        }
    }

    /// The same optimizer with learning rate `lr`.
    pub fn with_lr(self, lr: f64) -> Self {
        match self {
            OptimizerConfig::Sgd { momentum, .. } => OptimizerConfig::Sgd { lr, momentum },
            OptimizerConfig::Adam { beta1, beta2, eps, .. } => {
                OptimizerConfig::Adam { lr, beta1, beta2, eps }
            }
        }
    }
}

impl fmt::Display for OptimizerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptimizerConfig::Sgd { lr, momentum } => write!(f, "sgd(lr={lr}, momentum={momentum})"),
            OptimizerConfig::Adam { lr, beta1, beta2, eps } => {
                write!(f, "adam(lr={lr}, beta1={beta1}, beta2={beta2}, eps={eps:e})")
            }
        }
    }
}

/// The per-parameter state of one optimizer, named for checkpoints.
#[derive(Clone, Debug)]
enum Slots<T> {
    /// SGD's velocity `v`.
    Sgd { velocity: T },
    /// Adam's first and second moments `m`, `v`.
    Adam { m: T, v: T },
}

/// An optimizer over one [`ParamStore`]: its hyperparameters, one set of
/// state tensors per parameter, and the number of updates made so far.
#[derive(Clone, Debug)]
pub struct Optimizer<B: Backend> {
    config: OptimizerConfig,
    slots: Vec<Slots<B::Tensor>>,
    /// Updates made so far (Adam's `t` after the last update).
    steps: u32,
}

impl<B: Backend> Optimizer<B> {
    /// Zeroed state for every parameter of `params`.
    pub fn new(backend: &B, config: OptimizerConfig, params: &ParamStore<B>) -> Self {
        let zeros = |p: &crate::Param<B>| backend.fill(p.tensor.shape(), 0.0);
        let slots = params
            .iter()
            .map(|p| match config {
                OptimizerConfig::Sgd { .. } => Slots::Sgd { velocity: zeros(p) },
                OptimizerConfig::Adam { .. } => Slots::Adam { m: zeros(p), v: zeros(p) },
            })
            .collect();
        Optimizer { config, slots, steps: 0 }
    }

    /// The hyperparameters.
    pub fn config(&self) -> OptimizerConfig {
        self.config
    }

    /// Sets the learning rate of the next updates (for a schedule such as
    /// [`crate::config::LrDecay`]); the state is kept.
    pub fn set_lr(&mut self, lr: f64) {
        self.config = self.config.with_lr(lr);
    }

    /// Updates made so far (Adam's `t`).
    pub fn steps(&self) -> u32 {
        self.steps
    }

    /// One update of every parameter of `params` whose leaf in `vars` (from
    /// [`ParamStore::on_tape`]) received a gradient in `grads`. Parameters
    /// the loss does not depend on are left alone, state included (as in
    /// PyTorch, where such a parameter's `.grad` is `None`).
    pub fn step(
        &mut self,
        backend: &B,
        params: &mut ParamStore<B>,
        vars: &[Var<B>],
        grads: &Grads<B>,
    ) -> Result<()> {
        self.steps += 1;
        let t = self.steps;
        for ((param, var), slots) in params.iter_mut().zip(vars).zip(&mut self.slots) {
            let Some(grad) = grads.get(var) else { continue };
            match (self.config, slots) {
                (OptimizerConfig::Sgd { lr, momentum }, Slots::Sgd { velocity }) => {
                    backend.sgd_step(&mut param.tensor, grad, velocity, lr, momentum)?;
                }
                (OptimizerConfig::Adam { lr, beta1, beta2, eps }, Slots::Adam { m, v }) => {
                    let hp = AdamStep { lr, beta1, beta2, eps, t };
                    backend.adam_step(&mut param.tensor, grad, m, v, hp)?;
                }
                _ => unreachable!("slots are created to match the config"),
            }
        }
        Ok(())
    }

    /// The state tensors, named `"{param}.velocity"` (SGD) or `"{param}.m"`,
    /// `"{param}.v"` (Adam), for a checkpoint.
    pub fn state(&self, params: &ParamStore<B>) -> Vec<(String, B::Tensor)> {
        let mut out = Vec::new();
        for (p, slots) in params.iter().zip(&self.slots) {
            match slots {
                Slots::Sgd { velocity } => {
                    out.push((format!("{}.velocity", p.name), velocity.clone()))
                }
                Slots::Adam { m, v } => {
                    out.push((format!("{}.m", p.name), m.clone()));
                    out.push((format!("{}.v", p.name), v.clone()));
                }
            }
        }
        out
    }

    /// Restores the state written by [`Optimizer::state`]: `lookup` is asked
    /// for each name and must return a tensor of the parameter's shape.
    pub fn load_state(
        &mut self,
        params: &ParamStore<B>,
        steps: u32,
        mut lookup: impl FnMut(&str, Shape) -> std::result::Result<B::Tensor, String>,
    ) -> std::result::Result<(), String> {
        for (p, slots) in params.iter().zip(&mut self.slots) {
            let shape = p.tensor.shape();
            match slots {
                Slots::Sgd { velocity } => {
                    *velocity = lookup(&format!("{}.velocity", p.name), shape)?
                }
                Slots::Adam { m, v } => {
                    *m = lookup(&format!("{}.m", p.name), shape)?;
                    *v = lookup(&format!("{}.v", p.name), shape)?;
                }
            }
        }
        self.steps = steps;
        Ok(())
    }
}
