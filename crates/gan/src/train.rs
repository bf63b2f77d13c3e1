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
use crate::loss::GanLoss;
use crate::models::{Discriminator, Generator, DISCRIMINATOR_NET, GENERATOR_NET};
use crate::optim::Optimizer;
use crate::ParamStore;
use minimax_autodiff::rng::derive_seed;
use minimax_autodiff::{Backend, Dist, Real, Shape, Tape, Unary, Var};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
    /// Evaluation samples (see `report.rs`).
    pub const EVAL: u64 = 9;
    /// Figure snapshots (see `report.rs`).
    pub const SNAPSHOT: u64 = 10;
}

/// Counts a device keeps of its own work (the GPU backend's `Stats`), read
/// through a hook so this crate need not know the GPU crate.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct DeviceCounters {
    /// Compute passes dispatched.
    pub dispatches: u64,
    /// Command buffers submitted to the queue.
    pub submits: u64,
    /// Bytes copied from the device to the host.
    pub readback_bytes: u64,
}

/// Why training stopped early.
#[derive(Debug)]
pub enum TrainError {
    /// The configuration is invalid.
    Config(String),
    /// An engine operation failed (a shape mismatch, a device error).
    Engine(minimax_autodiff::Error),
    /// A loss or a parameter became NaN or infinite.
    NonFinite {
        /// The step after which it was seen.
        step: u64,
        /// What was not finite, such as `"D loss = NaN"`.
        what: String,
        /// The last checkpoint written, and its step (it holds finite values).
        last_checkpoint: Option<(PathBuf, u64)>,
    },
    /// A checkpoint could not be read or written, or is not one of ours.
    Checkpoint(String),
    /// Another file (a report, a figure) could not be written.
    Io(String),
}

impl std::fmt::Display for TrainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrainError::Config(why) => write!(f, "invalid configuration: {why}"),
            TrainError::Engine(e) => write!(f, "{e}"),
            TrainError::NonFinite { step, what, last_checkpoint } => {
                write!(f, "training diverged at step {step}: {what}; ")?;
                match last_checkpoint {
                    Some((path, at)) => {
                        write!(f, "the last good checkpoint is {} (step {at})", path.display())
                    }
                    None => write!(f, "no checkpoint was written (use --save-every)"),
                }
            }
            TrainError::Checkpoint(why) | TrainError::Io(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for TrainError {}

impl From<minimax_autodiff::Error> for TrainError {
    fn from(e: minimax_autodiff::Error) -> Self {
        TrainError::Engine(e)
    }
}

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
type LeafVecs<B> = (Vec<Var<B>>, Vec<Var<B>>);

impl<B: Backend> Pass<B> {
    /// Drops the pass and returns its leaf vectors, emptied, for the next
    /// pass to fill.
    fn into_leaf_vecs(self) -> LeafVecs<B> {
        let (mut g_vars, mut d_vars) = (self.g_vars, self.d_vars);
        g_vars.clear();
        d_vars.clear();
        (g_vars, d_vars)
    }
}

/// The device tensors the progress line is computed from (read only when
/// a line is printed).
#[derive(Clone)]
struct LastStep<B: Backend> {
    d_loss: B::Tensor,
    g_loss: B::Tensor,
    real_logits: B::Tensor,
    fake_logits: B::Tensor,
    fake: B::Tensor,
}

/// One progress report.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// Steps done.
    pub step: u64,
    /// Steps this run will do in all.
    pub steps: u64,
    /// D's loss at the last D-step.
    pub d_loss: f64,
    /// G's loss at the last G-step.
    pub g_loss: f64,
    /// D's mean output on the last real batch (see [`GanLoss::d_output`]).
    pub d_real: f64,
    /// D's mean output on the last fake batch.
    pub d_fake: f64,
    /// Mean of the last fake batch (of all its coordinates together, for
    /// 2-D data).
    pub gen_mean: f64,
    /// Standard deviation of the last fake batch (likewise).
    pub gen_std: f64,
    /// Training speed since this run started.
    pub steps_per_sec: f64,
    /// Estimated seconds to go.
    pub eta_secs: f64,
}

impl Progress {
    /// The progress line, without a line ending.
    pub fn line(&self) -> String {
        format!(
            "step {:>6}/{}  D loss {:.4}  G loss {:.4}  D(real) {:.3}  D(fake) {:.3}  \
             gen mean {:.3} std {:.3}  {:.0} steps/s  ETA {:.1}s",
            self.step,
            self.steps,
            self.d_loss,
            self.g_loss,
            self.d_real,
            self.d_fake,
            self.gen_mean,
            self.gen_std,
            self.steps_per_sec,
            self.eta_secs
        )
    }
}

/// How a run reports and saves, none of which changes its result.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOptions {
    /// Report progress (and check for NaN) every this many steps.
    pub log_every: u64,
    /// Write a checkpoint every this many steps (0: never).
    pub save_every: u64,
    /// Where checkpoints go (one file, replaced atomically each time).
    pub checkpoint: Option<PathBuf>,
    /// Steps at which to take a figure snapshot (0 = before training).
    pub snapshot_at: Vec<u64>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { log_every: 100, save_every: 0, checkpoint: None, snapshot_at: Vec::new() }
    }
}

/// What a call to [`Trainer::run_until`] measured.
#[derive(Clone, Debug, PartialEq)]
pub struct RunStats {
    /// Steps done by this call.
    pub steps_run: u64,
    /// Wall time spent training (snapshots and checkpoint writes excluded).
    pub seconds: f64,
    /// Device work per step, if the trainer has a counter hook.
    pub per_step: Option<PerStep>,
    /// The figure snapshots taken.
    pub snapshots: Vec<crate::report::Snapshot>,
}

/// Average device work per training step.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct PerStep {
    /// Compute passes per step.
    pub dispatches: f64,
    /// Queue submissions per step.
    pub submits: f64,
    /// Bytes read back to the host per step.
    pub readback_bytes: f64,
}

/// Time and device work spent beside training (snapshots, checkpoints),
/// left out of a run's measurements.
#[derive(Default)]
struct Aside {
    time: Duration,
    counters: DeviceCounters,
}

/// A GAN being trained: both players' parameters and optimizers, the step
/// counter, and the config.
///
/// ```
/// use minimax_autodiff::Cpu;
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
    last: Option<LastStep<B>>,
    /// D's targets `[1, 1]` when there is no label noise: `real_label` and 0.
    fixed_labels: (B::Tensor, B::Tensor),
    /// The tape of every D- and G-pass, reset before each, and the vectors
    /// of their leaves: kept, so a step in steady state allocates nothing.
    tape: Tape<B>,
    leaf_vecs: LeafVecs<B>,
    counters: Option<Box<dyn Fn() -> DeviceCounters>>,
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
        let g_params = g.mlp.init_params(&backend, config.init, config.seed, GENERATOR_NET);
        let d_params = d.mlp.init_params(&backend, config.init, config.seed, DISCRIMINATOR_NET);
        let g_opt = Optimizer::new(&backend, config.g_optimizer, &g_params);
        let d_opt = Optimizer::new(&backend, config.d_optimizer, &d_params);
        let fixed_labels =
            (backend.fill(Shape::scalar(), config.real_label), backend.fill(Shape::scalar(), 0.0));
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
            last: None,
            fixed_labels,
            tape: Tape::new(backend),
            leaf_vecs: (Vec::new(), Vec::new()),
            counters: None,
        })
    }

    /// Reads the device's work counters around each run (see [`PerStep`]).
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
    /// with a learning-rate decay ([`crate::config::LrDecay`]), when the
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
        let dropout_real = Some(self.stream(purpose::DROPOUT_REAL, step, j));
        let dropout_fake = Some(self.stream(purpose::DROPOUT_FAKE, step, j));
        let real_logits = self.d.forward(&d_vars, &real, dropout_real)?; // [batch, 1] or [1, 1]
        let fake_logits = self.d.forward(&d_vars, &fake, dropout_fake)?;
        let (t_real, t_fake) = self.labels(tape, real_logits.shape(), step, j);
        let loss = c.loss.d_loss(&real_logits, &fake_logits, &t_real, &t_fake)?;
        Ok(Pass { loss, g_vars, d_vars, real_logits: Some(real_logits), fake_logits, fake })
    }

    /// Builds (without applying) G-step `j` of `step` on `tape`: G's loss on
    /// D's answer to a fresh fake batch. D's parameters are leaves too (the
    /// gradient must flow *through* D to reach G), but only G's gradients
    /// are applied: D is frozen.
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
        self.d_params.on_tape_into(tape, &mut d_vars);
        let z = self.g.noise(tape, self.config.batch, self.stream(purpose::NOISE_G, step, j));
        let fake = self.g.forward(&g_vars, &z)?; // [batch, dim], not detached
        let dropout = Some(self.stream(purpose::DROPOUT_G, step, j));
        let fake_logits = self.d.forward(&d_vars, &fake, dropout)?;
        let loss = self.config.loss.g_loss(&fake_logits)?;
        Ok(Pass { loss, g_vars, d_vars, real_logits: None, fake_logits, fake })
    }

    /// One training step: `k` D-updates, then `g_steps` G-updates, then a
    /// flush. Downloads nothing.
    ///
    /// Every pass records on the trainer's one tape, reset first: each pass
    /// drops its variables and gradients before the next begins, keeping
    /// only the values the progress line needs.
    pub fn train_step(&mut self) -> Result<(), TrainError> {
        let step = self.step;
        if let Some(decay) = self.config.lr_decay {
            let factor = decay.factor(step, self.config.steps);
            self.g_opt.set_lr(self.config.g_optimizer.lr() * factor);
            self.d_opt.set_lr(self.config.d_optimizer.lr() * factor);
        }
        // The last D-pass's (loss, real logits, fake logits, fake batch).
        let mut last_d = None;
        for j in 0..self.config.d_steps as u64 {
            self.tape.reset()?;
            let leaf_vecs = std::mem::take(&mut self.leaf_vecs);
            let pass = self.discriminator_pass_into(&self.tape, step, j, leaf_vecs)?;
            let grads = self.tape.backward(&pass.loss)?;
            self.d_opt.step(&self.backend, &mut self.d_params, &pass.d_vars, &grads)?;
            if self.config.loss == GanLoss::Wasserstein {
                self.clip_critic();
            }
            let real_logits = pass.real_logits.as_ref().expect("a D-pass has real logits");
            last_d = Some((
                pass.loss.value().clone(),
                real_logits.value().clone(),
                pass.fake_logits.value().clone(),
                pass.fake.value().clone(),
            ));
            self.leaf_vecs = pass.into_leaf_vecs();
        }
        // The last G-pass's loss.
        let mut last_g = None;
        for j in 0..self.config.g_steps as u64 {
            self.tape.reset()?;
            let leaf_vecs = std::mem::take(&mut self.leaf_vecs);
            let pass = self.generator_pass_into(&self.tape, step, j, leaf_vecs)?;
            let grads = self.tape.backward(&pass.loss)?;
            // Only G's parameters move; D's gradients are dropped.
            self.g_opt.step(&self.backend, &mut self.g_params, &pass.g_vars, &grads)?;
            last_g = Some(pass.loss.value().clone());
            self.leaf_vecs = pass.into_leaf_vecs();
        }
        if let (Some((d_loss, real_logits, fake_logits, fake)), Some(g_loss)) = (last_d, last_g) {
            self.last = Some(LastStep { d_loss, g_loss, real_logits, fake_logits, fake });
        }
        self.step += 1;
        self.backend.flush()?;
        Ok(())
    }

    /// WGAN's weight clipping: every critic parameter to `[-c, c]`.
    fn clip_critic(&mut self) {
        let c = self.config.clip;
        for p in self.d_params.iter_mut() {
            p.tensor = self.backend.unary(Unary::Clamp(-c, c), &p.tensor);
        }
    }

    /// The progress report for the last step (downloads a few small tensors).
    /// `None` before the first step.
    pub fn progress(
        &self,
        started: Instant,
        first_step: u64,
        stop: u64,
    ) -> Result<Option<Progress>, TrainError> {
        let Some(last) = &self.last else { return Ok(None) };
        let get = |t: &B::Tensor| -> Result<Vec<f64>, TrainError> {
            Ok(self.backend.download(t)?.into_iter().map(Real::to_f64).collect())
        };
        let loss = self.config.loss;
        let mean_output = |logits: Vec<f64>| {
            logits.iter().map(|&l| loss.d_output_f64(l)).sum::<f64>() / logits.len() as f64
        };
        let (gen_mean, gen_std) = crate::stats::mean_std(&get(&last.fake)?);
        let elapsed = started.elapsed().as_secs_f64();
        let done = (self.step - first_step) as f64;
        let steps_per_sec = if elapsed > 0.0 { done / elapsed } else { 0.0 };
        let left = stop.saturating_sub(self.step) as f64;
        Ok(Some(Progress {
            step: self.step,
            steps: stop,
            d_loss: get(&last.d_loss)?[0],
            g_loss: get(&last.g_loss)?[0],
            d_real: mean_output(get(&last.real_logits)?),
            d_fake: mean_output(get(&last.fake_logits)?),
            gen_mean,
            gen_std,
            steps_per_sec,
            eta_secs: if steps_per_sec > 0.0 { left / steps_per_sec } else { 0.0 },
        }))
    }

    /// Trains until `config.steps`; see [`Trainer::run_until`].
    pub fn run(
        &mut self,
        opts: &RunOptions,
        on_progress: impl FnMut(&Progress),
    ) -> Result<RunStats, TrainError> {
        self.run_until(self.config.steps, opts, on_progress)
    }

    /// Trains until `stop` steps are done: reports progress and checks for
    /// NaN every `log_every` steps (and at the end), snapshots the figure at
    /// `snapshot_at`, and writes a checkpoint every `save_every` steps (and
    /// at the end). A non-finite loss or parameter stops the run with
    /// [`TrainError::NonFinite`]; the checkpoint on disk is then the last
    /// good one, as a checkpoint is only written after its values are
    /// checked.
    pub fn run_until(
        &mut self,
        stop: u64,
        opts: &RunOptions,
        mut on_progress: impl FnMut(&Progress),
    ) -> Result<RunStats, TrainError> {
        let started = Instant::now();
        let first_step = self.step;
        let counters_before = self.read_counters();
        let mut aside = Aside::default(); // snapshots and checkpoints
        let mut snapshots = Vec::new();
        let mut last_checkpoint: Option<(PathBuf, u64)> = None;
        if opts.snapshot_at.contains(&self.step) {
            snapshots.push(self.aside(&mut aside, |t| t.snapshot())?);
        }
        while self.step < stop {
            self.train_step()?;
            let step = self.step;
            if step.is_multiple_of(opts.log_every.max(1)) || step == stop {
                if let Some(p) = self.progress(started, first_step, stop)? {
                    let bad = [("D loss", p.d_loss), ("G loss", p.g_loss)]
                        .into_iter()
                        .find(|(_, v)| !v.is_finite());
                    if let Some((name, value)) = bad {
                        let what = format!("{name} = {value}");
                        return Err(TrainError::NonFinite { step, what, last_checkpoint });
                    }
                    on_progress(&p);
                }
            }
            if opts.snapshot_at.contains(&step) {
                snapshots.push(self.aside(&mut aside, |t| t.snapshot())?);
            }
            let save_now =
                opts.save_every > 0 && (step.is_multiple_of(opts.save_every) || step == stop);
            if let (true, Some(path)) = (save_now, &opts.checkpoint) {
                // Checked first, so a diverged state never replaces a good one.
                if let Some(what) = self.aside(&mut aside, |t| t.non_finite_parameter())? {
                    return Err(TrainError::NonFinite { step, what, last_checkpoint });
                }
                self.aside(&mut aside, |t| t.save_checkpoint(path))?;
                last_checkpoint = Some((path.clone(), step));
            }
        }
        self.backend.sync()?;
        let seconds = started.elapsed().saturating_sub(aside.time).as_secs_f64();
        let steps_run = self.step - first_step;
        let per_step = match (counters_before, self.read_counters()) {
            (Some(before), Some(after)) if steps_run > 0 => {
                let per = |a: u64, b: u64, skip: u64| {
                    a.saturating_sub(b).saturating_sub(skip) as f64 / steps_run as f64
                };
                let skip = aside.counters;
                Some(PerStep {
                    dispatches: per(after.dispatches, before.dispatches, skip.dispatches),
                    submits: per(after.submits, before.submits, skip.submits),
                    readback_bytes: per(
                        after.readback_bytes,
                        before.readback_bytes,
                        skip.readback_bytes,
                    ),
                })
            }
            _ => None,
        };
        Ok(RunStats { steps_run, seconds, per_step, snapshots })
    }

    /// The device's counters now, if the trainer has a hook.
    fn read_counters(&self) -> Option<DeviceCounters> {
        self.counters.as_ref().map(|read| read())
    }

    /// Runs `f` (a snapshot, a checkpoint) and books its time and device
    /// work in `aside`, so the run's measurements count training only.
    fn aside<T>(
        &mut self,
        aside: &mut Aside,
        f: impl FnOnce(&mut Self) -> Result<T, TrainError>,
    ) -> Result<T, TrainError> {
        let (started, before) = (Instant::now(), self.read_counters());
        let out = f(self);
        aside.time += started.elapsed();
        if let (Some(b), Some(a)) = (before, self.read_counters()) {
            aside.counters.dispatches += a.dispatches.saturating_sub(b.dispatches);
            aside.counters.submits += a.submits.saturating_sub(b.submits);
            aside.counters.readback_bytes += a.readback_bytes.saturating_sub(b.readback_bytes);
        }
        out
    }

    /// The first non-finite parameter, named, if any (downloads them all).
    fn non_finite_parameter(&self) -> Result<Option<String>, TrainError> {
        for (net, store) in [("generator", &self.g_params), ("discriminator", &self.d_params)] {
            for (p, values) in store.iter().zip(store.download(&self.backend)?) {
                if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                    return Ok(Some(format!("{net} parameter {} holds {v}", p.name)));
                }
            }
        }
        Ok(None)
    }

    /// Whether D sees moments (Dev Nag) rather than samples.
    pub fn d_sees_moments(&self) -> bool {
        self.config.discriminator.input == DInput::Moments
    }

    /// Where checkpoints written under `dir` go.
    pub fn checkpoint_path(dir: &Path) -> PathBuf {
        dir.join("checkpoint.safetensors")
    }
}
