//! [`BatchNorm1d`] (Ioffe & Szegedy 2015): each feature normalised over the
//! batch, then scaled and shifted by learned `γ` and `β`,
//!
//! ```text
//! training:   y = γ · (x − mean_batch) / √(var_batch + ε) + β
//! evaluation: y = γ · (x − running_mean) / √(running_var + ε) + β
//! ```
//!
//! as PyTorch's `nn.BatchNorm1d` does: the batch variance is the biased one,
//! and the running statistics, updated at every training forward pass with
//! `momentum`, use the unbiased one. The normalisation is
//! [`Var::batch_norm`], composed from primitives, so its gradient comes from
//! theirs; the running statistics are "buffers": kept beside the parameters
//! in a [`ParamStore`] of their own, never trained, saved with the model.

use crate::layer::{Layer, LayerContext, Spec};
use crate::layers::Init;
use crate::ParamStore;
use minimax_autodiff::{Backend, Result, Shape, Var};

/// A layer's running statistics `(mean, var)`, each `[1, features]`.
pub type Running<B> = (<B as Backend>::Tensor, <B as Backend>::Tensor);

/// The shape of one batch-norm layer over `features` columns.
#[derive(Copy, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchNorm1d {
    /// Columns normalised.
    pub features: usize,
    /// ε added to the variance (PyTorch: 1e-5).
    pub eps: f64,
    /// Weight of the new batch in the running statistics (PyTorch: 0.1).
    pub momentum: f64,
}

impl BatchNorm1d {
    /// PyTorch's defaults: ε = 1e-5, momentum 0.1.
    pub fn new(features: usize) -> Self {
        BatchNorm1d { features, eps: 1e-5, momentum: 0.1 }
    }

    /// The shape of `γ`, `β` and the running statistics: `[1, features]`.
    pub fn shape(&self) -> Shape {
        Shape::new(1, self.features)
    }

    /// Training mode on `x` (`[n, features]`, n ≥ 2): normalises with the
    /// batch's statistics and returns, beside `y`, the updated running
    /// statistics `(mean, var)` (computed off the tape).
    pub fn forward_train<B: Backend>(
        &self,
        x: &Var<B>,
        gamma: &Var<B>,
        beta: &Var<B>,
        running: (&B::Tensor, &B::Tensor),
    ) -> Result<(Var<B>, Running<B>)> {
        let out = x.batch_norm(self.eps)?; // normalised [n, k]; mean, var [1, k]
        let stats = out.updated_running_stats(running.0, running.1, self.momentum)?;
        Ok((out.normalised.mul(gamma)?.add(beta)?, stats))
    }

    /// Evaluation mode: normalises with the running statistics.
    pub fn forward_eval<B: Backend>(
        &self,
        x: &Var<B>,
        gamma: &Var<B>,
        beta: &Var<B>,
        running: (&B::Tensor, &B::Tensor),
    ) -> Result<Var<B>> {
        let tape = x.tape();
        let (mean, var) = (tape.constant(running.0.clone()), tape.constant(running.1.clone()));
        x.batch_norm_eval(&mean, &var, self.eps)?.mul(gamma)?.add(beta)
    }
}

impl Layer for BatchNorm1d {
    fn param_specs(&self) -> Vec<Spec> {
        vec![("gamma", self.shape()), ("beta", self.shape())]
    }

    /// `γ = 1`, `β = 0`: the layer starts as a plain normalisation.
    fn init_params<B: Backend>(&self, backend: &B, _: Init, _: u64) -> Vec<B::Tensor> {
        vec![backend.fill(self.shape(), 1.0), backend.fill(self.shape(), 0.0)]
    }

    fn running_specs(&self) -> Vec<Spec> {
        vec![("running_mean", self.shape()), ("running_var", self.shape())]
    }

    /// Running mean 0 and running variance 1, PyTorch's starting buffers.
    fn init_running<B: Backend>(&self, backend: &B) -> Vec<B::Tensor> {
        vec![backend.fill(self.shape(), 0.0), backend.fill(self.shape(), 1.0)]
    }

    /// `[batch, features] -> [batch, features]`: the batch's statistics
    /// (and the running ones updated) when the pass trains, the running
    /// ones when it evaluates.
    fn forward<B: Backend>(
        &self,
        params: &[Var<B>],
        x: &Var<B>,
        ctx: &mut LayerContext<'_, B>,
    ) -> Result<Var<B>> {
        let (gamma, beta) = (&params[0], &params[1]);
        let running = (ctx.running(0)?, ctx.running(1)?);
        if !ctx.updates_running() {
            return self.forward_eval(x, gamma, beta, running);
        }
        let (y, (mean, var)) = self.forward_train(x, gamma, beta, running)?;
        ctx.set_running(0, mean)?;
        ctx.set_running(1, var)?;
        Ok(y)
    }
}

/// Which statistics a network's batch-norm layers use in a forward pass.
pub enum Norm<'a, B: Backend> {
    /// Training: the batch's own, and the running ones in the store are
    /// updated (`layer{l}.running_mean`, `layer{l}.running_var`).
    Train(&'a mut ParamStore<B>),
    /// Evaluation: the running ones in the store.
    Eval(&'a ParamStore<B>),
}

impl<B: Backend> Norm<'_, B> {
    /// The same choice and store, borrowed for a shorter while (one
    /// layer's forward).
    pub fn reborrow(&mut self) -> Norm<'_, B> {
        match self {
            Norm::Train(store) => Norm::Train(store),
            Norm::Eval(store) => Norm::Eval(store),
        }
    }
}
