//! Algorithm 1 of Goodfellow et al. (2014), written once for every GAN here:
//! the 1-D and 2-D targets ([`crate::Trainer`]) and the image data sets
//! ([`crate::image::ImageTrainer`]), conditional or not.
//!
//! ```text
//! for each training step:
//!     repeat k times:                                   (the D-steps)
//!         draw m real samples x and m noise vectors z
//!         update D by descending  ∇_θd  D's loss on (x, G(z))      G's output detached
//!         (Wasserstein: clip D's weights to [-c, c])
//!     repeat g_steps times:                             (the G-steps; 1 in the paper)
//!         draw m noise vectors z
//!         update G by descending  ∇_θg  G's loss on D(G(z))         D frozen
//! ```
//!
//! What differs between the GANs is only how a pass is built (what draws
//! the real batch, how G and D see it): that is the [`Game`] a trainer
//! implements. Both players' parameters, optimizers and the plumbing of
//! their passes are the [`Players`], the same for every game.

use crate::error::TrainError;
use crate::loss::GanLoss;
use crate::pass::{LeafVecs, Pass, Passes, Player};
use minimax_autodiff::{Backend, Unary};
use minimax_nn::{LrDecay, Optimizer, ParamStore};

/// The settings of Algorithm 1 a step reads, from the trainer's config.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Rules {
    /// The game.
    pub loss: GanLoss,
    /// D-updates per step: the paper's k.
    pub d_steps: usize,
    /// G-updates per step (1 in the paper).
    pub g_steps: usize,
    /// Wasserstein only: D's weights are clipped to `±clip` after each update.
    pub clip: f64,
    /// Both learning rates fall over the end of the run, if set.
    pub lr_decay: Option<LrDecay>,
    /// The run's length, for the learning-rate schedule.
    pub steps: u64,
    /// G's and D's base learning rates, which the schedule scales.
    pub lr: (f64, f64),
}

/// A GAN's way of building its passes: what draws a real batch, and how G
/// and D see it. [`train_step`] calls these; everything else is shared.
pub trait Game<B: Backend> {
    /// Both players.
    fn players(&mut self) -> &mut Players<B>;

    /// The settings of this run.
    fn rules(&self) -> Rules;

    /// Builds D-step `j` of `step` on the players' tape: D's loss on a real
    /// batch and a fake one whose generator output is detached.
    fn d_pass(&mut self, step: u64, j: u64, leaves: LeafVecs<B>) -> Result<Pass<B>, TrainError>;

    /// Builds G-step `j` of `step`: G's loss on D's answer to fresh fakes,
    /// with D's parameters as constants (D frozen).
    fn g_pass(&mut self, step: u64, j: u64, leaves: LeafVecs<B>) -> Result<Pass<B>, TrainError>;
}

/// One training step of Algorithm 1: `k` D-updates, then `g_steps`
/// G-updates, then a flush. Downloads nothing.
pub fn train_step<B: Backend>(game: &mut impl Game<B>) -> Result<(), TrainError> {
    let rules = game.rules();
    let step = game.players().step;
    game.players().follow_lr_schedule(&rules, step);
    // k D-steps: D learns to tell real from fake; G's output is detached.
    for j in 0..rules.d_steps as u64 {
        let leaves = game.players().passes.fresh()?;
        let pass = game.d_pass(step, j, leaves)?;
        game.players().update(pass, Player::D)?;
        if rules.loss == GanLoss::Wasserstein {
            game.players().clip_critic(rules.clip); // WGAN keeps the critic Lipschitz by clipping
        }
    }
    // The G-steps: G learns from D's answer; the gradient flows through D,
    // but only G's parameters move (D is frozen).
    for j in 0..rules.g_steps as u64 {
        let leaves = game.players().passes.fresh()?;
        let pass = game.g_pass(step, j, leaves)?;
        game.players().update(pass, Player::G)?;
    }
    game.players().end_step()
}

/// Both players' parameters and optimizers, the step counter, and the
/// tape their passes record on.
pub struct Players<B: Backend> {
    pub(crate) backend: B,
    pub(crate) g_params: ParamStore<B>,
    pub(crate) d_params: ParamStore<B>,
    pub(crate) g_opt: Optimizer<B>,
    pub(crate) d_opt: Optimizer<B>,
    /// Steps done so far.
    pub(crate) step: u64,
    /// The tape of every D- and G-pass, reset before each, and the vectors
    /// of their leaves: kept, so a step in steady state allocates nothing.
    pub(crate) passes: Passes<B>,
}

impl<B: Backend> Players<B> {
    /// Fresh players from their parameters and optimizers, at step 0.
    pub(crate) fn new(
        backend: B,
        (g_params, d_params): (ParamStore<B>, ParamStore<B>),
        (g_opt, d_opt): (Optimizer<B>, Optimizer<B>),
    ) -> Self {
        let passes = Passes::new(backend.clone());
        Players { backend, g_params, d_params, g_opt, d_opt, step: 0, passes }
    }

    /// Differentiates `pass`'s loss and updates `player` with it, in place:
    /// `passes.gradients` drops the pass's variables and empties the tape
    /// first, so the parameters are shared with nothing.
    fn update(&mut self, pass: Pass<B>, player: Player) -> Result<(), TrainError> {
        let grads = self.passes.gradients(pass, player)?;
        let (opt, params) = match player {
            Player::G => (&mut self.g_opt, &mut self.g_params),
            Player::D => (&mut self.d_opt, &mut self.d_params),
        };
        opt.step_with(&self.backend, params, |i| grads.get(i)?.as_ref())?;
        Ok(())
    }

    /// Sets both learning rates for `step` from the schedule, if any.
    fn follow_lr_schedule(&mut self, rules: &Rules, step: u64) {
        if let Some(decay) = rules.lr_decay {
            let factor = decay.factor(step, rules.steps);
            self.g_opt.set_lr(rules.lr.0 * factor);
            self.d_opt.set_lr(rules.lr.1 * factor);
        }
    }

    /// WGAN's weight clipping: every critic parameter to `[-c, c]`.
    fn clip_critic(&mut self, c: f64) {
        for p in self.d_params.iter_mut() {
            p.tensor = self.backend.unary(Unary::Clamp(-c, c), &p.tensor);
        }
    }

    /// The last D-pass's and G-pass's losses, on the device.
    pub(crate) fn last_losses(&self) -> (Option<&B::Tensor>, Option<&B::Tensor>) {
        let last = &self.passes.last;
        (last.d_loss.as_ref(), last.g_loss.as_ref())
    }

    /// Counts the step and hands its work to the device.
    fn end_step(&mut self) -> Result<(), TrainError> {
        self.step += 1;
        self.backend.flush()?;
        Ok(())
    }
}
