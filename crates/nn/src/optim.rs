//! Optimizers: SGD (momentum, Nesterov, weight decay), Adam and AdamW, with
//! per-parameter state, on any [`ParamStore`] and gradients from any source.
//!
//! The common cases are fused backend kernels: plain Adam updates every
//! parameter in one multi-tensor call ([`Backend::adam_step_many`]), SGD
//! one kernel per parameter ([`Backend::sgd_step`]); weight decay and
//! Nesterov momentum are written with the backend's elementwise primitives
//! around them, so every backend gets them for free. This file keeps the
//! state tensors and, per parameter, the number of updates it has had.
//!
//! PyTorch's conventions, which these follow exactly:
//! - SGD: `g ← g + λp` (weight decay), `v ← μv + g`, then `p ← p − lr·v`,
//!   or with Nesterov `p ← p − lr·(g + μv)`.
//! - Adam: `g ← g + λp` (L2 weight decay), `m ← β₁m + (1−β₁)g`,
//!   `v ← β₂v + (1−β₂)g²`, `p ← p − lr·m̂/(√v̂ + ε)` with
//!   `m̂ = m/(1−β₁ᵗ)`, `v̂ = v/(1−β₂ᵗ)`, where `t` counts **this parameter's**
//!   updates: a parameter that got no gradient at some step is not counted
//!   (and is left alone, state included).
//! - AdamW: the decay is decoupled, `p ← p − lr·λ·p` before the Adam update.

use crate::{Param, ParamStore};
use minimax_autodiff::{
    AdamStep, AdamTensors, Backend, Binary, Error, Grads, Result, Shape, TensorShape, Unary, Var,
};
use std::fmt;

/// Which optimizer, and its hyperparameters. Build one with
/// [`OptimizerConfig::sgd`], [`OptimizerConfig::adam`] or
/// [`OptimizerConfig::adamw`], then refine it with the `with_` methods.
#[derive(Copy, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// SGD with momentum, as PyTorch does it.
    Sgd {
        /// Learning rate.
        lr: f64,
        /// Momentum μ (0 for plain SGD).
        momentum: f64,
        /// Nesterov momentum: step along `g + μv` rather than `v`.
        nesterov: bool,
        /// L2 weight decay λ, added to the gradient as `λp`.
        weight_decay: f64,
    },
    /// Adam (Kingma & Ba, 2015), or AdamW (Loshchilov & Hutter, 2019).
    Adam {
        /// Learning rate α.
        lr: f64,
        /// First-moment decay β₁ (0.5 is the usual choice for GANs, after DCGAN).
        beta1: f64,
        /// Second-moment decay β₂.
        beta2: f64,
        /// ε added to √v̂.
        eps: f64,
        /// Weight decay λ.
        weight_decay: f64,
        /// `true` for AdamW: the decay shrinks the weights directly
        /// (`p ← p − lr·λ·p`) instead of being added to the gradient.
        decoupled: bool,
    },
}

impl OptimizerConfig {
    /// SGD with momentum `momentum` (0 for plain SGD).
    pub fn sgd(lr: f64, momentum: f64) -> Self {
        OptimizerConfig::Sgd { lr, momentum, nesterov: false, weight_decay: 0.0 }
    }

    /// Adam with the given learning rate, decays and ε.
    pub fn adam(lr: f64, beta1: f64, beta2: f64, eps: f64) -> Self {
        OptimizerConfig::Adam { lr, beta1, beta2, eps, weight_decay: 0.0, decoupled: false }
    }

    /// AdamW: Adam with decoupled weight decay `weight_decay`.
    pub fn adamw(lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64) -> Self {
        OptimizerConfig::Adam { lr, beta1, beta2, eps, weight_decay, decoupled: true }
    }

    /// The same optimizer with weight decay λ (L2 for SGD and Adam,
    /// decoupled for AdamW).
    pub fn with_weight_decay(mut self, lambda: f64) -> Self {
        match &mut self {
            OptimizerConfig::Sgd { weight_decay, .. }
            | OptimizerConfig::Adam { weight_decay, .. } => *weight_decay = lambda,
        }
        self
    }

    /// SGD with Nesterov momentum (no effect on Adam).
    pub fn with_nesterov(mut self) -> Self {
        if let OptimizerConfig::Sgd { nesterov, .. } = &mut self {
            *nesterov = true;
        }
        self
    }

    /// The learning rate.
    pub fn lr(&self) -> f64 {
        match *self {
            OptimizerConfig::Sgd { lr, .. } | OptimizerConfig::Adam { lr, .. } => lr,
        }
    }

    /// The same optimizer with learning rate `lr`.
    pub fn with_lr(mut self, new_lr: f64) -> Self {
        match &mut self {
            OptimizerConfig::Sgd { lr, .. } | OptimizerConfig::Adam { lr, .. } => *lr = new_lr,
        }
        self
    }

    /// Checks every hyperparameter, naming the one that is out of range.
    ///
    /// The learning rate must be positive and at least `f32::MIN_POSITIVE`
    /// (about 1.2e-38): a smaller one is 0 on an `f32` backend, which would
    /// silently train nothing.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let in_range = |name: &str, x: f64, ok: bool, range: &str| {
            if ok && x.is_finite() {
                Ok(())
            } else {
                Err(format!("{self}: {name} = {x:?} is out of range; it must be {range}"))
            }
        };
        let lr = self.lr();
        in_range("lr", lr, lr >= f32::MIN_POSITIVE as f64, "positive and at least 1.2e-38")?;
        match *self {
            OptimizerConfig::Sgd { momentum, nesterov, weight_decay, .. } => {
                in_range("momentum", momentum, (0.0..1.0).contains(&momentum), "in [0, 1)")?;
                in_range("weight_decay", weight_decay, weight_decay >= 0.0, "≥ 0")?;
                if nesterov && momentum == 0.0 {
                    return Err(format!("{self}: Nesterov momentum needs momentum > 0"));
                }
            }
            OptimizerConfig::Adam { beta1, beta2, eps, weight_decay, .. } => {
                in_range("beta1", beta1, (0.0..1.0).contains(&beta1), "in [0, 1)")?;
                in_range("beta2", beta2, (0.0..1.0).contains(&beta2), "in [0, 1)")?;
                in_range("eps", eps, eps > 0.0, "positive")?;
                in_range("weight_decay", weight_decay, weight_decay >= 0.0, "≥ 0")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for OptimizerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            OptimizerConfig::Sgd { lr, momentum, nesterov, weight_decay } => {
                write!(f, "sgd(lr={lr:?}, momentum={momentum:?}")?;
                if nesterov {
                    write!(f, ", nesterov")?;
                }
                if weight_decay != 0.0 {
                    write!(f, ", weight_decay={weight_decay:?}")?;
                }
                write!(f, ")")
            }
            OptimizerConfig::Adam { lr, beta1, beta2, eps, weight_decay, decoupled } => {
                let name = if decoupled { "adamw" } else { "adam" };
                write!(f, "{name}(lr={lr:?}, beta1={beta1:?}, beta2={beta2:?}, eps={eps:e}")?;
                if weight_decay != 0.0 {
                    write!(f, ", weight_decay={weight_decay:?}")?;
                }
                write!(f, ")")
            }
        }
    }
}

/// The per-parameter state of one optimizer.
#[derive(Clone, Debug)]
enum Slots<T> {
    /// SGD's velocity `v`.
    Sgd { velocity: T },
    /// Adam's first and second moments `m`, `v`.
    Adam { m: T, v: T },
}

/// An optimizer over one [`ParamStore`]: its hyperparameters, one set of
/// state tensors per parameter, and each parameter's update count.
///
/// ```
/// use minimax_autodiff::{Backend, Shape, Tape};
/// use minimax_cpu::Cpu;
/// use minimax_nn::{Optimizer, OptimizerConfig, ParamStore};
///
/// // Minimise (p - 3)² from p = 0 with plain SGD, lr 0.25:
/// // dL/dp = 2(p - 3) = -6, so p ← 0 - 0.25·(-6) = 1.5.
/// let be = Cpu::<f64>::new();
/// let mut params = ParamStore::new();
/// params.push("p", be.upload(Shape::scalar(), &[0.0])?);
/// let mut opt = Optimizer::new(&be, OptimizerConfig::sgd(0.25, 0.0), &params);
/// let tape = Tape::new(be);
/// let vars = params.on_tape(&tape);
/// let loss = vars[0].add_scalar(-3.0).square();
/// let grads = tape.backward(&loss)?;
/// opt.step(&be, &mut params, &vars, &grads)?;
/// assert_eq!(be.download(&params.get("p").unwrap().tensor)?, vec![1.5]);
/// # Ok::<(), minimax_autodiff::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Optimizer<B: Backend> {
    config: OptimizerConfig,
    slots: Vec<Slots<B::Tensor>>,
    /// Updates each parameter has had (Adam's `t` for its last update).
    counts: Vec<u32>,
    /// Calls to [`Optimizer::step`] so far.
    steps: u32,
}

impl<B: Backend> Optimizer<B> {
    /// Zeroed state for every parameter of `params`.
    pub fn new(backend: &B, config: OptimizerConfig, params: &ParamStore<B>) -> Self {
        let zeros = |p: &Param<B>| backend.fill(p.tensor.shape(), 0.0);
        let slots = params
            .iter()
            .map(|p| match config {
                OptimizerConfig::Sgd { .. } => Slots::Sgd { velocity: zeros(p) },
                OptimizerConfig::Adam { .. } => Slots::Adam { m: zeros(p), v: zeros(p) },
            })
            .collect();
        Optimizer { config, slots, counts: vec![0; params.len()], steps: 0 }
    }

    /// The hyperparameters.
    pub fn config(&self) -> OptimizerConfig {
        self.config
    }

    /// Sets the learning rate of the next updates (for a schedule such as
    /// [`crate::LrDecay`]); the state is kept.
    pub fn set_lr(&mut self, lr: f64) {
        self.config = self.config.with_lr(lr);
    }

    /// Calls to [`Optimizer::step`] so far.
    pub fn steps(&self) -> u32 {
        self.steps
    }

    /// How many updates each parameter has had, in the store's order
    /// (Adam's bias corrections use these, one count per parameter).
    pub fn update_counts(&self) -> &[u32] {
        &self.counts
    }

    /// One update of every parameter of `params` whose leaf in `vars` (from
    /// [`ParamStore::on_tape`]) received a gradient in `grads`.
    pub fn step(
        &mut self,
        backend: &B,
        params: &mut ParamStore<B>,
        vars: &[Var<B>],
        grads: &Grads<B>,
    ) -> Result<()> {
        self.step_with(backend, params, |i| vars.get(i).and_then(|v| grads.get(v)))
    }

    /// One update of every parameter for which `grad(i)` gives a gradient
    /// (`i` is the parameter's position in `params`): gradients from any
    /// source, a tape, a finite difference or a file. Parameters with no
    /// gradient are left alone, state and update count included (as in
    /// PyTorch, where such a parameter's `.grad` is `None`).
    pub fn step_with<'g>(
        &mut self,
        backend: &B,
        params: &mut ParamStore<B>,
        grad: impl Fn(usize) -> Option<&'g B::Tensor>,
    ) -> Result<()>
    where
        B::Tensor: 'g,
    {
        self.check_store(params)?; // before anything moves
        self.steps += 1;
        for (i, param) in params.iter().enumerate() {
            if let Some(g) = grad(i) {
                let (p, g) = (param.tensor.shape(), g.shape());
                minimax_autodiff::backend::same_shape("Optimizer::step", p, g)?;
            }
        }
        for (i, count) in self.counts.iter_mut().enumerate() {
            *count += u32::from(grad(i).is_some());
        }
        // The usual case: plain Adam, every parameter at the same count. One
        // multi-tensor update (a few kernels on the GPU, not one per tensor).
        if let Some(hp) = self.shared_adam_step(&grad) {
            let slots = params.iter_mut().zip(&mut self.slots).enumerate();
            let tensors = slots.filter_map(|(i, (param, slots))| {
                let Slots::Adam { m, v } = slots else { unreachable!("Adam's slots") };
                Some(AdamTensors { param: &mut param.tensor, grad: grad(i)?, m, v })
            });
            return backend.adam_step_many(tensors, hp);
        }
        let slots = self.slots.iter_mut().zip(&self.counts);
        for (i, (param, (slots, &count))) in params.iter_mut().zip(slots).enumerate() {
            if let Some(g) = grad(i) {
                update(backend, self.config, &mut param.tensor, g, slots, count)?;
            }
        }
        Ok(())
    }

    /// Checks that `params` is the store this optimizer was built for: one
    /// parameter per state slot, each of its slot's shape. Otherwise the
    /// error names the first that differs, and nothing is updated (a store
    /// with more parameters would have the extra ones skipped silently).
    fn check_store(&self, params: &ParamStore<B>) -> Result<()> {
        let why = if params.len() != self.slots.len() {
            Some(format!(
                "the optimizer was built for {} parameters, the store has {}",
                self.slots.len(),
                params.len()
            ))
        } else {
            params.iter().zip(&self.slots).find_map(|(p, slots)| {
                let state = match slots {
                    Slots::Sgd { velocity } => velocity.shape(),
                    Slots::Adam { m, .. } => m.shape(),
                };
                let shape = p.tensor.shape();
                (shape != state)
                    .then(|| format!("{} is {shape}, the optimizer's state for it {state}", p.name))
            })
        };
        match why {
            Some(why) => Err(Error::Invalid { op: "Optimizer::step", why }),
            None => Ok(()),
        }
    }

    /// Adam's hyperparameters for this update, if it is plain Adam (no
    /// weight decay) and every parameter with a gradient is at the same
    /// update count `t`.
    fn shared_adam_step<'g>(
        &self,
        grad: &impl Fn(usize) -> Option<&'g B::Tensor>,
    ) -> Option<AdamStep>
    where
        B::Tensor: 'g,
    {
        let OptimizerConfig::Adam { lr, beta1, beta2, eps, weight_decay, .. } = self.config else {
            return None;
        };
        let mut counts =
            (0..self.counts.len()).filter(|&i| grad(i).is_some()).map(|i| self.counts[i]);
        let t = counts.next()?;
        (weight_decay == 0.0 && counts.all(|c| c == t)).then_some(AdamStep {
            lr,
            beta1,
            beta2,
            eps,
            t,
        })
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

    /// Restores the state written by [`Optimizer::state`] and
    /// [`Optimizer::update_counts`]: `lookup` is asked for each name and must
    /// return a tensor of the parameter's shape.
    pub fn load_state(
        &mut self,
        params: &ParamStore<B>,
        steps: u32,
        counts: &[u32],
        mut lookup: impl FnMut(&str, Shape) -> std::result::Result<B::Tensor, String>,
    ) -> std::result::Result<(), String> {
        if counts.len() != params.len() {
            return Err(format!("{} update counts for {} parameters", counts.len(), params.len()));
        }
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
        self.counts.copy_from_slice(counts);
        self.steps = steps;
        Ok(())
    }
}

/// The names [`Optimizer::state`] gives for an optimizer `config` over
/// parameters `params`, with each tensor's shape,
/// without touching the tensors (to validate a file before loading it).
pub fn state_specs(config: OptimizerConfig, params: &[(String, Shape)]) -> Vec<(String, Shape)> {
    let suffixes: &[&str] = match config {
        OptimizerConfig::Sgd { .. } => &["velocity"],
        OptimizerConfig::Adam { .. } => &["m", "v"],
    };
    params
        .iter()
        .flat_map(|(name, shape)| suffixes.iter().map(move |s| (format!("{name}.{s}"), *shape)))
        .collect()
}

/// One parameter's update, its `t`-th.
fn update<B: Backend>(
    backend: &B,
    config: OptimizerConfig,
    param: &mut B::Tensor,
    grad: &B::Tensor,
    slots: &mut Slots<B::Tensor>,
    t: u32,
) -> Result<()> {
    // g + λp, the L2 decay folded into the gradient (SGD, Adam).
    let l2 = |lambda: f64, p: &B::Tensor| {
        backend.binary(Binary::Add, grad, &backend.unary(Unary::MulScalar(lambda), p))
    };
    match (config, slots) {
        (
            OptimizerConfig::Sgd { lr, momentum, nesterov, weight_decay },
            Slots::Sgd { velocity },
        ) => {
            let decayed;
            let g = if weight_decay != 0.0 {
                decayed = l2(weight_decay, param)?;
                &decayed
            } else {
                grad
            };
            if !nesterov {
                // v ← μv + g, p ← p − lr·v: one fused kernel.
                return backend.sgd_step(param, g, velocity, lr, momentum);
            }
            // v ← μv + g, then p ← p − lr·(g + μv).
            *velocity = backend.binary(
                Binary::Add,
                &backend.unary(Unary::MulScalar(momentum), velocity),
                g,
            )?;
            let step = backend.binary(
                Binary::Add,
                g,
                &backend.unary(Unary::MulScalar(momentum), velocity),
            )?;
            *param =
                backend.binary(Binary::Sub, param, &backend.unary(Unary::MulScalar(lr), &step))?;
            Ok(())
        }
        (
            OptimizerConfig::Adam { lr, beta1, beta2, eps, weight_decay, decoupled },
            Slots::Adam { m, v },
        ) => {
            let hp = AdamStep { lr, beta1, beta2, eps, t };
            if weight_decay == 0.0 {
                return backend.adam_step(param, grad, m, v, hp);
            }
            if decoupled {
                // AdamW: p ← p·(1 − lr·λ), then the plain Adam update.
                *param = backend.unary(Unary::MulScalar(1.0 - lr * weight_decay), param);
                return backend.adam_step(param, grad, m, v, hp);
            }
            let g = l2(weight_decay, param)?;
            backend.adam_step(param, &g, m, v, hp)
        }
        _ => unreachable!("slots are created to match the config"),
    }
}
