//! Running Algorithm 1 for many steps, and everything around it that does
//! not change the result: progress reports, the divergence check, figure
//! snapshots, checkpoints (through a hook: this crate writes no files),
//! and the device counters. The step itself is [`Trainer::train_step`].

use crate::clock::Instant;
pub use crate::counters::{CounterHook, Counters, DeviceCounters, PerStep};
use crate::error::TrainError;
use crate::pass::LastStep;
use crate::snapshot::Snapshot;
use crate::train::Trainer;
use minimax_autodiff::{Backend, Real, TensorShape};
use minimax_nn::{Optimizer, ParamStore};
use std::path::PathBuf;
use std::time::Duration;

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
    /// D's mean output on the last real batch (see [`crate::GanLoss::d_output`]).
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
    /// Save (see [`RunHooks::save`]) every this many steps (0: never).
    pub save_every: u64,
    /// Steps at which to take a figure snapshot (0 = before training).
    pub snapshot_at: Vec<u64>,
    /// The checkpoint of the state this run starts from (the one it was
    /// resumed from, or the one the previous segment of a run saved at its
    /// end), if any: the last good one until the run saves its own, named
    /// if the run diverges before then.
    pub resumed_from: Option<PathBuf>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { log_every: 100, save_every: 0, snapshot_at: Vec::new(), resumed_from: None }
    }
}

/// Steps at the start of a run left out of its device counts: until the
/// order in which the GPU's buffer pool hands buffers out repeats from step
/// to step, a step binds new combinations of buffers (the default 1-D GAN
/// settles after 7 steps on lavapipe). After them a step is the steady
/// state: the same commands, no new bind groups, no new buffers.
pub const WARMUP_STEPS: u64 = 10;

/// What a call to [`Trainer::run_with`] measured.
#[derive(Clone, Debug, PartialEq)]
pub struct RunStats {
    /// Steps done by this call.
    pub steps_run: u64,
    /// Wall time spent training (snapshots and checkpoint writes excluded).
    pub seconds: f64,
    /// The device work of the run's steady state, if the trainer has a
    /// counter hook and the run is longer than [`WARMUP_STEPS`]: every step
    /// after those, snapshots and saves left out, and how many steps that
    /// is.
    pub device_work: Option<(DeviceCounters, u64)>,
    /// The figure snapshots taken.
    pub snapshots: Vec<Snapshot>,
}

impl RunStats {
    /// The steady state's device work per step (see [`RunStats::device_work`]).
    pub fn per_step(&self) -> Option<PerStep> {
        self.device_work.and_then(|(total, steps)| PerStep::new(total, steps))
    }
}

/// Time and device work spent beside training (snapshots, checkpoints),
/// left out of a run's measurements.
#[derive(Default)]
struct Aside {
    time: Duration,
    counters: DeviceCounters,
}

/// What a run does beside training, at the moments [`Trainer::run_with`]
/// chooses: report progress, and save a checkpoint. The `minimax-io` crate
/// has one that writes checkpoint files.
pub trait RunHooks<T> {
    /// A progress report (every `log_every` steps, and at the end).
    fn progress(&mut self, _progress: &Progress) {}

    /// Saves the trainer's state (every `save_every` steps, and at the end),
    /// returning where it went. Called only after every parameter and
    /// optimizer state tensor was checked finite.
    fn save(&mut self, _trainer: &T) -> Result<Option<PathBuf>, TrainError> {
        Ok(None)
    }
}

/// Hooks that only report progress, through a closure.
struct ProgressOnly<F>(F);

impl<T, F: FnMut(&Progress)> RunHooks<T> for ProgressOnly<F> {
    fn progress(&mut self, p: &Progress) {
        (self.0)(p)
    }
}

impl<B: Backend> Trainer<B> {
    /// The progress report for the last step (downloads a few small tensors).
    /// `None` before the first step.
    pub fn progress(
        &self,
        started: Instant,
        first_step: u64,
        stop: u64,
    ) -> Result<Option<Progress>, TrainError> {
        let clock = (started, first_step, self.players.step, stop);
        progress_report(&self.players.backend, self.config.loss, &self.players.passes.last, clock)
    }

    /// Trains until `config.steps`; see [`Trainer::run_with`].
    pub fn run(
        &mut self,
        opts: &RunOptions,
        on_progress: impl FnMut(&Progress),
    ) -> Result<RunStats, TrainError> {
        self.run_until(self.config.steps, opts, on_progress)
    }

    /// Trains until `stop` steps are done, reporting progress to
    /// `on_progress`; see [`Trainer::run_with`].
    pub fn run_until(
        &mut self,
        stop: u64,
        opts: &RunOptions,
        on_progress: impl FnMut(&Progress),
    ) -> Result<RunStats, TrainError> {
        self.run_with(stop, opts, &mut ProgressOnly(on_progress))
    }

    /// Trains until `stop` steps are done; see [`run_with`].
    pub fn run_with(
        &mut self,
        stop: u64,
        opts: &RunOptions,
        hooks: &mut impl RunHooks<Self>,
    ) -> Result<RunStats, TrainError> {
        run_with(self, stop, opts, hooks)
    }

    /// The device's counters now, if the trainer has a hook.
    fn read_counters(&self) -> Option<DeviceCounters> {
        self.counters.as_ref().map(|read| read())
    }

    /// The first parameter or optimizer state tensor holding a NaN or an
    /// infinity, named, if any (see [`first_non_finite`]).
    pub fn first_non_finite(&self) -> Result<Option<String>, TrainError> {
        let (g_opt, d_opt) = self.optimizers();
        let nets = [
            ("generator", &self.players.g_params, g_opt),
            ("discriminator", &self.players.d_params, d_opt),
        ];
        first_non_finite(&self.players.backend, &nets)
    }
}

/// The first parameter or optimizer state tensor of `nets` (name, store,
/// optimizer) holding a NaN or an infinity, named, if any. Each tensor is
/// summed on the device and only the sums are read: a sum is non-finite
/// exactly when some element is (or when finite elements add up past the
/// type's range, which is divergence too).
pub fn first_non_finite<B: Backend>(
    backend: &B,
    nets: &[(&str, &ParamStore<B>, &Optimizer<B>)],
) -> Result<Option<String>, TrainError> {
    for &(net, store, opt) in nets {
        let params = store.iter().map(|p| (p.name.clone(), p.tensor.clone()));
        let state = opt.state(store).into_iter().map(|(n, t)| (format!("optimizer {n}"), t));
        for (name, t) in params.chain(state) {
            let sum = backend.sum(&t, None);
            let total = backend.download(&sum)?[0].to_f64();
            if !total.is_finite() {
                let shape = t.shape();
                return Ok(Some(format!("{net} {name} {shape} holds NaN or infinite values")));
            }
        }
    }
    Ok(None)
}

/// A trainer the run loop can drive: the 1-D/2-D [`Trainer`] and the
/// image GAN's [`crate::image::ImageTrainer`].
pub trait Training: Sized {
    /// The device.
    type Backend: Backend;
    /// The device, for the final sync.
    fn device(&self) -> &Self::Backend;
    /// Steps done so far.
    fn steps_done(&self) -> u64;
    /// One step of Algorithm 1.
    fn train_step(&mut self) -> Result<(), TrainError>;
    /// The progress report for the last step (`None` before the first).
    fn progress(
        &self,
        started: Instant,
        first_step: u64,
        stop: u64,
    ) -> Result<Option<Progress>, TrainError>;
    /// The first non-finite parameter or optimizer state, named.
    fn first_non_finite(&self) -> Result<Option<String>, TrainError>;
    /// A figure snapshot of the current players, if this trainer takes any.
    fn snapshot(&self) -> Result<Option<Snapshot>, TrainError> {
        Ok(None)
    }
    /// The device's work counters now, if there is a hook for them.
    fn counters(&self) -> Option<DeviceCounters> {
        None
    }
}

impl<B: Backend> Training for Trainer<B> {
    type Backend = B;
    fn device(&self) -> &B {
        &self.players.backend
    }
    fn steps_done(&self) -> u64 {
        self.players.step
    }
    fn train_step(&mut self) -> Result<(), TrainError> {
        Trainer::train_step(self)
    }
    fn progress(
        &self,
        started: Instant,
        first_step: u64,
        stop: u64,
    ) -> Result<Option<Progress>, TrainError> {
        Trainer::progress(self, started, first_step, stop)
    }
    fn first_non_finite(&self) -> Result<Option<String>, TrainError> {
        Trainer::first_non_finite(self)
    }
    fn snapshot(&self) -> Result<Option<Snapshot>, TrainError> {
        Trainer::snapshot(self).map(Some)
    }
    fn counters(&self) -> Option<DeviceCounters> {
        self.read_counters()
    }
}

/// Trains `t` until `stop` steps are done. Every `log_every` steps (and at
/// the end) it reports progress and checks for divergence; it snapshots
/// the figure at `snapshot_at`, and has `hooks` save every `save_every`
/// steps (and at the end).
///
/// Divergence stops the run with [`TrainError::NonFinite`] naming the
/// step and what went wrong: a loss, G's samples, or any parameter or
/// optimizer state that is NaN or infinite (activations such as ReLU and
/// clamp can turn NaN into finite numbers downstream, so the losses alone
/// are not enough). A save happens only after the same check, so the last
/// checkpoint saved always holds finite values.
///
/// Time and device work spent on snapshots and saves are left out of the
/// [`RunStats`], which measure training alone.
pub fn run_with<T: Training>(
    t: &mut T,
    stop: u64,
    opts: &RunOptions,
    hooks: &mut impl RunHooks<T>,
) -> Result<RunStats, TrainError> {
    let started = Instant::now();
    let first_step = t.steps_done();
    // The device's counters when the steady state begins, after the warm-up.
    let mut steady_from: Option<(DeviceCounters, u64)> = None;
    let mut aside = Aside::default(); // snapshots and checkpoints
    let mut snapshots = Vec::new();
    let mut last_checkpoint = opts.resumed_from.clone().map(|path| (path, first_step));
    if opts.snapshot_at.contains(&first_step) {
        snapshots.extend(aside.book(t, |t| t.snapshot())?);
    }
    while t.steps_done() < stop {
        t.train_step()?;
        let step = t.steps_done();
        if step == first_step + WARMUP_STEPS {
            steady_from = t.counters().map(|c| (c, step));
            aside.counters = DeviceCounters::default();
        }
        let diverged =
            |what| TrainError::NonFinite { step, what, last_checkpoint: last_checkpoint.clone() };
        if step.is_multiple_of(opts.log_every.max(1)) || step == stop {
            if let Some(p) = t.progress(started, first_step, stop)? {
                let bad = [("D loss", p.d_loss), ("G loss", p.g_loss), ("G's samples", p.gen_std)]
                    .into_iter()
                    .find(|(_, v)| !v.is_finite());
                if let Some((name, value)) = bad {
                    return Err(diverged(format!("{name}: {value}")));
                }
                if let Some(what) = aside.book(t, |t| t.first_non_finite())? {
                    return Err(diverged(what));
                }
                hooks.progress(&p);
            }
        }
        if opts.snapshot_at.contains(&step) {
            snapshots.extend(aside.book(t, |t| t.snapshot())?);
        }
        if opts.save_every > 0 && (step.is_multiple_of(opts.save_every) || step == stop) {
            // Checked first, so a diverged state never replaces a good one.
            if let Some(what) = aside.book(t, |t| t.first_non_finite())? {
                return Err(diverged(what));
            }
            if let Some(path) = aside.book(t, |t| hooks.save(t))? {
                last_checkpoint = Some((path, step));
            }
        }
    }
    t.device().sync()?;
    let seconds = started.elapsed().saturating_sub(aside.time).as_secs_f64();
    let steps_run = t.steps_done() - first_step;
    let device_work = match (steady_from, t.counters()) {
        (Some((from, step)), Some(now)) => {
            Some((now - from - aside.counters, t.steps_done() - step))
        }
        _ => None,
    };
    Ok(RunStats { steps_run, seconds, device_work, snapshots })
}

impl Aside {
    /// Runs `f` (a snapshot, a checkpoint) on `t` and books its time and
    /// device work here, so the run's measurements count training only.
    fn book<T: Training, R>(
        &mut self,
        t: &mut T,
        f: impl FnOnce(&mut T) -> Result<R, TrainError>,
    ) -> Result<R, TrainError> {
        let (started, before) = (Instant::now(), t.counters());
        let out = f(t);
        self.time += started.elapsed();
        if let (Some(before), Some(after)) = (before, t.counters()) {
            self.counters = self.counters + (after - before);
        }
        out
    }
}

/// The progress report of the last step from its device tensors (a few
/// small downloads) and the clock `(started, first step of this run, step
/// now, stop)`; `None` before the first step.
pub(crate) fn progress_report<B: Backend>(
    backend: &B,
    loss: crate::GanLoss,
    last: &LastStep<B>,
    (started, first_step, step, stop): (Instant, u64, u64, u64),
) -> Result<Option<Progress>, TrainError> {
    let (Some(d_loss), Some(g_loss), Some((logits, fake_logits)), Some(fake)) =
        (&last.d_loss, &last.g_loss, &last.d_logits, &last.fake)
    else {
        return Ok(None);
    };
    let get = |t: &B::Tensor| -> Result<Vec<f64>, TrainError> {
        Ok(backend.download(t)?.into_iter().map(Real::to_f64).collect())
    };
    let mean_output = |logits: Vec<f64>| {
        logits.iter().map(|&l| loss.d_output_f64(l)).sum::<f64>() / logits.len() as f64
    };
    // D's logits on the real batch and on the fake one: two tensors, or
    // one holding both, the real rows first.
    let (real_logits, fake_logits) = match fake_logits {
        Some(fake_logits) => (get(logits)?, get(fake_logits)?),
        None => {
            let mut both = get(logits)?;
            let fake_logits = both.split_off(both.len() / 2);
            (both, fake_logits)
        }
    };
    let (gen_mean, gen_std) = crate::stats::mean_std(&get(fake)?);
    let elapsed = started.elapsed().as_secs_f64();
    let done = (step - first_step) as f64;
    let steps_per_sec = if elapsed > 0.0 { done / elapsed } else { 0.0 };
    let left = stop.saturating_sub(step) as f64;
    Ok(Some(Progress {
        step,
        steps: stop,
        d_loss: get(d_loss)?[0],
        g_loss: get(g_loss)?[0],
        d_real: mean_output(real_logits),
        d_fake: mean_output(fake_logits),
        gen_mean,
        gen_std,
        steps_per_sec,
        eta_secs: if steps_per_sec > 0.0 { left / steps_per_sec } else { 0.0 },
    }))
}
