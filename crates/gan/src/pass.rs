//! The plumbing of a training step's passes, kept out of Algorithm 1's
//! way: the one tape every D- and G-pass records on, the vectors that hold
//! each pass's leaves and gradients (reused, so a step in steady state
//! allocates nothing), and the values the progress line will read.

use crate::error::TrainError;
use minimax_autodiff::{Backend, Tape, Var};

/// The variables of one D- or G-pass, before its update is applied.
pub struct Pass<B: Backend> {
    /// The loss the pass minimises (`[1, 1]`).
    pub loss: Var<B>,
    /// G's parameters on the pass's tape (leaves where G is trained).
    pub g_vars: Vec<Var<B>>,
    /// D's parameters on the pass's tape (leaves where D is trained).
    pub d_vars: Vec<Var<B>>,
    /// D's logits: in a G-pass, on the fake batch; in a D-pass, on the
    /// real batch, or on the real and the fake batch stacked (the real
    /// rows first) when D saw them as one batch.
    pub logits: Var<B>,
    /// In a D-pass where D saw the two batches apart, its logits on the
    /// fake batch.
    pub fake_logits: Option<Var<B>>,
    /// The fake batch `[batch, dim]`.
    pub fake: Var<B>,
}

/// Room for the leaves of a pass: G's and D's parameters as variables.
pub type LeafVecs<B> = (Vec<Var<B>>, Vec<Var<B>>);

/// Which player a pass trains.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Player {
    /// The generator.
    G,
    /// The discriminator.
    D,
}

/// The device tensors the progress line is computed from (read only when
/// a line is printed): the last D-pass's loss, logits and fake batch, and
/// the last G-pass's loss.
pub(crate) struct LastStep<B: Backend> {
    pub(crate) d_loss: Option<B::Tensor>,
    pub(crate) g_loss: Option<B::Tensor>,
    /// D's logits on the real batch and on the fake one, or (`None`
    /// second) on both stacked, the real rows first.
    pub(crate) d_logits: Option<(B::Tensor, Option<B::Tensor>)>,
    pub(crate) fake: Option<B::Tensor>,
}

impl<B: Backend> Default for LastStep<B> {
    fn default() -> Self {
        LastStep { d_loss: None, g_loss: None, d_logits: None, fake: None }
    }
}

/// The tape, the leaf vectors and the last values of a trainer's passes.
pub(crate) struct Passes<B: Backend> {
    /// The tape of every D- and G-pass, reset before each.
    pub(crate) tape: Tape<B>,
    leaf_vecs: LeafVecs<B>,
    /// The last pass's gradients, one per parameter of the player it trains.
    grads: Vec<Option<B::Tensor>>,
    /// What the progress line reads.
    pub(crate) last: LastStep<B>,
}

impl<B: Backend> Passes<B> {
    /// An empty tape on `backend`.
    pub(crate) fn new(backend: B) -> Self {
        Passes {
            tape: Tape::new(backend),
            leaf_vecs: (Vec::new(), Vec::new()),
            grads: Vec::new(),
            last: LastStep::default(),
        }
    }

    /// Empties the tape for the next pass and hands out the leaf vectors.
    pub(crate) fn fresh(&mut self) -> Result<LeafVecs<B>, TrainError> {
        self.tape.reset()?;
        Ok(std::mem::take(&mut self.leaf_vecs))
    }

    /// Differentiates `pass`'s loss and returns the gradients of `player`'s
    /// parameters, in the store's order (`None` for a parameter the loss
    /// does not reach). Before returning, it drops the pass's variables and
    /// empties the tape, so the gradients are the only handles left on
    /// them and the parameters are shared with nothing: the optimizer then
    /// updates them in place, without copying.
    pub(crate) fn gradients(
        &mut self,
        pass: Pass<B>,
        player: Player,
    ) -> Result<&[Option<B::Tensor>], TrainError> {
        let mut grads = self.tape.backward(&pass.loss)?;
        let vars = match player {
            Player::G => &pass.g_vars,
            Player::D => &pass.d_vars,
        };
        self.grads.clear();
        self.grads.extend(vars.iter().map(|v| grads.take(v)));
        drop(grads);
        self.recycle(pass, player);
        self.tape.reset()?;
        Ok(&self.grads)
    }

    /// Keeps what the progress line needs from a finished pass (handles to
    /// device tensors, nothing is copied) and takes its leaf vectors back,
    /// emptied, for the next pass to fill.
    fn recycle(&mut self, pass: Pass<B>, player: Player) {
        let last = &mut self.last;
        let loss = Some(pass.loss.value().clone());
        match player {
            Player::D => {
                last.d_loss = loss;
                let fake_logits = pass.fake_logits.map(|l| l.value().clone());
                last.d_logits = Some((pass.logits.value().clone(), fake_logits));
                last.fake = Some(pass.fake.value().clone());
            }
            Player::G => last.g_loss = loss,
        }
        let (mut g_vars, mut d_vars) = (pass.g_vars, pass.d_vars);
        g_vars.clear();
        d_vars.clear();
        self.leaf_vecs = (g_vars, d_vars);
    }
}
