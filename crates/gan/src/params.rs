//! [`ParamStore`]: the parameter tensors of one network, kept across steps.
//!
//! A [`Tape`] records one forward and backward pass; parameters must
//! outlive it. So each training step goes:
//!
//! 1. a new tape, or last step's tape emptied by [`Tape::reset`];
//!    [`ParamStore::on_tape`] puts every parameter on it as a tracked leaf
//!    (the tensor handle is shared, nothing is copied);
//! 2. forward pass, loss, [`Tape::backward`];
//! 3. the optimizer reads each leaf's gradient and updates the tensor in the
//!    store in place (see [`crate::Optimizer::step`]); the step's variables
//!    and gradients are dropped, so the tape can be reset for the next one.

use minimax_autodiff::{Backend, Real, Result, Tape, TensorShape, Var};

/// One named parameter tensor.
#[derive(Clone, Debug)]
pub struct Param<B: Backend> {
    /// A name such as `"layer0.weight"`, used in checkpoints.
    pub name: String,
    /// The current value.
    pub tensor: B::Tensor,
}

/// The parameters of one network, in the order its forward pass takes them.
#[derive(Clone, Debug)]
pub struct ParamStore<B: Backend> {
    params: Vec<Param<B>>,
}

impl<B: Backend> Default for ParamStore<B> {
    fn default() -> Self {
        ParamStore { params: Vec::new() }
    }
}

impl<B: Backend> ParamStore<B> {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a parameter.
    pub fn push(&mut self, name: impl Into<String>, tensor: B::Tensor) {
        self.params.push(Param { name: name.into(), tensor });
    }

    /// How many tensors.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// The parameters, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Param<B>> {
        self.params.iter()
    }

    /// The parameters, mutably (for the optimizer and for loading).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Param<B>> {
        self.params.iter_mut()
    }

    /// The total number of scalars.
    pub fn numel(&self) -> usize {
        self.params.iter().map(|p| p.tensor.shape().numel()).sum()
    }

    /// Every parameter as a tracked leaf on `tape`: gradients will flow to them.
    pub fn on_tape(&self, tape: &Tape<B>) -> Vec<Var<B>> {
        let mut vars = Vec::with_capacity(self.len());
        self.on_tape_into(tape, &mut vars);
        vars
    }

    /// [`ParamStore::on_tape`] into `vars` (emptied first), reusing its
    /// storage: a training loop keeps one `Vec` from step to step.
    pub fn on_tape_into(&self, tape: &Tape<B>, vars: &mut Vec<Var<B>>) {
        vars.clear();
        vars.extend(self.params.iter().map(|p| tape.leaf(p.tensor.clone())));
    }

    /// Every parameter as a constant on `tape` (for evaluation: no gradients,
    /// and no backward rules are recorded).
    pub fn constants(&self, tape: &Tape<B>) -> Vec<Var<B>> {
        self.params.iter().map(|p| tape.constant(p.tensor.clone())).collect()
    }

    /// Copies every tensor to the host as `f64`, in order (for checkpoints
    /// and tests; downloads from the device).
    pub fn download(&self, backend: &B) -> Result<Vec<Vec<f64>>> {
        self.params
            .iter()
            .map(|p| Ok(backend.download(&p.tensor)?.into_iter().map(Real::to_f64).collect()))
            .collect()
    }
}
