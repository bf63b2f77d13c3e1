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
//!
//! Parameters have names (`"layer0.weight"`), unique in a store: a model
//! says which it needs through [`Module::param_specs`], and files and
//! optimizer state refer to them by name, never by position alone.

use minimax_autodiff::{Backend, Error, Real, Result, Shape, Tape, TensorShape, Var};

/// A model that names its parameters: what a [`ParamStore`] for it must
/// hold, in the order its forward pass takes them.
pub trait Module {
    /// Each parameter's name and shape, in forward order.
    fn param_specs(&self) -> Vec<(String, Shape)>;

    /// Checks that `store` holds exactly these parameters, in this order and
    /// with these shapes, naming the first that differs.
    fn check_params<B: Backend>(&self, store: &ParamStore<B>) -> Result<()> {
        let specs = self.param_specs();
        let why = if specs.len() != store.len() {
            Some(format!("the model has {} parameters, the store {}", specs.len(), store.len()))
        } else {
            specs.iter().zip(store.iter()).find_map(|((name, shape), p)| {
                let got = p.tensor.shape();
                (name != &p.name || *shape != got).then(|| {
                    format!("expected {name} of shape {shape}, found {} of shape {got}", p.name)
                })
            })
        };
        match why {
            Some(why) => Err(Error::Invalid { op: "Module::check_params", why }),
            None => Ok(()),
        }
    }
}

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
    ///
    /// # Panics
    /// If the store already holds a parameter of that name (names identify
    /// parameters in files and optimizer state, so they must be unique).
    pub fn push(&mut self, name: impl Into<String>, tensor: B::Tensor) {
        let name = name.into();
        assert!(self.get(&name).is_none(), "ParamStore::push: a parameter {name:?} exists already");
        self.params.push(Param { name, tensor });
    }

    /// The parameter called `name`.
    pub fn get(&self, name: &str) -> Option<&Param<B>> {
        self.params.iter().find(|p| p.name == name)
    }

    /// The parameter called `name`, mutably.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Param<B>> {
        self.params.iter_mut().find(|p| p.name == name)
    }

    /// Where the parameter called `name` is in forward order (the index of
    /// its variable in [`ParamStore::on_tape`]'s result).
    pub fn position(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }

    /// Each parameter's name and shape, in order.
    pub fn specs(&self) -> Vec<(String, Shape)> {
        self.params.iter().map(|p| (p.name.clone(), p.tensor.shape())).collect()
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

    /// [`ParamStore::constants`] into `vars` (emptied first), reusing its
    /// storage.
    pub fn constants_into(&self, tape: &Tape<B>, vars: &mut Vec<Var<B>>) {
        vars.clear();
        vars.extend(self.params.iter().map(|p| tape.constant(p.tensor.clone())));
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
