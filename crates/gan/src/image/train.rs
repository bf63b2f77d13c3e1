//! [`ImageTrainer`]: Algorithm 1 of the GAN paper on images, optionally
//! conditional.
//!
//! ```text
//! for each training step:
//!     repeat k times:                                          (the D-steps)
//!         gather m real images x (and their classes y) from the resident set
//!         draw m noise vectors z
//!         update D by descending ∇_θd D's loss on (x|y, G(z|y)|y)   G's output detached
//!     draw m noise vectors z                                   (the G-step)
//!     update G by descending ∇_θg G's loss on D(G(z|y)|y)          D frozen
//! ```
//!
//! `a|y` is `a` with the one-hot class joined on the right (a conditional
//! GAN, Mirza & Osindero 2014); an unconditional GAN uses `a` alone. The
//! fake images of a step are asked for the classes of that step's real
//! batch, so G is asked for classes as often as the data has them.
//!
//! G's batch-norm layers normalise with each batch's statistics in training
//! and update their running statistics; sampling ([`ImageTrainer::sample`])
//! uses the running ones, as PyTorch's `eval()` does.

use crate::algorithm1::{self, Game, Players, Rules};
use crate::clock::Instant;
use crate::error::TrainError;
use crate::image::data::ImageData;
use crate::image::ema::{GChoice, GEma, GWeights};
use crate::image::nets::class_planes;
use crate::image::{ImageConfig, ImageNet};
use crate::pass::{LeafVecs, Pass};
use crate::purpose::image as purpose;
use crate::run::{
    first_non_finite, progress_report, CounterHook, DeviceCounters, Progress, Training,
};
use minimax_autodiff::rng::derive_seed;
use minimax_autodiff::{
    concat_cols, concat_rows, Backend, Dist, Real, Shape, Tape, TensorShape, Var,
};
use minimax_nn::{Context, Norm, Optimizer, ParamStore, Sequential};

/// An image GAN being trained.
pub struct ImageTrainer<B: Backend> {
    /// Both players' parameters and optimizers, the step, the passes' tape.
    players: Players<B>,
    config: ImageConfig,
    data: ImageData<B>,
    g: Sequential,
    d: Sequential,
    /// G's batch-norm running statistics (empty without batch norm).
    g_running: ParamStore<B>,
    /// D's batch-norm running statistics (DCGAN's; empty for the MLPs).
    d_running: ParamStore<B>,
    /// D's targets on the stacked batch `[2·batch, 1]`: `batch` rows of
    /// `real_label` (the real images), then `batch` of 0 (the fakes).
    joint_labels: B::Tensor,
    /// The same targets apart, `[batch, 1]` each, for a D that sees the
    /// real and the fake batch apart (DCGAN's, with batch norm).
    targets: (B::Tensor, B::Tensor),
    /// G's target for its fakes, 1 (`[1, 1]`).
    one: B::Tensor,
    /// The one-hot classes `[batch, classes]` of the last D-step's real
    /// batch, which the G-step asks G for.
    classes: Option<B::Tensor>,
    /// Reads the device's work counters (see [`ImageTrainer::set_counter_hook`]).
    counters: Option<CounterHook>,
    /// The exponential moving average of G's weights, if the config asks
    /// for one (`g_ema`): updated after each step, never trained against.
    ema: Option<GEma<B>>,
}

pub use crate::image::nets::players;

impl<B: Backend> ImageTrainer<B> {
    /// A fresh run on `data` (uploaded once: see [`ImageData::upload`]).
    pub fn new(backend: B, config: ImageConfig, data: ImageData<B>) -> Result<Self, TrainError> {
        config.validate().map_err(TrainError::Config)?;
        let (g, d) = players(&config)?;
        let g_params =
            g.init_params(&backend, config.init, derive_seed(&[config.seed, purpose::INIT_G]));
        let d_params =
            d.init_params(&backend, config.init, derive_seed(&[config.seed, purpose::INIT_D]));
        let (g_running, d_running) = (g.init_running(&backend), d.init_running(&backend));
        let g_opt = Optimizer::new(&backend, config.g_optimizer, &g_params);
        let d_opt = Optimizer::new(&backend, config.d_optimizer, &d_params);
        let column = |v| backend.fill(Shape::new(config.batch, 1), v); // [batch, 1]
        let targets = (column(config.real_label), column(0.0));
        let joint_labels = backend.concat_rows(&[&targets.0, &targets.1])?;
        let one = backend.fill(Shape::scalar(), 1.0);
        let ema = match config.g_ema {
            Some(beta) => Some(GEma::new(&backend, beta, &g_params, &g_running)?),
            None => None,
        };
        Ok(ImageTrainer {
            players: Players::new(backend, (g_params, d_params), (g_opt, d_opt)),
            config,
            data,
            g,
            d,
            g_running,
            d_running,
            joint_labels,
            targets,
            one,
            classes: None,
            counters: None,
            ema,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ImageConfig {
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

    /// The generator and the discriminator.
    pub fn nets(&self) -> (&Sequential, &Sequential) {
        (&self.g, &self.d)
    }

    /// G's parameters, D's parameters and G's running statistics.
    pub fn stores(&self) -> (&ParamStore<B>, &ParamStore<B>, &ParamStore<B>) {
        (&self.players.g_params, &self.players.d_params, &self.g_running)
    }

    /// D's running statistics: DCGAN's D has batch norm; the MLPs' D keeps
    /// none (an empty store).
    pub fn d_running(&self) -> &ParamStore<B> {
        &self.d_running
    }

    /// D's running statistics, mutably, to restore a saved run.
    pub fn d_running_mut(&mut self) -> &mut ParamStore<B> {
        &mut self.d_running
    }

    /// G's and D's optimizers.
    pub fn optimizers(&self) -> (&Optimizer<B>, &Optimizer<B>) {
        (&self.players.g_opt, &self.players.d_opt)
    }

    /// Everything that changes in training, mutably, to restore a saved
    /// run: G's and D's parameters, G's running statistics, the optimizers.
    #[allow(clippy::type_complexity)]
    pub fn parts_mut(
        &mut self,
    ) -> (
        &mut ParamStore<B>,
        &mut ParamStore<B>,
        &mut ParamStore<B>,
        &mut Optimizer<B>,
        &mut Optimizer<B>,
    ) {
        (
            &mut self.players.g_params,
            &mut self.players.d_params,
            &mut self.g_running,
            &mut self.players.g_opt,
            &mut self.players.d_opt,
        )
    }

    /// Reads the device's work counters around each run (see
    /// [`crate::PerStep`]).
    pub fn set_counter_hook(&mut self, hook: impl Fn() -> DeviceCounters + 'static) {
        self.counters = Some(Box::new(hook));
    }

    /// The last D-step's and G-step's losses (`[1, 1]`, on the device;
    /// `None` before the first step).
    pub fn last_losses(&self) -> (Option<&B::Tensor>, Option<&B::Tensor>) {
        self.players.last_losses()
    }

    /// Sets the number of steps done, to restore a saved run.
    pub fn set_step(&mut self, step: u64) {
        self.players.step = step;
    }

    fn stream(&self, purpose: u64, step: u64, j: u64) -> u64 {
        derive_seed(&[self.config.seed, purpose, step, j])
    }

    /// One training step of Algorithm 1 ([`algorithm1::train_step`]): `k`
    /// D-updates, then one G-update, then a flush; then, with `g_ema`, the
    /// EMA of G's weights moves towards the updated G ([`GEma::update`]).
    /// Downloads nothing.
    pub fn train_step(&mut self) -> Result<(), TrainError> {
        algorithm1::train_step(self)?;
        if let Some(ema) = &mut self.ema {
            let p = &self.players;
            ema.update(&p.backend, &p.g_params, &self.g_running)?;
        }
        Ok(())
    }

    /// The EMA of G's weights, if the config keeps one.
    pub fn ema(&self) -> Option<&GEma<B>> {
        self.ema.as_ref()
    }

    /// The EMA of G's weights, mutably, to restore a saved run.
    pub fn ema_mut(&mut self) -> Option<&mut GEma<B>> {
        self.ema.as_mut()
    }

    /// The weights of the raw G or of its EMA: an error naming the flag
    /// when the EMA is asked for and the run keeps none.
    fn weights(&self, which: GChoice) -> Result<(&ParamStore<B>, &ParamStore<B>), TrainError> {
        match (which, &self.ema) {
            (GChoice::Raw, _) => Ok((&self.players.g_params, &self.g_running)),
            (GChoice::Ema, Some(ema)) => Ok((&ema.weights.params, &ema.weights.running)),
            (GChoice::Ema, None) => Err(TrainError::Config(
                "this run keeps no EMA of G's weights (see --g-ema / ImageConfig::g_ema)".into(),
            )),
        }
    }

    /// A copy, on the device, of the raw G's or the EMA G's weights (to
    /// keep the best G of a run while it trains on).
    pub fn copy_weights(&self, which: GChoice) -> Result<GWeights<B>, TrainError> {
        let (params, running) = self.weights(which)?;
        GWeights::copy_of(&self.players.backend, params, running)
    }

    /// `n` images from G (running batch-norm statistics, no gradients),
    /// `[n, pixels]` row-major on the host, for the classes `classes` (one
    /// per image) when conditional. Image `i` is drawn from noise stream
    /// `(seed, i)`, so the same seed shows the same images as G trains.
    pub fn sample(
        &self,
        n: usize,
        classes: Option<&[usize]>,
        seed: u64,
    ) -> Result<Vec<f32>, TrainError> {
        self.sample_from(GChoice::Raw, n, classes, seed)
    }

    /// [`ImageTrainer::sample`] from the raw G or from its EMA (the same
    /// noise for the same seed, so the two are compared image by image).
    pub fn sample_from(
        &self,
        which: GChoice,
        n: usize,
        classes: Option<&[usize]>,
        seed: u64,
    ) -> Result<Vec<f32>, TrainError> {
        let (params, running) = self.weights(which)?;
        self.sample_weights(params, running, n, classes, seed)
    }

    /// [`ImageTrainer::sample`] from other weights of this run's G (a copy
    /// kept by [`ImageTrainer::copy_weights`], say).
    pub fn sample_kept(
        &self,
        g: &GWeights<B>,
        n: usize,
        classes: Option<&[usize]>,
        seed: u64,
    ) -> Result<Vec<f32>, TrainError> {
        let (params, running) = self.weights(GChoice::Raw)?;
        if g.params.specs() != params.specs() || g.running.specs() != running.specs() {
            return Err(TrainError::Config(
                "sample_kept: these weights are not of this run's G".into(),
            ));
        }
        self.sample_weights(&g.params, &g.running, n, classes, seed)
    }

    fn sample_weights(
        &self,
        params: &ParamStore<B>,
        running: &ParamStore<B>,
        n: usize,
        classes: Option<&[usize]>,
        seed: u64,
    ) -> Result<Vec<f32>, TrainError> {
        let c = &self.config;
        let mut out = Vec::with_capacity(n * c.pixels);
        for start in (0..n).step_by(SAMPLE_CHUNK) {
            let m = SAMPLE_CHUNK.min(n - start);
            let tape = Tape::new(self.players.backend.clone());
            let z = tape.random(
                Shape::new(m, c.latent_dim),
                Dist::Normal { mean: 0.0, std: 1.0 },
                derive_seed(&[seed, start as u64]),
            ); // [m, latent]
            let cl: Vec<usize> = (start..start + m)
                .map(|i| classes.and_then(|cl| cl.get(i)).copied().unwrap_or(i % c.classes))
                .collect();
            out.extend(self.generate_eval((params, running), &tape, &z, &cl)?);
        }
        Ok(out)
    }

    /// G's images for the given noise `z` (`[n, latent_dim]` row-major:
    /// for a latent interpolation, say), in evaluation mode as
    /// [`ImageTrainer::sample`], for `classes` (one per row; ignored unless
    /// conditional). `[n, pixels]` on the host.
    pub fn sample_z(&self, z: &[f32], classes: &[usize]) -> Result<Vec<f32>, TrainError> {
        let c = &self.config;
        let n = z.len() / c.latent_dim;
        if z.len() != n * c.latent_dim || (c.conditional && classes.len() != n) {
            return Err(TrainError::Config(format!(
                "sample_z: {} noise values and {} classes for rows of {} noise values",
                z.len(),
                classes.len(),
                c.latent_dim
            )));
        }
        let mut out = Vec::with_capacity(n * c.pixels);
        for start in (0..n).step_by(SAMPLE_CHUNK) {
            let m = SAMPLE_CHUNK.min(n - start);
            let tape = Tape::new(self.players.backend.clone());
            let rows = &z[start * c.latent_dim..(start + m) * c.latent_dim];
            let values: Vec<B::Elem> = rows.iter().map(|&v| B::Elem::from_f64(v as f64)).collect();
            let z =
                tape.constant(self.players.backend.upload(Shape::new(m, c.latent_dim), &values)?);
            let cl = if c.conditional { &classes[start..start + m] } else { &[][..] };
            let raw = (&self.players.g_params, &self.g_running);
            out.extend(self.generate_eval(raw, &tape, &z, cl)?);
        }
        Ok(out)
    }

    /// `G(z|y)` in evaluation mode, on the host; `classes` has one class per
    /// row of `z` when conditional (clamped to the last class).
    fn generate_eval(
        &self,
        (params, running): (&ParamStore<B>, &ParamStore<B>),
        tape: &Tape<B>,
        z: &Var<B>,
        classes: &[usize],
    ) -> Result<Vec<f32>, TrainError> {
        let x = self.generate_with((params, running), tape, z, classes)?; // [m, pixels]
        Ok(x.to_vec()?.into_iter().map(|v| v.to_f64() as f32).collect())
    }

    /// G's images for the noise `z` (`[m, latent_dim]`) and `classes` (one
    /// per row; ignored unless conditional), in evaluation mode, left on the
    /// device: `[m, pixels]` in [-1, 1]. What [`ImageTrainer::sample_z`]
    /// downloads; a caller that must not block (a browser) reads it itself.
    pub fn generate(
        &self,
        tape: &Tape<B>,
        z: &Var<B>,
        classes: &[usize],
    ) -> Result<Var<B>, TrainError> {
        self.generate_with((&self.players.g_params, &self.g_running), tape, z, classes)
    }

    /// [`ImageTrainer::generate`] with G's parameters and running statistics
    /// `params`, `running` (the raw G's or the EMA's).
    fn generate_with(
        &self,
        (params, running): (&ParamStore<B>, &ParamStore<B>),
        tape: &Tape<B>,
        z: &Var<B>,
        classes: &[usize],
    ) -> Result<Var<B>, TrainError> {
        let c = &self.config;
        let m = z.shape().rows;
        let g_vars = params.constants(tape);
        let input = if c.conditional {
            let mut hot = vec![B::Elem::from_f64(0.0); m * c.classes];
            for (i, &class) in classes.iter().take(m).enumerate() {
                hot[i * c.classes + class.min(c.classes - 1)] = B::Elem::from_f64(1.0);
            }
            let onehot =
                tape.constant(self.players.backend.upload(Shape::new(m, c.classes), &hot)?);
            concat_cols(&[z, &onehot])? // [m, latent + classes]
        } else {
            z.clone()
        };
        let eval = Context::new().with_norm(Norm::Eval(running));
        Ok(self.g.forward_with(&g_vars, &input, eval)?) // [m, pixels]
    }
}

/// The image GAN's passes, for [`algorithm1::train_step`].
impl<B: Backend> Game<B> for ImageTrainer<B> {
    fn players(&mut self) -> &mut Players<B> {
        &mut self.players
    }

    fn rules(&self) -> Rules {
        let c = &self.config;
        Rules {
            loss: c.loss,
            d_steps: c.d_steps,
            g_steps: 1,
            clip: c.clip,
            lr_decay: c.lr_decay,
            steps: c.steps,
            lr: (c.g_optimizer.lr(), c.d_optimizer.lr()),
        }
    }

    /// D-step `j` of `step`, built on the trainer's tape: D's loss on a
    /// real batch and a detached fake batch. Keeps the real batch's one-hot
    /// classes `[batch, classes]` for the G-step.
    fn d_pass(
        &mut self,
        step: u64,
        j: u64,
        (mut g_vars, mut d_vars): LeafVecs<B>,
    ) -> Result<Pass<B>, TrainError> {
        let k = self.config.d_steps as u64;
        let tape = &self.players.passes.tape;
        self.players.g_params.constants_into(tape, &mut g_vars); // D-step: G is not trained
        self.players.d_params.on_tape_into(tape, &mut d_vars);
        let batch = self.data.batch(tape, step * k + j)?; // [batch, pixels], [batch, classes]
        let seed = self.stream(purpose::NOISE_D, step, j);
        let gen = (&self.g, &mut self.g_running, &self.config);
        let fake = generate_train(gen, tape, &g_vars, &batch.onehot, seed)?.detach();
        let with = |x: &Var<B>| self.with_class(x, &batch.onehot); // [batch, D's input]
        let (real, fake_input) = (with(&batch.images)?, with(&fake)?);
        if !self.d_running.is_empty() {
            // D has batch norm (DCGAN): each batch is normalised with its
            // own statistics, so D sees the real and the fake batch apart,
            // as PyTorch's DCGAN step does, updating its running statistics
            // after each.
            let (d, running) = (&self.d, &mut self.d_running);
            let logits =
                d.forward_with(&d_vars, &real, Context::new().with_norm(Norm::Train(running)))?;
            let fake_logits = d.forward_with(
                &d_vars,
                &fake_input,
                Context::new().with_norm(Norm::Train(running)),
            )?;
            let (t_real, t_fake) =
                (tape.constant(self.targets.0.clone()), tape.constant(self.targets.1.clone()));
            let loss = self.config.loss.d_loss(&logits, &fake_logits, &t_real, &t_fake)?;
            self.classes = Some(batch.onehot.value().clone());
            return Ok(Pass { loss, g_vars, d_vars, logits, fake_logits: Some(fake_logits), fake });
        }
        // D scores each image on its own, so it sees both batches as one,
        // the real rows first: one pass through D instead of two.
        let both = concat_rows(&[&real, &fake_input])?; // [2·batch, D's input]
        let logits = self.d.forward(&d_vars, &both)?; // [2·batch, 1]
        let targets = tape.constant(self.joint_labels.clone());
        let loss = self.config.loss.d_loss_joint(&logits, &targets)?;
        self.classes = Some(batch.onehot.value().clone());
        Ok(Pass { loss, g_vars, d_vars, logits, fake_logits: None, fake })
    }

    /// G-step `j` of `step`, built on the trainer's tape: G's loss on D's
    /// answer to fakes of the last real batch's classes. D is frozen: its
    /// parameters are constants, so the gradient flows through D to G and
    /// D's own gradients are never computed.
    fn g_pass(
        &mut self,
        step: u64,
        j: u64,
        (mut g_vars, mut d_vars): LeafVecs<B>,
    ) -> Result<Pass<B>, TrainError> {
        let tape = &self.players.passes.tape;
        self.players.g_params.on_tape_into(tape, &mut g_vars);
        self.players.d_params.constants_into(tape, &mut d_vars);
        let classes = self.classes.clone().expect("a D-step came first (k ≥ 1)");
        let onehot = tape.constant(classes); // [batch, classes]
        let seed = self.stream(purpose::NOISE_G, step, j);
        let gen = (&self.g, &mut self.g_running, &self.config);
        let fake = generate_train(gen, tape, &g_vars, &onehot, seed)?; // [batch, pixels]
        let input = self.with_class(&fake, &onehot)?; // [batch, D's input]

        // D is frozen but, as in PyTorch's train mode, its batch norm (if
        // any) uses this batch's statistics and updates its running ones.
        let fake_logits = if self.d_running.is_empty() {
            self.d.forward(&d_vars, &input)?
        } else {
            let norm = Context::new().with_norm(Norm::Train(&mut self.d_running));
            self.d.forward_with(&d_vars, &input, norm)?
        };
        let one = tape.constant(self.one.clone());
        let loss = self.config.loss.g_loss(&fake_logits, &one)?;
        Ok(Pass { loss, g_vars, d_vars, logits: fake_logits, fake_logits: None, fake })
    }
}

impl<B: Backend> ImageTrainer<B> {
    /// D's input for images `a` of classes `onehot`: `a` itself, or when
    /// conditional `a|y`, the one-hot classes joined on the right (the
    /// MLPs), or as constant planes beside the image (DCGAN,
    /// [`class_planes`]).
    fn with_class(&self, a: &Var<B>, onehot: &Var<B>) -> minimax_autodiff::Result<Var<B>> {
        match (self.config.conditional, self.config.net) {
            (false, _) => Ok(a.clone()),
            (true, ImageNet::Mlp) => concat_cols(&[a, onehot]),
            (true, ImageNet::Dcgan) => class_planes(a, onehot),
        }
    }
}

/// `z|y`: G's input, the one-hot classes joined on the right if `conditional`.
fn with_class<B: Backend>(
    conditional: bool,
    a: &Var<B>,
    onehot: &Var<B>,
) -> minimax_autodiff::Result<Var<B>> {
    if conditional {
        concat_cols(&[a, onehot])
    } else {
        Ok(a.clone())
    }
}

/// `G(z|y)` in training mode (batch statistics, the running ones updated),
/// for fresh noise `z ~ N(0, 1)` `[batch, latent]` drawn from `seed`.
fn generate_train<B: Backend>(
    (g, running, c): (&Sequential, &mut ParamStore<B>, &ImageConfig),
    tape: &Tape<B>,
    g_vars: &[Var<B>],
    onehot: &Var<B>,
    seed: u64,
) -> Result<Var<B>, TrainError> {
    let normal = Dist::Normal { mean: 0.0, std: 1.0 };
    let z = tape.random(Shape::new(c.batch, c.latent_dim), normal, seed);
    let input = with_class(c.conditional, &z, onehot)?; // [batch, latent (+ classes)]
    Ok(g.forward_with(g_vars, &input, Context::new().with_norm(Norm::Train(running)))?)
}

/// Images G draws per forward pass when sampling.
const SAMPLE_CHUNK: usize = 1000;

/// G's samples in evaluation mode drawn at each divergence check.
const EVAL_CHECK_SAMPLES: usize = 8;

impl<B: Backend> Training for ImageTrainer<B> {
    type Backend = B;
    fn device(&self) -> &B {
        &self.players.backend
    }
    fn steps_done(&self) -> u64 {
        self.players.step
    }
    fn train_step(&mut self) -> Result<(), TrainError> {
        ImageTrainer::train_step(self)
    }
    fn progress(
        &self,
        started: Instant,
        first_step: u64,
        stop: u64,
    ) -> Result<Option<Progress>, TrainError> {
        let clock = (started, first_step, self.players.step, stop);
        progress_report(&self.players.backend, self.config.loss, &self.players.passes.last, clock)
    }
    /// Parameters and optimizer states (see [`first_non_finite`]), then
    /// what training itself never reads and only G's pictures do: G's (and
    /// DCGAN's D's) running statistics (finite, variances never negative) and a few of
    /// G's samples in evaluation mode.
    fn first_non_finite(&self) -> Result<Option<String>, TrainError> {
        let nets = [
            ("generator", &self.players.g_params, &self.players.g_opt),
            ("discriminator", &self.players.d_params, &self.players.d_opt),
        ];
        if let Some(what) = first_non_finite(&self.players.backend, &nets)? {
            return Ok(Some(what));
        }
        let mut running = vec![
            ("generator running statistic", &self.g_running),
            ("discriminator running statistic", &self.d_running),
        ];
        if let Some(ema) = &self.ema {
            // The EMA's parameters and statistics: finite, variances too.
            running.push(("G's EMA parameter", &ema.weights.params));
            running.push(("G's EMA running statistic", &ema.weights.running));
        }
        for (net, p) in running.iter().flat_map(|(net, store)| store.iter().map(move |p| (net, p)))
        {
            let values = self.players.backend.download(&p.tensor)?;
            let variance = p.name.ends_with("running_var");
            let bad = values
                .iter()
                .map(|v| v.to_f64())
                .find(|v| !v.is_finite() || (variance && *v < 0.0));
            if let Some(v) = bad {
                let shape = p.tensor.shape();
                return Ok(Some(format!("{net} {} {shape} holds {v}", p.name)));
            }
        }
        let samples = self.sample(EVAL_CHECK_SAMPLES, None, 0)?;
        if let Some(v) = samples.iter().find(|v| !v.is_finite()) {
            return Ok(Some(format!("G's samples in evaluation mode hold {v}")));
        }
        Ok(None)
    }
    fn counters(&self) -> Option<DeviceCounters> {
        self.counters.as_ref().map(|read| read())
    }
}
