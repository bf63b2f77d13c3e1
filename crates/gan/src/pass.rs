//! The plumbing of a training step's passes, kept out of Algorithm 1's
//! way: the one tape every D- and G-pass records on, the vectors that hold
//! each pass's leaves (reused, so a step in steady state allocates
//! nothing), and the values the progress line will read.

use crate::error::TrainError;
use minimax_autodiff::{Backend, Tape, Var};

/// The variables of one D- or G-pass, before its update is applied.
pub struct Pass<B: Backend> {
    /// The loss the pass minimises (`[1, 1]`).
    pub loss: Var<B>,
    /// G's parameters as leaves on the pass's tape.
    pub g_vars: Vec<Var<B>>,
    /// D's parameters as leaves on the pass's tape.
    pub d_vars: Vec<Var<B>>,
    /// D's logits on the real batch (D-passes only).
    pub real_logits: Option<Var<B>>,
    /// D's logits on the fake batch.
    pub fake_logits: Var<B>,
    /// The fake batch `[batch, dim]`.
    pub fake: Var<B>,
}

/// Room for the leaves of a pass: G's and D's parameters as variables.
pub type LeafVecs<B> = (Vec<Var<B>>, Vec<Var<B>>);

impl<B: Backend> Pass<B> {
    /// Drops the pass and returns its leaf vectors, emptied, for the next
    /// pass to fill.
    pub(crate) fn into_leaf_vecs(self) -> LeafVecs<B> {
        let (mut g_vars, mut d_vars) = (self.g_vars, self.d_vars);
        g_vars.clear();
        d_vars.clear();
        (g_vars, d_vars)
    }
}

/// The device tensors the progress line is computed from (read only when
/// a line is printed): the last D-pass's loss, logits and fake batch, and
/// the last G-pass's loss.
pub(crate) struct LastStep<B: Backend> {
    pub(crate) d_loss: Option<B::Tensor>,
    pub(crate) g_loss: Option<B::Tensor>,
    pub(crate) real_logits: Option<B::Tensor>,
    pub(crate) fake_logits: Option<B::Tensor>,
    pub(crate) fake: Option<B::Tensor>,
}

impl<B: Backend> Default for LastStep<B> {
    fn default() -> Self {
        LastStep { d_loss: None, g_loss: None, real_logits: None, fake_logits: None, fake: None }
    }
}

/// The tape, the leaf vectors and the last values of a trainer's passes.
pub(crate) struct Passes<B: Backend> {
    /// The tape of every D- and G-pass, reset before each.
    pub(crate) tape: Tape<B>,
    leaf_vecs: LeafVecs<B>,
    /// What the progress line reads.
    pub(crate) last: LastStep<B>,
}

impl<B: Backend> Passes<B> {
    /// An empty tape on `backend`.
    pub(crate) fn new(backend: B) -> Self {
        Passes {
            tape: Tape::new(backend),
            leaf_vecs: (Vec::new(), Vec::new()),
            last: LastStep::default(),
        }
    }

    /// Empties the tape for the next pass and hands out the leaf vectors.
    pub(crate) fn fresh(&mut self) -> Result<LeafVecs<B>, TrainError> {
        self.tape.reset()?;
        Ok(std::mem::take(&mut self.leaf_vecs))
    }

    /// Keeps what the progress line needs from a finished pass (handles to
    /// device tensors, nothing is copied) and takes its leaf vectors back.
    pub(crate) fn recycle(&mut self, pass: Pass<B>) {
        let last = &mut self.last;
        match &pass.real_logits {
            Some(real_logits) => {
                last.d_loss = Some(pass.loss.value().clone());
                last.real_logits = Some(real_logits.value().clone());
                last.fake_logits = Some(pass.fake_logits.value().clone());
                last.fake = Some(pass.fake.value().clone());
            }
            None => last.g_loss = Some(pass.loss.value().clone()),
        }
        self.leaf_vecs = pass.into_leaf_vecs();
    }
}
