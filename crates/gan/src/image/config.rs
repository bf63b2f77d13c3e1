//! [`ImageConfig`]: everything that decides an image GAN's result, and the
//! presets: `digits` (sized for the shipped 8×8 digits, well under a minute
//! on a CPU core), `classic` (the MLP GAN for 28×28 images of the GAN
//! literature: BatchNorm and LeakyReLU 0.2 in G, Adam 2e-4 with β₁ = 0.5),
//! `notebook` (the small GAN of the MNIST notebook the notes link: one
//! hidden layer each, LeakyReLU 0.01, one-sided label smoothing 0.1), and
//! `dcgan` (Radford et al. 2015's convolutional G and D for 28×28 images,
//! the net of `../shared/peers/dcgan_step_torch.py`; see `nets.rs`).

use crate::loss::GanLoss;
use minimax_nn::{Activation, Init, LrDecay, OptimizerConfig};
use std::fmt;
use std::str::FromStr;

/// A named starting configuration for images.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ImagePreset {
    /// Small nets for 8×8 digits: trains in seconds.
    Digits,
    /// G 100→128→256→512→1024→pixels with BatchNorm, D pixels→512→256→1.
    Classic,
    /// G 100→128→pixels, D pixels→128→1, LeakyReLU 0.01, smoothing 0.1.
    Notebook,
    /// DCGAN: G Linear→[128, 7, 7]→ConvT→[64, 14, 14]→ConvT→[1, 28, 28],
    /// D Conv→[64, 14, 14]→Conv→[128, 7, 7]→Linear, BatchNorm, Adam 2e-4.
    Dcgan,
    /// DCGAN's layers at half the channels, for 8×8 digits: G
    /// Linear→[64, 2, 2]→ConvT→[32, 4, 4]→ConvT→[1, 8, 8], D the mirror.
    DigitsDcgan,
}

/// The kind of networks an image GAN plays with.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum ImageNet {
    /// Multilayer perceptrons on the flattened image (widths `g_hidden`,
    /// `d_hidden`).
    #[default]
    Mlp,
    /// DCGAN's strided convolutions on square one-channel images of a side
    /// divisible by 4 (channels `g_hidden`, `d_hidden`, two each).
    Dcgan,
}

impl ImageNet {
    /// The name in a config file.
    pub fn name(self) -> &'static str {
        match self {
            ImageNet::Mlp => "mlp",
            ImageNet::Dcgan => "dcgan",
        }
    }
}

impl fmt::Display for ImageNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ImageNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        [ImageNet::Mlp, ImageNet::Dcgan]
            .into_iter()
            .find(|n| n.name() == s)
            .ok_or_else(|| format!("unknown image net {s:?}: expected mlp or dcgan"))
    }
}

minimax_nn::serde_as_string!(ImageNet);

impl ImagePreset {
    /// Every preset.
    pub const ALL: [ImagePreset; 5] = [
        ImagePreset::Digits,
        ImagePreset::Classic,
        ImagePreset::Notebook,
        ImagePreset::Dcgan,
        ImagePreset::DigitsDcgan,
    ];

    /// The preset's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ImagePreset::Digits => "digits",
            ImagePreset::Classic => "classic",
            ImagePreset::Notebook => "notebook",
            ImagePreset::Dcgan => "dcgan",
            ImagePreset::DigitsDcgan => "digits-dcgan",
        }
    }
}

impl fmt::Display for ImagePreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ImagePreset {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        ImagePreset::ALL.into_iter().find(|p| p.name() == s).ok_or_else(|| {
            format!("unknown image preset {s:?}: expected digits, classic, notebook, dcgan or digits-dcgan")
        })
    }
}

minimax_nn::serde_as_string!(ImagePreset);

/// Everything that decides an image GAN run. Two runs with equal configs
/// and data give bit-identical results on the CPU.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageConfig {
    /// The preset this started from.
    pub preset: ImagePreset,
    /// Every random number derives from it.
    pub seed: u64,
    /// Training steps (one step: `d_steps` D-updates, then one G-update).
    pub steps: u64,
    /// Images per batch.
    pub batch: usize,
    /// Pixels per image (64 for 8×8, 784 for 28×28): set from the data.
    pub pixels: usize,
    /// Classes in the data (10 for digits and Fashion-MNIST).
    pub classes: usize,
    /// Conditional GAN (Mirza & Osindero 2014): the class, one-hot, is
    /// joined to G's noise and to D's input.
    pub conditional: bool,
    /// G's noise dimensions.
    pub latent_dim: usize,
    /// MLPs or DCGAN's convolutions. (Absent from configs saved before it:
    /// MLPs.)
    #[serde(default)]
    pub net: ImageNet,
    /// G's hidden widths (for DCGAN, the channels of its two hidden images).
    pub g_hidden: Vec<usize>,
    /// BatchNorm on G's hidden layers after the first.
    pub g_batch_norm: bool,
    /// G's hidden activation (its output is tanh: pixels lie in [-1, 1]).
    pub g_activation: Activation,
    /// D's hidden widths (for DCGAN, the channels of its two hidden images).
    pub d_hidden: Vec<usize>,
    /// D's hidden activation (its output is a logit).
    pub d_activation: Activation,
    /// The game.
    pub loss: GanLoss,
    /// D-updates per step: the paper's k.
    pub d_steps: usize,
    /// G's optimizer.
    pub g_optimizer: OptimizerConfig,
    /// D's optimizer.
    pub d_optimizer: OptimizerConfig,
    /// D's target for real images: 1, or 0.9 with one-sided label smoothing.
    pub real_label: f64,
    /// How both networks' parameters start.
    pub init: Init,
    /// Wasserstein only: the critic's weights are clipped to `±clip` after
    /// each D-update. (Absent from configs saved before it: 0.01.)
    #[serde(default = "default_clip")]
    pub clip: f64,
    /// Both learning rates fall linearly over the end of the run, if set.
    #[serde(default)]
    pub lr_decay: Option<LrDecay>,
    /// The decay β of an exponential moving average of G's weights kept
    /// beside G (`ema ← β·ema + (1-β)·θ` after each G-update; see
    /// `ema.rs`), if set; in `0 ≤ β < 1`. (Absent from configs saved before
    /// it, and from configs without one: none.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub g_ema: Option<f64>,
}

/// WGAN's clipping bound, Arjovsky et al. (2017)'s default.
fn default_clip() -> f64 {
    0.01
}

/// The widest layer, the largest batch and the most pixels an image config
/// may ask for, checked before anything is allocated.
pub const MAX_WIDTH: usize = 1 << 14;
/// See [`MAX_WIDTH`].
pub const MAX_BATCH: usize = 1 << 14;
/// See [`MAX_WIDTH`].
pub const MAX_PIXELS: usize = 1 << 20;
/// The most classes: labels are bytes.
pub const MAX_CLASSES: usize = 256;
/// The most D-updates per step (WGAN's critic takes 5; a million hangs).
pub const MAX_D_STEPS: usize = 100;

impl ImageConfig {
    /// The preset, for images of `pixels` pixels in `classes` classes.
    pub fn preset(preset: ImagePreset, pixels: usize, classes: usize) -> ImageConfig {
        let adam = |lr| OptimizerConfig::adam(lr, 0.5, 0.999, 1e-8);
        let lrelu = Activation::LeakyRelu(0.2);
        let base = ImageConfig {
            preset,
            seed: 0,
            steps: 2000,
            batch: 64,
            pixels,
            classes,
            conditional: false,
            latent_dim: 100,
            net: ImageNet::Mlp,
            g_hidden: vec![128, 256, 512, 1024],
            g_batch_norm: true,
            g_activation: lrelu,
            d_hidden: vec![512, 256],
            d_activation: lrelu,
            loss: GanLoss::NonSaturating,
            d_steps: 1,
            g_optimizer: adam(2e-4),
            d_optimizer: adam(2e-4),
            real_label: 1.0,
            init: Init::TorchDefault,
            clip: default_clip(),
            lr_decay: None,
            g_ema: None,
        };
        match preset {
            ImagePreset::Classic => base,
            ImagePreset::Digits => ImageConfig {
                steps: 3000,
                latent_dim: 32,
                g_hidden: vec![128, 256],
                d_hidden: vec![256, 128],
                g_optimizer: adam(1e-3),
                d_optimizer: adam(1e-3),
                ..base
            },
            ImagePreset::Notebook => ImageConfig {
                steps: 4000,
                g_hidden: vec![128],
                g_batch_norm: false,
                g_activation: Activation::LeakyRelu(0.01),
                d_hidden: vec![128],
                d_activation: Activation::LeakyRelu(0.01),
                g_optimizer: adam(2e-3),
                d_optimizer: adam(2e-3),
                real_label: 0.9,
                ..base
            },
            ImagePreset::Dcgan => ImageConfig {
                net: ImageNet::Dcgan,
                g_hidden: vec![128, 64],
                g_activation: Activation::Relu,
                d_hidden: vec![64, 128],
                ..base
            },
            ImagePreset::DigitsDcgan => ImageConfig {
                steps: 3000,
                net: ImageNet::Dcgan,
                g_hidden: vec![64, 32],
                g_activation: Activation::Relu,
                d_hidden: vec![32, 64],
                ..base
            },
        }
    }

    /// G's input width: the noise, and the one-hot class when conditional.
    pub fn g_input(&self) -> usize {
        self.latent_dim + if self.conditional { self.classes } else { 0 }
    }

    /// D's input width: the pixels, and the one-hot class when conditional
    /// (for DCGAN, a constant plane of pixels per class).
    pub fn d_input(&self) -> usize {
        let per_class = if self.net == ImageNet::Dcgan { self.pixels } else { 1 };
        self.pixels + if self.conditional { self.classes * per_class } else { 0 }
    }

    /// Checks every field, naming the first that is out of range.
    pub fn validate(&self) -> Result<(), String> {
        if self.steps == 0 || self.d_steps == 0 || self.d_steps > MAX_D_STEPS {
            return Err(format!(
                "steps must be at least 1 and D-steps per step in 1..={MAX_D_STEPS}, got {} and {}",
                self.steps, self.d_steps
            ));
        }
        if self.classes > MAX_CLASSES {
            return Err(format!("classes must be in 1..={MAX_CLASSES}, got {}", self.classes));
        }
        if self.batch < 2 || self.batch > MAX_BATCH {
            return Err(format!("batch must be in 2..={MAX_BATCH}, got {}", self.batch));
        }
        if self.pixels == 0 || self.pixels > MAX_PIXELS || self.classes == 0 || self.latent_dim == 0
        {
            return Err(format!(
                "pixels ({}) must be in 1..={MAX_PIXELS}, classes ({}) and latent dimensions ({}) at least 1",
                self.pixels, self.classes, self.latent_dim
            ));
        }
        let widths = self.g_hidden.iter().chain(&self.d_hidden).chain([&self.latent_dim]);
        if let Some(w) = widths.copied().find(|&w| w == 0 || w > MAX_WIDTH) {
            return Err(format!("layer width {w} is out of range 1..={MAX_WIDTH}"));
        }
        if self.g_hidden.is_empty() || self.d_hidden.is_empty() {
            return Err("G and D need at least one hidden layer each".into());
        }
        if self.net == ImageNet::Dcgan {
            if crate::image::nets::dcgan_side(self.pixels).is_none() {
                return Err(format!(
                    "the dcgan net needs square one-channel images of a side divisible by 4 \
                     (28×28, 8×8), not {} pixels",
                    self.pixels
                ));
            }
            if self.g_hidden.len() != 2 || self.d_hidden.len() != 2 {
                return Err("the dcgan net takes two channel counts for G and two for D".into());
            }
            if self.classes > 64 && self.conditional {
                return Err(format!(
                    "a conditional dcgan takes at most 64 classes, not {}",
                    self.classes
                ));
            }
        }
        if !(self.real_label > 0.0 && self.real_label <= 1.0) {
            return Err(format!("real label must be in (0, 1], got {}", self.real_label));
        }
        if !self.loss.uses_labels() && self.real_label != 1.0 {
            return Err("label smoothing needs a loss with labels, not wasserstein".into());
        }
        if !(self.clip > 0.0 && self.clip.is_finite()) {
            return Err(format!("clip must be positive, got {}", self.clip));
        }
        if let Some(decay) = self.lr_decay {
            decay.validate()?;
        }
        if let Some(beta) = self.g_ema {
            if !(0.0..1.0).contains(&beta) {
                return Err(format!("G's EMA decay must be in [0, 1), got {beta}"));
            }
        }
        self.g_optimizer.validate().map_err(|e| format!("G's optimizer: {e}"))?;
        self.d_optimizer.validate().map_err(|e| format!("D's optimizer: {e}"))
    }
}
