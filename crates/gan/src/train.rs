//! The training loop: Algorithm 1 of Goodfellow et al. (2014).
//!
//! ```text
//! for each training step:
//!     repeat k times:                                   (the D-steps)
//!         draw m real samples x and m noise vectors z
//!         update D by descending  ∇_θd  D's loss on (x, G(z))      G's output detached
//!     repeat g_steps times:                             (the G-steps; 1 in the paper)
//!         draw m noise vectors z
//!         update G by descending  ∇_θg  G's loss on D(G(z))         D frozen
//! ```
//!
//! Every random draw (real data, noise, dropout masks, label noise) is made
//! by the counter-based generator, from a seed derived from `(run seed,
//! purpose, step, sub-step)`, on the backend (the 2-D data sets are drawn on
//! the host and uploaded, see `data.rs`). Nothing else is uploaded per step, and
//! a run resumed from a checkpoint at step `s` draws exactly what an
//! uninterrupted run draws from step `s` on: the two end bit-identical.
//!
//! For a GPU backend, nothing is downloaded inside a step either: the host
//! reads values only for the progress line and the NaN check (every
//! `log_every` steps) and for checkpoints; [`Backend::flush`] hands each
//! step's work to the device without waiting.

use crate::config::{Config, DInput};
use crate::counters::{CounterHook, DeviceCounters};
use crate::error::TrainError;
use crate::loss::GanLoss;
use crate::models::{Discriminator, Generator, DISCRIMINATOR_NET, GENERATOR_NET};
use crate::pass::{LeafVecs, Pass, Passes, Player};
use minimax_autodiff::rng::derive_seed;
use minimax_autodiff::{concat_rows, Backend, Dist, Shape, Tape, Unary, Var};
use minimax_nn::{Optimizer, ParamStore};

/// What a random draw is for. With the run seed, the step and the sub-step
/// it names the draw's stream: `derive_seed(&[seed, purpose, step, j])`.
pub mod purpose {
    /// Real samples for a D-step.
    pub const REAL: u64 = 1;
    /// Noise for a D-step's fake batch.
    pub const NOISE_D: u64 = 2;
    /// Noise for a G-step.
    pub const NOISE_G: u64 = 3;
    /// D's dropout masks on the real batch of a D-step.
    pub const DROPOUT_REAL: u64 = 4;
    /// D's dropout masks on the fake batch of a D-step.
    pub const DROPOUT_FAKE: u64 = 5;
    /// D's dropout masks in a G-step.
    pub const DROPOUT_G: u64 = 6;
    /// Label noise on the real labels.
    pub const FLIP_REAL: u64 = 7;
    /// Label noise on the fake labels.
    pub const FLIP_FAKE: u64 = 8;
    /// Evaluation samples (see `eval.rs`).
    pub const EVAL: u64 = 9;
    /// Figure snapshots (see `eval.rs`).
    pub const SNAPSHOT: u64 = 10;
}

/// A GAN being trained: both players' parameters and optimizers, the step
/// counter, and the config.
///
/// ```
/// use minimax_cpu::Cpu;
/// use minimax_gan::{Config, Preset, RunOptions, Trainer};
///
/// let mut config = Config::preset(Preset::Default);
/// config.steps = 20;
/// let mut trainer = Trainer::new(Cpu::<f32>::new(), config)?;
/// let stats = trainer.run(&RunOptions::default(), |p| println!("{}", p.line()))?;
/// assert_eq!((stats.steps_run, trainer.step()), (20, 20));
/// let eval = trainer.evaluate(1000)?; // G against the data, on fresh samples
/// assert!(eval.generated_std.is_finite());
/// # Ok::<(), minimax_gan::TrainError>(())
/// ```
pub struct Trainer<B: Backend> {
    pub(crate) backend: B,
    pub(crate) config: Config,
    pub(crate) g: Generator,
    pub(crate) d: Discriminator,
    pub(crate) g_params: ParamStore<B>,
    pub(crate) d_params: ParamStore<B>,
    pub(crate) g_opt: Optimizer<B>,
    pub(crate) d_opt: Optimizer<B>,
    /// Steps done so far.
    pub(crate) step: u64,
    /// D's targets `[1, 1]` when there is no label noise: `real_label` and 0.
    fixed_labels: (B::Tensor, B::Tensor),
    /// The same stacked for a joint batch, `[2·batch, 1]`: `batch` rows of
    /// `real_label`, then `batch` of 0.
    fixed_joint_labels: B::Tensor,
    /// The label 1 `[1, 1]`, G's target for its fakes.
    one: B::Tensor,
    /// The tape of every D- and G-pass, reset before each, and the vectors
    /// of their leaves: kept, so a step in steady state allocates nothing.
    pub(crate) passes: Passes<B>,
    pub(crate) counters: Option<CounterHook>,
}

impl<B: Backend> std::fmt::Debug for Trainer<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("backend", &self.backend.name())
            .field("step", &self.step)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<B: Backend> Trainer<B> {
    /// A fresh run: parameters drawn on `backend` from the config's seed,
    /// optimizer state zeroed, step 0.
    pub fn new(backend: B, config: Config) -> Result<Trainer<B>, TrainError> {
        config.validate().map_err(TrainError::Config)?;
        let g = Generator::new(&config)?;
        let d = Discriminator::new(&config)?;
        let g_seed = derive_seed(&[config.seed, GENERATOR_NET]);
        let d_seed = derive_seed(&[config.seed, DISCRIMINATOR_NET]);
        let g_params = g.net.init_params(&backend, config.init, g_seed);
        let d_params = d.net.init_params(&backend, config.init, d_seed);
        let g_opt = Optimizer::new(&backend, config.g_optimizer, &g_params);
        let d_opt = Optimizer::new(&backend, config.d_optimizer, &d_params);
        let fixed_labels =
            (backend.fill(Shape::scalar(), config.real_label), backend.fill(Shape::scalar(), 0.0));
        let column = |v| backend.fill(Shape::new(config.batch, 1), v); // [batch, 1]
        let fixed_joint_labels =
            backend.concat_rows(&[&column(config.real_label), &column(0.0)])?;
        Ok(Trainer {
            backend: backend.clone(),
            config,
            g,
            d,
            g_params,
            d_params,
            g_opt,
            d_opt,
            step: 0,
            fixed_labels,
            fixed_joint_labels,
            one: backend.fill(Shape::scalar(), 1.0),
            passes: Passes::new(backend),
            counters: None,
        })
    }

    /// Reads the device's work counters around each run (see [`crate::PerStep`]).
    pub fn set_counter_hook(&mut self, hook: impl Fn() -> DeviceCounters + 'static) {
        self.counters = Some(Box::new(hook));
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Steps done so far.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Sets the total number of steps (to extend a resumed run). Nothing
    /// in training depends on it, only when [`Trainer::run`] stops, and,
    /// with a learning-rate decay ([`minimax_nn::LrDecay`]), when the
    /// rates fall.
    pub fn set_steps(&mut self, steps: u64) {
        self.config.steps = steps;
    }

    /// The generator.
    pub fn generator(&self) -> &Generator {
        &self.g
    }

    /// The discriminator.
    pub fn discriminator(&self) -> &Discriminator {
        &self.d
    }

    /// G's parameters.
    pub fn g_params(&self) -> &ParamStore<B> {
        &self.g_params
    }

    /// D's parameters.
    pub fn d_params(&self) -> &ParamStore<B> {
        &self.d_params
    }

    /// G's and D's optimizers.
    pub fn optimizers(&self) -> (&Optimizer<B>, &Optimizer<B>) {
        (&self.g_opt, &self.d_opt)
    }

    /// G's and D's parameters and optimizers, mutably, to restore a saved
    /// run (see `minimax-io`'s checkpoints).
    pub fn parts_mut(
        &mut self,
    ) -> (&mut ParamStore<B>, &mut ParamStore<B>, &mut Optimizer<B>, &mut Optimizer<B>) {
        (&mut self.g_params, &mut self.d_params, &mut self.g_opt, &mut self.d_opt)
    }

    /// Sets the number of steps done, to restore a saved run.
    pub fn set_step(&mut self, step: u64) {
        self.step = step;
    }

    /// The seed of one draw: `derive_seed(&[seed, purpose, step, j])`.
    pub fn stream(&self, purpose: u64, step: u64, j: u64) -> u64 {
        derive_seed(&[self.config.seed, purpose, step, j])
    }

    /// D's targets for the real and fake batches of D-step `j` of `step`,
    /// each D's output `shape` or `[1, 1]`:
    /// real = `real_label` (1, or 0.9 with one-sided smoothing) and fake = 0,
    /// except that with label noise each label is flipped with probability
    /// `label_noise` (a flipped real label becomes 0, a flipped fake one 1).
    fn labels(&self, tape: &Tape<B>, shape: Shape, step: u64, j: u64) -> (Var<B>, Var<B>) {
        let (real_label, noise) = (self.config.real_label, self.config.label_noise);
        if noise == 0.0 {
            // The same two scalars every step: made once, in `Trainer::new`.
            let (t_real, t_fake) = &self.fixed_labels;
            return (tape.constant(t_real.clone()), tape.constant(t_fake.clone()));
        }
        // keep ~ Bernoulli(1 - noise): 1 keeps the real label, 0 flips it.
        let keep = Dist::Bernoulli { p: 1.0 - noise };
        let t_real = tape
            .random(shape, keep, self.stream(purpose::FLIP_REAL, step, j))
            .mul_scalar(real_label);
        // flip ~ Bernoulli(noise): 1 turns a fake label into "real".
        let t_fake = tape.random(
            shape,
            Dist::Bernoulli { p: noise },
            self.stream(purpose::FLIP_FAKE, step, j),
        );
        (t_real, t_fake)
    }

    /// [`Trainer::labels`] stacked for D's joint batch, `[2·batch, 1]`: the
    /// real batch's rows, then the fake one's.
    fn joint_labels(&self, tape: &Tape<B>, step: u64, j: u64) -> Result<Var<B>, TrainError> {
        if self.config.label_noise == 0.0 {
            return Ok(tape.constant(self.fixed_joint_labels.clone()));
        }
        let (t_real, t_fake) = self.labels(tape, Shape::new(self.config.batch, 1), step, j);
        Ok(concat_rows(&[&t_real, &t_fake])?)
    }

    /// Builds (without applying) D-step `j` of `step` on `tape`: D's loss on
    /// a real batch and a fake batch whose generator output is **detached**.
    ///
    /// G's parameters go on the tape as leaves, as they would in PyTorch
    /// (where parameters always track gradients); it is the `detach` on G's
    /// output that guarantees D's loss sends G nothing.
    pub fn discriminator_pass(
        &self,
        tape: &Tape<B>,
        step: u64,
        j: u64,
    ) -> Result<Pass<B>, TrainError> {
        self.discriminator_pass_into(tape, step, j, (Vec::new(), Vec::new()))
    }

    /// [`Trainer::discriminator_pass`], with its leaves put in `leaf_vecs`.
    fn discriminator_pass_into(
        &self,
        tape: &Tape<B>,
        step: u64,
        j: u64,
        (mut g_vars, mut d_vars): LeafVecs<B>,
    ) -> Result<Pass<B>, TrainError> {
        let c = &self.config;
        self.g_params.on_tape_into(tape, &mut g_vars);
        self.d_params.on_tape_into(tape, &mut d_vars);
        // [batch, dim]: drawn on the device for the 1-D Gaussian, on the
        // host and uploaded for the 2-D sets (see `data.rs`).
        let real = c.target.draw(tape, c.batch, self.stream(purpose::REAL, step, j))?;
        // [batch, latent]
        let z = self.g.noise(tape, c.batch, self.stream(purpose::NOISE_D, step, j));
        // [batch, dim]; detach: a constant from here on, so no gradient reaches G.
        let fake = self.g.forward(&g_vars, &z)?.detach();
        if self.d.scores_rows_alone() {
            // D scores each sample on its own, so it sees both batches as
            // one, [2·batch, dim] with the real rows first: one pass
            // through D instead of two, the same logits.
            let both = concat_rows(&[&real, &fake])?;
            let logits = self.d.forward(&d_vars, &both, None)?; // [2·batch, 1]
            let targets = self.joint_labels(tape, step, j)?;
            let loss = c.loss.d_loss_joint(&logits, &targets)?;
            return Ok(Pass { loss, g_vars, d_vars, logits, fake_logits: None, fake });
        }
        let dropout_real = Some(self.stream(purpose::DROPOUT_REAL, step, j));
        let dropout_fake = Some(self.stream(purpose::DROPOUT_FAKE, step, j));
        let real_logits = self.d.forward(&d_vars, &real, dropout_real)?; // [batch, 1] or [1, 1]
        let fake_logits = self.d.forward(&d_vars, &fake, dropout_fake)?;
        let (t_real, t_fake) = self.labels(tape, real_logits.shape(), step, j);
        let loss = c.loss.d_loss(&real_logits, &fake_logits, &t_real, &t_fake)?;
        let fake_logits = Some(fake_logits);
        Ok(Pass { loss, g_vars, d_vars, logits: real_logits, fake_logits, fake })
    }

    /// Builds (without applying) G-step `j` of `step` on `tape`: G's loss on
    /// D's answer to a fresh fake batch. D is frozen: its parameters go on
    /// the tape as constants, so the gradient flows *through* D's ops to
    /// reach G, but D's own gradients, which a G-step would throw away, are
    /// never computed.
    pub fn generator_pass(&self, tape: &Tape<B>, step: u64, j: u64) -> Result<Pass<B>, TrainError> {
        self.generator_pass_into(tape, step, j, (Vec::new(), Vec::new()))
    }

    /// [`Trainer::generator_pass`], with its leaves put in `leaf_vecs`.
    fn generator_pass_into(
        &self,
        tape: &Tape<B>,
        step: u64,
        j: u64,
        (mut g_vars, mut d_vars): LeafVecs<B>,
    ) -> Result<Pass<B>, TrainError> {
        self.g_params.on_tape_into(tape, &mut g_vars);
        self.d_params.constants_into(tape, &mut d_vars);
        let z = self.g.noise(tape, self.config.batch, self.stream(purpose::NOISE_G, step, j));
        let fake = self.g.forward(&g_vars, &z)?; // [batch, dim], not detached
        let dropout = Some(self.stream(purpose::DROPOUT_G, step, j));
        let fake_logits = self.d.forward(&d_vars, &fake, dropout)?;
        let loss = self.config.loss.g_loss(&fake_logits, &tape.constant(self.one.clone()))?;
        Ok(Pass { loss, g_vars, d_vars, logits: fake_logits, fake_logits: None, fake })
    }

    /// One training step of Algorithm 1: `k` D-updates, then `g_steps`
    /// G-updates, then a flush. Downloads nothing.
    ///
    /// Every pass records on the trainer's one tape (`passes.fresh` empties it
    /// and hands out the leaf vectors); `passes.gradients` differentiates
    /// the loss, keeps what the progress line needs, takes the vectors
    /// back and empties the tape before the update, so the update is in
    /// place and a step in steady state allocates nothing.
    pub fn train_step(&mut self) -> Result<(), TrainError> {
        let step = self.step;
        self.follow_lr_schedule(step);
        // k D-steps: D learns to tell real from fake; G's output is detached.
        for j in 0..self.config.d_steps as u64 {
            let leaves = self.passes.fresh()?;
            let pass = self.discriminator_pass_into(&self.passes.tape, step, j, leaves)?;
            let grads = self.passes.gradients(pass, Player::D)?;
            self.d_opt.step_with(&self.backend, &mut self.d_params, |i| grads.get(i)?.as_ref())?;
            if self.config.loss == GanLoss::Wasserstein {
                self.clip_critic(); // WGAN keeps the critic Lipschitz by clipping
            }
        }
        // The G-steps: G learns from D's answer; the gradient flows through D,
        // but only G's parameters move (D is frozen).
        for j in 0..self.config.g_steps as u64 {
            let leaves = self.passes.fresh()?;
            let pass = self.generator_pass_into(&self.passes.tape, step, j, leaves)?;
            let grads = self.passes.gradients(pass, Player::G)?;
            self.g_opt.step_with(&self.backend, &mut self.g_params, |i| grads.get(i)?.as_ref())?;
        }
        self.step += 1;
        self.backend.flush()?;
        Ok(())
    }

    /// Sets both learning rates for `step` from the config's schedule.
    fn follow_lr_schedule(&mut self, step: u64) {
        if let Some(decay) = self.config.lr_decay {
            let factor = decay.factor(step, self.config.steps);
            self.g_opt.set_lr(self.config.g_optimizer.lr() * factor);
            self.d_opt.set_lr(self.config.d_optimizer.lr() * factor);
        }
    }

    /// WGAN's weight clipping: every critic parameter to `[-c, c]`.
    fn clip_critic(&mut self) {
        let c = self.config.clip;
        for p in self.d_params.iter_mut() {
            p.tensor = self.backend.unary(Unary::Clamp(-c, c), &p.tensor);
        }
    }

    /// Whether D sees moments (Dev Nag) rather than samples.
    pub fn d_sees_moments(&self) -> bool {
        self.config.discriminator.input == DInput::Moments
    }
}
