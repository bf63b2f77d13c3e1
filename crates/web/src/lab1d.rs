//! The 1-D view: the GAN paper's Figure 1, live. Over `x` it draws the
//! data's density `p_data`, G's density `p_g` (a histogram of G's samples
//! on fixed noise) and D's output `D(x)`; beside it the value of the game
//!
//! ```text
//! V(G, D) = E_x~p_data[log D(x)] + E_z[log(1 - D(G(z)))]
//! ```
//!
//! measured on fresh batches, against `-log 4`: the value at the game's
//! end, where `p_g = p_data` and `D = ½` everywhere (Theorem 1). With the
//! optimal D, `V = -log 4 + 2·JS(p_data ‖ p_g)`, so the JS divergence is
//! drawn too (in nats, as the paper's log is natural).

use crate::read::{divergence, push_losses, Taker, Values};
use minimax_autodiff::{Backend, Real, Shape, Tape};
use minimax_gan::config::DInput;
use minimax_gan::purpose;
use minimax_gan::stats::{bin_centers, histogram_density, js_divergence, normal_pdf};
use minimax_gan::{Config, TrainError, Trainer};

/// Bins of the densities, over `mean ± 4 std`.
pub const BINS: usize = 80;
/// G's samples behind `p_g`, V and JS.
pub const EVAL: usize = 5000;

/// A 1-D GAN being trained for the page.
pub struct Lab1d<B: Backend> {
    trainer: Trainer<B>,
    /// `[EVAL]` real samples, drawn once.
    real: Vec<f64>,
    /// `[EVAL, 1]` and `[EVAL, latent]`: the same real batch on the device,
    /// and G's fixed noise.
    real_t: B::Tensor,
    z: B::Tensor,
    /// `[BINS, 1]` the bin centres, where D is drawn.
    xs: B::Tensor,
}

impl<B: Backend> Lab1d<B> {
    /// A fresh 1-D GAN on `backend` from `config` (checked first).
    pub fn new(backend: B, config: Config) -> Result<Self, TrainError> {
        if config.target.dim() != 1 {
            return Err(TrainError::Config(format!(
                "the 1-D view trains on 1-D data, and {} is 2-D",
                config.target.name()
            )));
        }
        let trainer = Trainer::new(backend.clone(), config)?;
        let c = trainer.config();
        let real = c.target.sample(EVAL, trainer.stream(purpose::EVAL, 0, 20));
        let up = |v: &[f64], shape| {
            backend.upload(shape, &v.iter().map(|&x| B::Elem::from_f64(x)).collect::<Vec<_>>())
        };
        let real_t = up(&real, Shape::new(EVAL, 1))?;
        let (lo, hi) = c.target.window(); // mean ± 4 std
        let xs = up(&bin_centers(lo, hi, BINS), Shape::new(BINS, 1))?;
        let tape = Tape::new(backend.clone());
        let z = trainer.generator().noise(&tape, EVAL, trainer.stream(purpose::EVAL, 0, 21));
        let z = z.value().clone();
        Ok(Lab1d { trainer, real, real_t, z, xs })
    }

    /// The trainer.
    pub fn trainer(&self) -> &Trainer<B> {
        &self.trainer
    }

    /// `n` steps of Algorithm 1.
    pub fn train(&mut self, n: u32) -> Result<(), TrainError> {
        for _ in 0..n {
            self.trainer.train_step()?;
        }
        Ok(())
    }

    /// Changes k and G's updates per step from the next step on.
    pub fn set_updates(&mut self, d_steps: usize, g_steps: usize) -> Result<(), TrainError> {
        self.trainer.set_updates(d_steps, g_steps)
    }

    /// Queues a frame's work; read [`Pending1d::tensors`], then finish.
    pub fn frame_request(&self) -> Result<Pending1d<B>, TrainError> {
        let t = &self.trainer;
        let (c, g, d) = (t.config(), t.generator(), t.discriminator());
        let tape = Tape::new(t.backend().clone());
        let g_vars = t.g_params().constants(&tape);
        let d_vars = t.d_params().constants(&tape);
        let fake = g.forward(&g_vars, &tape.constant(self.z.clone()))?; // [EVAL, 1]

        // D's outputs on the real and the fake batch ([EVAL, 1], or [1, 1]
        // for a D that sees the batch's moments), and over x ([BINS, 1]).
        let d_real =
            c.loss.d_output(&d.forward(&d_vars, &tape.constant(self.real_t.clone()), None)?);
        let d_fake = c.loss.d_output(&d.forward(&d_vars, &fake, None)?);
        let mut tensors =
            vec![fake.value().clone(), d_real.value().clone(), d_fake.value().clone()];
        let d_of_x = c.discriminator.input == DInput::Samples;
        if d_of_x {
            let on_xs = d.forward(&d_vars, &tape.constant(self.xs.clone()), None)?;
            tensors.push(c.loss.d_output(&on_xs).value().clone());
        }
        let losses = push_losses(t.last_losses(), &mut tensors);
        Ok(Pending1d {
            tensors,
            step: t.step(),
            config: c.clone(),
            d_of_x,
            losses,
            real: self.real.clone(),
        })
    }
}

/// A frame whose tensors are being read.
pub struct Pending1d<B: Backend> {
    /// Read these, in order, and pass their values to [`Pending1d::finish`].
    pub tensors: Vec<B::Tensor>,
    step: u64,
    config: Config,
    d_of_x: bool,
    losses: [bool; 2],
    real: Vec<f64>,
}

/// One frame of the 1-D view.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Frame1d {
    /// Steps trained so far.
    pub step: u64,
    /// `[BINS]` the bin centres over `mean ± 4 std`.
    pub xs: Vec<f64>,
    /// `[BINS]` the data's density at each x.
    pub p_data: Vec<f64>,
    /// `[BINS]` G's density, a histogram of [`EVAL`] samples.
    pub p_g: Vec<f64>,
    /// `[BINS]` D(x), for a D that sees samples (Dev Nag's sees moments).
    pub d_of_x: Option<Vec<f64>>,
    /// V(G, D) on the real batch and G's batch, in nats.
    pub value: f64,
    /// `-log 4`, the value at the end of the game.
    pub value_at_end: f64,
    /// JS(p_data ‖ p_g) of the two batches' histograms, in nats.
    pub js: f64,
    /// G's samples' mean and std, and the data's.
    pub g_mean_std: (f64, f64),
    /// See `g_mean_std`.
    pub data_mean_std: (f64, f64),
    /// D's and G's losses at the last step (absent before the first).
    pub d_loss: Option<f64>,
    /// See `d_loss`.
    pub g_loss: Option<f64>,
    /// Why training must stop (a NaN), if it must.
    pub diverged: Option<String>,
}

impl<B: Backend> Pending1d<B> {
    /// The frame, from the values of [`Pending1d::tensors`] in order.
    pub fn finish(self, values: Values) -> Result<Frame1d, TrainError> {
        let mut values = Taker::new(values);
        let fake = values.next("G's samples")?;
        let d_real = values.next("D on the data")?;
        let d_fake = values.next("D on G's samples")?;
        let d_of_x = if self.d_of_x { Some(values.next("D over x")?) } else { None };
        let (d_loss, g_loss) = values.losses(self.losses)?;
        let (lo, hi) = self.config.target.window();
        let t = &self.config.target;
        let xs = bin_centers(lo, hi, BINS);
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let ln_mean =
            |v: &[f64], f: fn(f64) -> f64| mean(&v.iter().map(|&d| f(d).ln()).collect::<Vec<_>>());
        let value = ln_mean(&d_real, |d| d) + ln_mean(&d_fake, |d| 1.0 - d);
        let diverged = divergence(self.step, (d_loss, g_loss), &[("G's samples", &fake)]);
        Ok(Frame1d {
            step: self.step,
            p_data: xs.iter().map(|&x| normal_pdf(x, t.mean, t.std)).collect(),
            p_g: histogram_density(&fake, lo, hi, BINS),
            xs,
            d_of_x,
            value,
            value_at_end: -(4f64.ln()),
            js: js_divergence(&self.real, &fake, minimax_gan::eval::JS_BINS),
            g_mean_std: minimax_gan::stats::mean_std(&fake),
            data_mean_std: minimax_gan::stats::mean_std(&self.real),
            d_loss,
            g_loss,
            diverged,
        })
    }
}
