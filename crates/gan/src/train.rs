//! [`Trainer`]: the GAN on a 1-D or 2-D target, the [`Game`] whose passes
//! Algorithm 1 (`algorithm1.rs`) trains. A D-pass draws `m` real samples
//! from the target and `m` noise vectors; a G-pass draws `m` noise vectors.
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

use crate::algorithm1::{self, Game, Players, Rules};
use crate::config::{Config, DInput};
use crate::counters::{CounterHook, DeviceCounters};
use crate::error::TrainError;
use crate::models::{Discriminator, Generator};
use crate::pass::{LeafVecs, Pass};
use crate::purpose::{self, DISCRIMINATOR_NET, GENERATOR_NET};
use minimax_autodiff::rng::derive_seed;
use minimax_autodiff::{concat_rows, Backend, Dist, Shape, Tape, Var};
use minimax_nn::{Optimizer, ParamStore};

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
    /// Both players' parameters and optimizers, the step, the passes' tape.
    pub(crate) players: Players<B>,
    pub(crate) config: Config,
    pub(crate) g: Generator,
    pub(crate) d: Discriminator,
    /// D's targets `[1, 1]` when there is no label noise: `real_label` and 0.
    fixed_labels: (B::Tensor, B::Tensor),
    /// The same stacked for a joint batch, `[2·batch, 1]`: `batch` rows of
    /// `real_label`, then `batch` of 0.
    fixed_joint_labels: B::Tensor,
    /// The label 1 `[1, 1]`, G's target for its fakes.
    one: B::Tensor,
    pub(crate) counters: Option<CounterHook>,
}

impl<B: Backend> std::fmt::Debug for Trainer<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("backend", &self.players.backend.name())
            .field("step", &self.players.step)
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
        let one = backend.fill(Shape::scalar(), 1.0);
        Ok(Trainer {
            players: Players::new(backend, (g_params, d_params), (g_opt, d_opt)),
            config,
            g,
            d,
            fixed_labels,
            fixed_joint_labels,
            one,
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
        &self.players.backend
    }

    /// Steps done so far.
    pub fn step(&self) -> u64 {
        self.players.step
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
        &self.players.g_params
    }

    /// D's parameters.
    pub fn d_params(&self) -> &ParamStore<B> {
        &self.players.d_params
    }

    /// G's and D's optimizers.
    pub fn optimizers(&self) -> (&Optimizer<B>, &Optimizer<B>) {
        (&self.players.g_opt, &self.players.d_opt)
    }

    /// G's and D's parameters and optimizers, mutably, to restore a saved
    /// run (see `minimax-io`'s checkpoints).
    pub fn parts_mut(
        &mut self,
    ) -> (&mut ParamStore<B>, &mut ParamStore<B>, &mut Optimizer<B>, &mut Optimizer<B>) {
        (
            &mut self.players.g_params,
            &mut self.players.d_params,
            &mut self.players.g_opt,
            &mut self.players.d_opt,
        )
    }

    /// The last D-step's and G-step's losses (`[1, 1]`, on the device;
    /// `None` before the first step): what a caller reads without a sync
    /// inside the step, as the progress line does.
    pub fn last_losses(&self) -> (Option<&B::Tensor>, Option<&B::Tensor>) {
        self.players.last_losses()
    }

    /// Changes Algorithm 1's `k` (D-updates per step) and G-updates per step
    /// from the next step on, as GAN Lab lets its user do mid-run. Either
    /// may be 0 (a step that trains one player only), both at most
    /// [`MAX_UPDATES`](crate::config::MAX_UPDATES).
    pub fn set_updates(&mut self, d_steps: usize, g_steps: usize) -> Result<(), TrainError> {
        let mut c = self.config.clone();
        (c.d_steps, c.g_steps) = (d_steps, g_steps);
        c.validate().map_err(TrainError::Config)?;
        self.config = c;
        Ok(())
    }

    /// Changes both learning rates from the next step on (G's, then D's),
    /// keeping the optimizers' state (Adam's moments), as GAN Lab does.
    pub fn set_learning_rates(&mut self, g_lr: f64, d_lr: f64) -> Result<(), TrainError> {
        let mut c = self.config.clone();
        c.g_optimizer = c.g_optimizer.with_lr(g_lr);
        c.d_optimizer = c.d_optimizer.with_lr(d_lr);
        c.validate().map_err(TrainError::Config)?;
        self.players.g_opt.set_lr(g_lr);
        self.players.d_opt.set_lr(d_lr);
        self.config = c;
        Ok(())
    }

    /// Sets the number of steps done, to restore a saved run.
    pub fn set_step(&mut self, step: u64) {
        self.players.step = step;
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
        self.players.g_params.on_tape_into(tape, &mut g_vars);
        self.players.d_params.on_tape_into(tape, &mut d_vars);
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
        self.players.g_params.on_tape_into(tape, &mut g_vars);
        self.players.d_params.constants_into(tape, &mut d_vars);
        let z = self.g.noise(tape, self.config.batch, self.stream(purpose::NOISE_G, step, j));
        let fake = self.g.forward(&g_vars, &z)?; // [batch, dim], not detached
        let dropout = Some(self.stream(purpose::DROPOUT_G, step, j));
        let fake_logits = self.d.forward(&d_vars, &fake, dropout)?;
        let loss = self.config.loss.g_loss(&fake_logits, &tape.constant(self.one.clone()))?;
        Ok(Pass { loss, g_vars, d_vars, logits: fake_logits, fake_logits: None, fake })
    }

    /// One training step of Algorithm 1 ([`algorithm1::train_step`]): `k`
    /// D-updates, then `g_steps` G-updates, then a flush. Downloads nothing.
    pub fn train_step(&mut self) -> Result<(), TrainError> {
        algorithm1::train_step(self)
    }

    /// Whether D sees moments (Dev Nag) rather than samples.
    pub fn d_sees_moments(&self) -> bool {
        self.config.discriminator.input == DInput::Moments
    }
}

/// The 1-D and 2-D GANs' passes, for [`algorithm1::train_step`].
impl<B: Backend> Game<B> for Trainer<B> {
    fn players(&mut self) -> &mut Players<B> {
        &mut self.players
    }

    fn rules(&self) -> Rules {
        let c = &self.config;
        Rules {
            loss: c.loss,
            d_steps: c.d_steps,
            g_steps: c.g_steps,
            clip: c.clip,
            lr_decay: c.lr_decay,
            steps: c.steps,
            lr: (c.g_optimizer.lr(), c.d_optimizer.lr()),
        }
    }

    fn d_pass(&mut self, step: u64, j: u64, leaves: LeafVecs<B>) -> Result<Pass<B>, TrainError> {
        self.discriminator_pass_into(&self.players.passes.tape, step, j, leaves)
    }

    fn g_pass(&mut self, step: u64, j: u64, leaves: LeafVecs<B>) -> Result<Pass<B>, TrainError> {
        self.generator_pass_into(&self.players.passes.tape, step, j, leaves)
    }
}
