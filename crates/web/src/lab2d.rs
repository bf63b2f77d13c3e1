//! The 2-D view: GAN Lab's picture of a GAN on a plane, computed by the
//! engine. A frame is what the page draws after some training steps:
//!
//! - real samples, and G's samples on a fixed noise batch (the same `z`
//!   every frame, so the learner sees the points move);
//! - for each fake, the direction G's loss pushes it, `-∂L_G/∂x`: the
//!   gradient that reaches G through D;
//! - D's output on a 30 × 30 grid (its decision surface), and beside it
//!   the optimal `D* = p_data / (p_data + p_g)` of the same grid;
//! - G's manifold: the image of a 21 × 21 grid of noise (for 1-D and 2-D
//!   noise), a warped sheet;
//! - both losses, KL and JS on the grid (as GAN Lab measures them), and
//!   the mode coverage of 2,500 fresh samples (ring and grid).
//!
//! A frame is made in two halves, so that a browser never waits on the
//! GPU: [`Lab2d::frame_request`] queues the work and names the tensors to
//! read; whoever reads them (blocking on the CPU, `await` on WebGPU) hands
//! the values to [`Pending2d::finish`], which does the host-side arithmetic.

use crate::measure::{d_star, grid_density, js_bits, kl_bits};
use crate::read::{divergence, push_losses, Taker, Values};
use minimax_autodiff::{Backend, Real, Shape, Tape};
use minimax_gan::config::Latent;
use minimax_gan::coverage::{coverage, Coverage};
use minimax_gan::data::DataKind;
use minimax_gan::purpose;
use minimax_gan::{Config, Target, TrainError, Trainer};

/// Real and fake samples drawn on the page.
pub const SHOWN: usize = 300;
/// Fresh fakes behind the coverage and the divergences
/// ([`minimax_gan::coverage::SAMPLES`]).
pub const EVAL: usize = minimax_gan::coverage::SAMPLES;
/// Cells per side of D's surface and of the density grid (GAN Lab's 30).
pub const CELLS: usize = 30;
/// Cells per side of G's manifold (GAN Lab's 20): 21 × 21 noise points.
pub const MANIFOLD: usize = 20;

/// A 2-D GAN being trained for the page, and the fixed inputs its frames use.
pub struct Lab2d<B: Backend> {
    trainer: Trainer<B>,
    /// `[SHOWN, 2]` and `[EVAL, 2]` real samples, drawn once on the host.
    real_shown: Vec<f64>,
    real_eval: Vec<f64>,
    /// `[SHOWN, latent]`, `[EVAL, latent]`: the fixed noise of every frame.
    z_shown: B::Tensor,
    z_eval: B::Tensor,
    /// `[(M+1)^latent, latent]` G's manifold's noise grid, for 1-D or 2-D noise.
    z_manifold: Option<B::Tensor>,
    /// `[pack · CELLS², 2]` the centres of D's surface's cells, bottom row
    /// first, stacked `pack` times for a packing D (see `plane.rs` in minimax-gan).
    grid: B::Tensor,
    /// `[1, 1]` G's target label.
    one: B::Tensor,
}

impl<B: Backend> Lab2d<B> {
    /// A fresh 2-D GAN on `backend` from `config` (checked first: the error
    /// names the field).
    pub fn new(backend: B, config: Config) -> Result<Self, TrainError> {
        if config.target.dim() != 2 {
            return Err(TrainError::Config(format!(
                "the 2-D view trains on 2-D data, and {} is 1-D",
                config.target.name()
            )));
        }
        let trainer = Trainer::new(backend.clone(), config)?;
        let c = trainer.config();
        let real_shown = c.target.sample(SHOWN, trainer.stream(purpose::SNAPSHOT, 0, 10));
        let real_eval = c.target.sample(EVAL, trainer.stream(purpose::EVAL, 0, 10));
        let tape = Tape::new(backend.clone());
        let g = trainer.generator();
        let z_shown =
            g.noise(&tape, SHOWN, trainer.stream(purpose::SNAPSHOT, 0, 11)).value().clone();
        let z_eval = g.noise(&tape, EVAL, trainer.stream(purpose::EVAL, 0, 11)).value().clone();
        let z_manifold = manifold_noise(&backend, c)?;
        let grid = surface_grid(&backend, &c.target, trainer.discriminator().pack)?;
        let one = backend.fill(Shape::scalar(), 1.0);
        Ok(Lab2d { trainer, real_shown, real_eval, z_shown, z_eval, z_manifold, grid, one })
    }

    /// The trainer.
    pub fn trainer(&self) -> &Trainer<B> {
        &self.trainer
    }

    /// `n` steps of Algorithm 1 (on a GPU: queued, nothing read back).
    pub fn train(&mut self, n: u32) -> Result<(), TrainError> {
        for _ in 0..n {
            self.trainer.train_step()?;
        }
        Ok(())
    }

    /// One step that updates D once and G not at all (GAN Lab's "step D").
    pub fn step_d(&mut self) -> Result<(), TrainError> {
        self.step_with(1, 0)
    }

    /// One step that updates G once and D not at all (GAN Lab's "step G").
    pub fn step_g(&mut self) -> Result<(), TrainError> {
        self.step_with(0, 1)
    }

    /// One step with `d` D-updates and `g` G-updates, then the run's own again.
    fn step_with(&mut self, d: usize, g: usize) -> Result<(), TrainError> {
        let (k, gs) = (self.trainer.config().d_steps, self.trainer.config().g_steps);
        self.trainer.set_updates(d, g)?;
        let result = self.trainer.train_step();
        self.trainer.set_updates(k, gs)?;
        result
    }

    /// Mid-run changes GAN Lab allows: the players' update counts and rates.
    pub fn set_updates(&mut self, d_steps: usize, g_steps: usize) -> Result<(), TrainError> {
        self.trainer.set_updates(d_steps, g_steps)
    }

    /// See [`Lab2d::set_updates`]: G's rate, then D's.
    pub fn set_learning_rates(&mut self, g_lr: f64, d_lr: f64) -> Result<(), TrainError> {
        self.trainer.set_learning_rates(g_lr, d_lr)
    }

    /// Queues a frame's work on the backend; the returned tensors are read
    /// by the caller and handed to [`Pending2d::finish`].
    pub fn frame_request(&self) -> Result<Pending2d<B>, TrainError> {
        let t = &self.trainer;
        let (c, g, d) = (t.config(), t.generator(), t.discriminator());
        let tape = Tape::new(t.backend().clone());
        let g_vars = t.g_params().constants(&tape);
        let d_vars = t.d_params().constants(&tape);
        // G's fixed batch, [SHOWN, 2], and 2,500 fresh-looking fakes [EVAL, 2].
        let fake = g.forward(&g_vars, &tape.constant(self.z_shown.clone()))?.value().clone();
        let fake_eval = g.forward(&g_vars, &tape.constant(self.z_eval.clone()))?;
        // -∂L_G/∂x at each fake: the fakes as leaves of their own, through
        // frozen D into G's loss. The loss is a mean, so ×SHOWN gives each
        // sample's own gradient.
        let x = tape.leaf(fake.clone()); // [SHOWN, 2]
        let fake_logits = d.forward(&d_vars, &x, None)?;
        let g_loss = c.loss.g_loss(&fake_logits, &tape.constant(self.one.clone()))?;
        let grads = tape.backward(&g_loss)?;
        let arrows = grads.get_or_zeros(&x); // [SHOWN, 2]
                                             // D's surface, [CELLS², 1] (the first `CELLS²` of a packing D's rows).
        let logits = d.forward(&d_vars, &tape.constant(self.grid.clone()), None)?;
        let surface = c.loss.d_output(&logits);
        let mut tensors = vec![fake, arrows, surface.value().clone(), fake_eval.value().clone()];
        if let Some(z) = &self.z_manifold {
            tensors.push(g.forward(&g_vars, &tape.constant(z.clone()))?.value().clone());
        }
        let losses = push_losses(t.last_losses(), &mut tensors);
        Ok(Pending2d {
            tensors,
            step: t.step(),
            target: c.target.clone(),
            manifold: self.z_manifold.is_some().then_some(c.generator.latent_dim),
            losses,
            real_shown: self.real_shown.clone(),
            real_eval: self.real_eval.clone(),
        })
    }
}

/// A frame whose tensors are being read: [`Pending2d::tensors`], in order,
/// then [`Pending2d::finish`].
pub struct Pending2d<B: Backend> {
    /// Read these, in this order, and pass their values to `finish`.
    pub tensors: Vec<B::Tensor>,
    step: u64,
    target: Target,
    /// The noise's dimension when G's manifold is drawn.
    manifold: Option<usize>,
    /// Whether D's and G's last losses are among the tensors.
    losses: [bool; 2],
    real_shown: Vec<f64>,
    real_eval: Vec<f64>,
}

/// One frame of the 2-D view: everything the page draws, computed here.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Frame2d {
    /// Steps trained so far.
    pub step: u64,
    /// The square `[lo, hi]²` every coordinate below lies in.
    pub window: (f64, f64),
    /// Cells per side of `d_surface`, `d_star`, `p_data` and `p_g`.
    pub cells: usize,
    /// `[SHOWN, 2]` real samples and G's samples on the fixed noise.
    pub real: Vec<f64>,
    /// See `real`.
    pub fake: Vec<f64>,
    /// `[SHOWN, 2]`: `-∂L_G/∂x` at each fake, where G's loss pushes it.
    pub arrows: Vec<f64>,
    /// `[cells²]` D's output at each cell's centre, bottom row first.
    pub d_surface: Vec<f64>,
    /// `[cells²]` the optimal D, `p_data / (p_data + p_g)`, where defined.
    pub d_star: Vec<Option<f64>>,
    /// G's manifold: `(noise dimension, points)`, the image of a grid of
    /// `MANIFOLD + 1` noise values per axis, `[(M+1)^dim, 2]`.
    pub manifold: Option<(usize, Vec<f64>)>,
    /// D's and G's losses at the last step (absent before the first).
    pub d_loss: Option<f64>,
    /// See `d_loss`.
    pub g_loss: Option<f64>,
    /// `KL(p_data ‖ p_g)` and `JS(p_data, p_g)` on the grid, in bits.
    pub kl: f64,
    /// See `kl`.
    pub js: f64,
    /// Mode coverage of [`EVAL`] fakes, for the ring and the grid only:
    /// the rule (a mode is covered by 20 samples within 3σ of its centre)
    /// is the literature's for narrow, well-separated modes. GAN Lab's two
    /// Gaussians (σ 0.1, 0.5 apart) are neither: a G stuck on the segment
    /// between them counts as covering both, all its samples "high quality".
    pub coverage: Option<Coverage>,
    /// Why training must stop (a NaN), if it must.
    pub diverged: Option<String>,
}

impl<B: Backend> Pending2d<B> {
    /// The frame, from the values of [`Pending2d::tensors`] in order.
    pub fn finish(self, values: Values) -> Result<Frame2d, TrainError> {
        let mut values = Taker::new(values);
        let fake = values.next("the fakes")?;
        let arrows = values.next("the arrows")?;
        let surface = values.next("D's surface")?;
        let fake_eval = values.next("the fakes measured")?;
        let manifold = match self.manifold {
            Some(dim) => Some((dim, values.next("G's manifold")?)),
            None => None,
        };
        let (d_loss, g_loss) = values.losses(self.losses)?;
        let window = self.target.window();
        let p_data = grid_density(&self.real_eval, window, CELLS);
        let p_g = grid_density(&fake_eval, window, CELLS);
        let diverged = divergence(
            self.step,
            (d_loss, g_loss),
            &[("G's samples", &fake), ("D's output", &surface)],
        );
        Ok(Frame2d {
            step: self.step,
            window,
            cells: CELLS,
            real: self.real_shown,
            arrows: arrows.iter().map(|g| -g * SHOWN as f64).collect(),
            fake,
            d_surface: surface[..CELLS * CELLS].to_vec(),
            d_star: d_star(&p_data, &p_g),
            manifold,
            d_loss,
            g_loss,
            kl: kl_bits(&p_data, &p_g),
            js: js_bits(&p_data, &p_g),
            coverage: matches!(self.target.kind, DataKind::Ring { .. } | DataKind::Grid { .. })
                .then(|| coverage(&self.target, &fake_eval)),
            diverged,
        })
    }
}

/// The noise grid of G's manifold: `MANIFOLD + 1` values per axis over
/// the noise's range (uniform: `[lo, hi]`; Gaussian: `±2σ`), for 1-D or
/// 2-D noise; `None` for more dimensions, which a plane cannot show.
fn manifold_noise<B: Backend>(backend: &B, c: &Config) -> Result<Option<B::Tensor>, TrainError> {
    let dim = c.generator.latent_dim;
    if dim > 2 {
        return Ok(None);
    }
    let (lo, hi) = match c.generator.latent {
        Latent::Uniform { lo, hi } => (lo, hi),
        Latent::Gaussian => (-2.0, 2.0),
    };
    let at = |i: usize| B::Elem::from_f64(lo + (hi - lo) * i as f64 / MANIFOLD as f64);
    let side = MANIFOLD + 1;
    let z: Vec<B::Elem> = if dim == 1 {
        (0..side).map(at).collect()
    } else {
        (0..side * side).flat_map(|k| [at(k % side), at(k / side)]).collect()
    };
    Ok(Some(backend.upload(Shape::new(z.len() / dim, dim), &z)?))
}

/// The centres of D's surface's cells over the target's window, bottom row
/// first, `pack` times over (`[pack · CELLS², 2]`).
fn surface_grid<B: Backend>(
    backend: &B,
    target: &Target,
    pack: usize,
) -> Result<B::Tensor, TrainError> {
    let (lo, hi) = target.window();
    let cell = (hi - lo) / CELLS as f64;
    let centre = |i: usize| B::Elem::from_f64(lo + (i as f64 + 0.5) * cell);
    let one: Vec<B::Elem> =
        (0..CELLS * CELLS).flat_map(|k| [centre(k % CELLS), centre(k / CELLS)]).collect();
    let all: Vec<B::Elem> = one.iter().cycle().take(pack * one.len()).copied().collect();
    Ok(backend.upload(Shape::new(pack * CELLS * CELLS, 2), &all)?)
}
