//! The digits view: the 8 × 8 digits GAN (`ImagePreset::Digits`) trained in
//! the page, with G's samples on fixed noise forming as the learner
//! watches, and for a conditional G, the digit the learner picks.
//!
//! The data (1,797 scikit-learn digits, 57 KB gzipped) is compiled into
//! the binary by `minimax-io` ([`minimax_io::datasets::digits`]): the page
//! downloads nothing else.

use crate::read::{divergence, push_losses, Taker, Values};
use minimax_autodiff::{Backend, Dist, Shape, Tape};
use minimax_gan::image::{ImageConfig, ImageData, ImagePreset, ImageTrainer};
use minimax_gan::TrainError;

/// Images shown: a 10 × 10 grid.
pub const SHOWN: usize = 100;
/// Pixels per side.
pub const SIDE: usize = 8;

/// The default config of the view: the `digits` preset, conditional or not.
pub fn default_config(conditional: bool) -> ImageConfig {
    let mut c = ImageConfig::preset(ImagePreset::Digits, SIDE * SIDE, 10);
    c.conditional = conditional;
    c
}

/// The digits GAN being trained for the page.
pub struct Digits<B: Backend> {
    trainer: ImageTrainer<B>,
    /// `[SHOWN, latent]` the fixed noise of every frame.
    z: B::Tensor,
}

impl<B: Backend> Digits<B> {
    /// A fresh digits GAN on `backend` from `config` (checked first).
    pub fn new(backend: B, config: ImageConfig) -> Result<Self, TrainError> {
        config.validate().map_err(TrainError::Config)?;
        let splits =
            minimax_io::datasets::digits().map_err(|e| TrainError::Config(e.to_string()))?;
        if config.pixels != SIDE * SIDE || config.classes != splits.train.classes {
            return Err(TrainError::Config(format!(
                "the digits view needs 64 pixels and 10 classes, got {} and {}",
                config.pixels, config.classes
            )));
        }
        let train = &splits.train;
        let data = ImageData::upload(&backend, &config, &train.images, &train.labels, usize::MAX)?;
        let tape = Tape::new(backend.clone());
        let z = tape
            .random(
                Shape::new(SHOWN, config.latent_dim),
                Dist::Normal { mean: 0.0, std: 1.0 },
                config.seed ^ 0xd161,
            )
            .value()
            .clone();
        Ok(Digits { trainer: ImageTrainer::new(backend, config, data)?, z })
    }

    /// The trainer.
    pub fn trainer(&self) -> &ImageTrainer<B> {
        &self.trainer
    }

    /// `n` steps of Algorithm 1.
    pub fn train(&mut self, n: u32) -> Result<(), TrainError> {
        for _ in 0..n {
            self.trainer.train_step()?;
        }
        Ok(())
    }

    /// Queues a frame: G's images on the fixed noise, for `digit` (every
    /// image that digit) or, with `None`, digit `i % 10` for image `i` (a
    /// conditional G; an unconditional one ignores the classes).
    pub fn frame_request(&self, digit: Option<usize>) -> Result<PendingDigits<B>, TrainError> {
        let t = &self.trainer;
        let c = t.config();
        if let Some(d) = digit.filter(|&d| d >= c.classes) {
            return Err(TrainError::Config(format!(
                "digit {d}: pick one of 0 to {}",
                c.classes - 1
            )));
        }
        let classes: Vec<usize> = (0..SHOWN).map(|i| digit.unwrap_or(i % c.classes)).collect();
        let tape = Tape::new(t.backend().clone());
        let images = t.generate(&tape, &tape.constant(self.z.clone()), &classes)?; // [SHOWN, 64]
        let mut tensors = vec![images.value().clone()];
        let losses = push_losses(t.last_losses(), &mut tensors);
        Ok(PendingDigits {
            tensors,
            step: t.step(),
            classes: c.conditional.then_some(classes),
            losses,
        })
    }
}

/// A frame whose tensors are being read.
pub struct PendingDigits<B: Backend> {
    /// Read these, in order, and pass their values to [`PendingDigits::finish`].
    pub tensors: Vec<B::Tensor>,
    step: u64,
    classes: Option<Vec<usize>>,
    losses: [bool; 2],
}

/// One frame of the digits view.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FrameDigits {
    /// Steps trained so far.
    pub step: u64,
    /// Pixels per side.
    pub side: usize,
    /// `[SHOWN, 64]` G's images, each pixel in [-1, 1] (-1 the background).
    pub images: Vec<f64>,
    /// The class each image was asked for (a conditional G only).
    pub classes: Option<Vec<usize>>,
    /// D's and G's losses at the last step (absent before the first).
    pub d_loss: Option<f64>,
    /// See `d_loss`.
    pub g_loss: Option<f64>,
    /// Why training must stop (a NaN), if it must.
    pub diverged: Option<String>,
}

impl<B: Backend> PendingDigits<B> {
    /// The frame, from the values of [`PendingDigits::tensors`] in order.
    pub fn finish(self, values: Values) -> Result<FrameDigits, TrainError> {
        let mut values = Taker::new(values);
        let images = values.next("G's images")?;
        let (d_loss, g_loss) = values.losses(self.losses)?;
        let diverged = divergence(self.step, (d_loss, g_loss), &[("G's images", &images)]);
        Ok(FrameDigits {
            step: self.step,
            side: SIDE,
            images,
            classes: self.classes,
            d_loss,
            g_loss,
            diverged,
        })
    }
}
