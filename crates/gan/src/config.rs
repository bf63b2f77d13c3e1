//! [`Config`]: everything that decides a training run's result, and the
//! named presets (`default` and `devnag` for the 1-D Gaussian, `2d` for the
//! 2-D data sets of [`crate::data`]).
//!
//! A config round-trips through JSON (it derives serde's `Serialize` and
//! `Deserialize`, refusing unknown fields) so it can ride in a checkpoint's
//! metadata and in `summary.json`.

pub use crate::data::{DataKind, Target};
use crate::loss::GanLoss;
pub use minimax_nn::LrDecay;
use minimax_nn::{Activation, Init, OptimizerConfig};
use std::fmt;
use std::str::FromStr;

/// The distribution of G's input noise z.
#[derive(Copy, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Latent {
    /// z ~ N(0, 1) in every coordinate (the GAN trick: "sample from a
    /// Gaussian, not a uniform").
    Gaussian,
    /// z ~ U[lo, hi) in every coordinate (Dev Nag uses U[0, 1)).
    Uniform {
        /// Lower bound.
        lo: f64,
        /// Upper bound.
        hi: f64,
    },
}

/// How G's last layer maps to a sample.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GOutput {
    /// The last layer's raw output is the sample.
    Linear,
    /// The GAN trick "tanh as G's last activation": `tanh` bounds the output
    /// to (-1, 1), and a fixed (untrained) affine map stretches that to the
    /// data's window `mean ± reach` ([`Target::reach`]: 4 std for the Gaussian),
    /// as image GANs map (-1, 1) to pixel values they know lie in [0, 255].
    Tanh,
}

/// What D is shown.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DInput {
    /// Each sample on its own: D maps `[batch, dim]` to `[batch, 1]` logits.
    Samples,
    /// Dev Nag's "only 4 moments": D sees the batch's mean, std, skew and
    /// excess kurtosis (`[1, 4]`) and answers once per batch (`[1, 1]`).
    /// 1-D data only.
    Moments,
}

/// The generator's shape.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorConfig {
    /// The noise distribution.
    pub latent: Latent,
    /// Noise dimensions (G's input width).
    pub latent_dim: usize,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// The hidden layers' activation.
    pub activation: Activation,
    /// The output layer.
    pub output: GOutput,
}

/// The discriminator's shape.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscriminatorConfig {
    /// What D is shown.
    pub input: DInput,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// The hidden layers' activation. D's last layer is always linear: it
    /// outputs a logit, and a loss that wants `D(x) = σ(logit)` applies the
    /// sigmoid itself (see [`crate::loss`]).
    pub activation: Activation,
    /// Dropout probability on D's hidden layers during training (0 = off).
    pub dropout: f64,
    /// PacGAN's packing (Lin et al. 2018): D judges `pack` samples at once,
    /// side by side, all real or all fake (1 = off: one sample at a time).
    /// A G that drops modes makes packs that look alike, which a real pack
    /// seldom does, so D can tell; see [`crate::models::pack`].
    pub pack: usize,
}

/// Everything that decides a run's result. Two runs with equal configs
/// produce bit-identical results on the CPU.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The preset this started from (for reports).
    pub preset: Preset,
    /// The run's seed: every random number derives from it.
    pub seed: u64,
    /// Training steps. One step is one pass of Algorithm 1's outer loop:
    /// `d_steps` updates of D, then `g_steps` updates of G.
    pub steps: u64,
    /// Samples per batch (real and fake alike).
    pub batch: usize,
    /// The game.
    pub loss: GanLoss,
    /// D updates per step: the paper's k.
    pub d_steps: usize,
    /// G updates per step (1 in the paper; 20 in Dev Nag's).
    pub g_steps: usize,
    /// The real data.
    pub target: Target,
    /// G's shape.
    pub generator: GeneratorConfig,
    /// D's shape.
    pub discriminator: DiscriminatorConfig,
    /// How both networks' parameters start.
    pub init: Init,
    /// G's optimizer.
    pub g_optimizer: OptimizerConfig,
    /// D's optimizer.
    pub d_optimizer: OptimizerConfig,
    /// D's target for real samples: 1, or 0.9 with one-sided label smoothing.
    pub real_label: f64,
    /// Fraction of D's labels flipped at random each step (label noise).
    pub label_noise: f64,
    /// Wasserstein only: the critic's weights are clipped to `±clip`.
    pub clip: f64,
    /// Both learning rates fall linearly towards the end of the run (`None`:
    /// constant rates).
    pub lr_decay: Option<LrDecay>,
}

/// A named starting configuration.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Preset {
    /// Learns N(4, 1.25²) in seconds: small MLPs (tanh G, LeakyReLU D),
    /// Adam on two time scales, the non-saturating loss.
    Default,
    /// Dev Nag's "GANs in 50 lines of code (PyTorch)" (2017), exactly.
    Devnag,
    /// The 2-D data sets (the ring of 8 Gaussians by default): chosen by
    /// measurement on the ring, see [`Config::preset`].
    TwoD,
    /// GAN Lab's default model (Kahng et al. 2018), for its 2-D sets in the
    /// unit square: see [`Config::preset`].
    GanLab,
}

impl Preset {
    /// Every preset, in the order `--help` lists them.
    pub const ALL: [Preset; 4] = [Preset::Default, Preset::Devnag, Preset::TwoD, Preset::GanLab];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Default => "default",
            Preset::Devnag => "devnag",
            Preset::TwoD => "2d",
            Preset::GanLab => "ganlab",
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Preset {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Preset::ALL.into_iter().find(|p| p.name() == s).ok_or_else(|| {
            format!("unknown preset {s:?}: expected default or devnag (1-D data), or 2d or ganlab")
        })
    }
}

/// The widest layer a config may ask for.
pub const MAX_WIDTH: usize = 1 << 16;
/// The largest batch a config may ask for.
pub const MAX_BATCH: usize = 1 << 16;
/// The most hidden layers a network may have.
pub const MAX_LAYERS: usize = 64;
/// The most D-updates (k) or G-updates a step may make.
pub const MAX_UPDATES: usize = 100;

impl Config {
    /// The configuration of a preset.
    pub fn preset(preset: Preset) -> Config {
        match preset {
            Preset::Default => Config::default_preset(),
            Preset::Devnag => Config::devnag(),
            Preset::TwoD => Config::two_d(),
            Preset::GanLab => Config::gan_lab(),
        }
    }

    /// GAN Lab's default model, read from its source (`demo/ganlab.ts`,
    /// `ganlab.html`, `ganlab_models.ts`):
    ///
    /// - data: its two Gaussians ([`Target::gaussians`]); noise: 2-D uniform on [0, 1);
    /// - G: 2 → 8 → 8 → 2 with ReLU and a tanh output (GAN Lab's "1 hidden
    ///   layer" counts the layers after the first), D: 2 → 8 → 8 → 1 with ReLU;
    /// - the log loss (non-saturating for G), k = 2 D-updates and one
    ///   G-update per step (its page's "2 update(s)" and "1"), batch 150;
    /// - SGD at 0.1 for both, without momentum.
    ///
    /// Two differences, both small: GAN Lab draws weights from
    /// N(0, 1/fan_in) where this uses Xavier's uniform init, and it weighs D's
    /// real term by 0.95, which this leaves out. GAN Lab's tanh output lands
    /// in [-1, 1] around a unit-square data set; here it is stretched onto
    /// the data's window ([`GOutput::Tanh`]).
    fn gan_lab() -> Config {
        let sgd = OptimizerConfig::sgd(0.1, 0.0);
        Config {
            preset: Preset::GanLab,
            seed: 0,
            steps: 100_000,
            batch: 150,
            loss: GanLoss::NonSaturating,
            d_steps: 2,
            g_steps: 1,
            target: Target::gaussians(),
            generator: GeneratorConfig {
                latent: Latent::Uniform { lo: 0.0, hi: 1.0 },
                latent_dim: 2,
                hidden: vec![8, 8],
                activation: Activation::Relu,
                output: GOutput::Tanh,
            },
            discriminator: DiscriminatorConfig {
                input: DInput::Samples,
                hidden: vec![8, 8],
                activation: Activation::Relu,
                dropout: 0.0,
                pack: 1,
            },
            init: Init::XavierUniform,
            g_optimizer: sgd,
            d_optimizer: sgd,
            real_label: 1.0,
            label_noise: 0.0,
            clip: 0.01,
            lr_decay: None,
        }
    }

    /// The `default` preset, chosen by measurement (seeds 0 to 7, 5000
    /// steps: every run within 0.04 of the target's mean and std, 4 to 5 s
    /// each on one core of the development machine):
    ///
    /// - G: 4-D Gaussian noise, 4 → 16 → 16 → 1 with tanh hidden layers (a
    ///   smooth map; LeakyReLU's kinks showed up as kinks in G's density);
    /// - D: 1 → 32 → 32 → 1 with LeakyReLU(0.2);
    /// - the non-saturating loss, k = 1, batch 128, Xavier init;
    /// - Adam with β₁ = 0.5 (after DCGAN), and two time scales (Heusel et
    ///   al. 2017): D learns at 1e-3, G at 2e-4. With equal rates G's std
    ///   kept swinging ±0.2 around the target instead of settling.
    fn default_preset() -> Config {
        let adam = |lr| OptimizerConfig::adam(lr, 0.5, 0.999, 1e-8);
        Config {
            preset: Preset::Default,
            seed: 0,
            steps: 5000,
            batch: 128,
            loss: GanLoss::NonSaturating,
            d_steps: 1,
            g_steps: 1,
            target: Target::gaussian(4.0, 1.25),
            generator: GeneratorConfig {
                latent: Latent::Gaussian,
                latent_dim: 4,
                hidden: vec![16, 16],
                activation: Activation::Tanh,
                output: GOutput::Linear,
            },
            discriminator: DiscriminatorConfig {
                input: DInput::Samples,
                hidden: vec![32, 32],
                activation: Activation::LeakyRelu(0.2),
                dropout: 0.0,
                pack: 1,
            },
            init: Init::XavierUniform,
            g_optimizer: adam(2e-4),
            d_optimizer: adam(1e-3),
            real_label: 1.0,
            label_noise: 0.0,
            clip: 0.01,
            lr_decay: None,
        }
    }

    /// Dev Nag's 1-D GAN, line for line:
    ///
    /// - real data N(4, 1.25²); noise `torch.rand` = U[0, 1), one number per sample;
    /// - G: 1 → 5 → 5 → 1, tanh on both hidden layers, linear output;
    /// - D: fed the 4 moments of the 500-sample batch, 4 → 10 → 10 → 1 with
    ///   a sigmoid on every layer; the last sigmoid is the one inside
    ///   `bce_with_logits` (his `nn.BCELoss` after a sigmoid, fused);
    /// - both optimizers `SGD(lr=1e-3, momentum=0.9)`; PyTorch's default init;
    /// - 5000 epochs, each 20 D-steps then 20 G-steps, batch 500.
    fn devnag() -> Config {
        let sgd = OptimizerConfig::sgd(1e-3, 0.9);
        Config {
            preset: Preset::Devnag,
            seed: 0,
            steps: 5000,
            batch: 500,
            loss: GanLoss::NonSaturating,
            d_steps: 20,
            g_steps: 20,
            target: Target::gaussian(4.0, 1.25),
            generator: GeneratorConfig {
                latent: Latent::Uniform { lo: 0.0, hi: 1.0 },
                latent_dim: 1,
                hidden: vec![5, 5],
                activation: Activation::Tanh,
                output: GOutput::Linear,
            },
            discriminator: DiscriminatorConfig {
                input: DInput::Moments,
                hidden: vec![10, 10],
                activation: Activation::Sigmoid,
                dropout: 0.0,
                pack: 1,
            },
            init: Init::TorchDefault,
            g_optimizer: sgd,
            d_optimizer: sgd,
            real_label: 1.0,
            label_noise: 0.0,
            clip: 0.01,
            lr_decay: None,
        }
    }

    /// The `2d` preset, for the ring of 8 Gaussians (and, with another
    /// `target`, the grid, the moons and the spiral). Chosen by measurement
    /// on the ring (`examples/ring_gan.rs`; seeds 0 to 7: all 8 modes
    /// covered by every run, 83% to 90% of samples within 3σ of a mode,
    /// 6 to 16 s per run on the development machine, shared):
    ///
    /// - G: 8-D Gaussian noise, 8 → 64 → 64 → 2 with ReLU: sharper than
    ///   LeakyReLU(0.2), which left 30% of samples strung between the modes;
    /// - D: 4 → 64 → 64 → 1 with ReLU, fed **packs of 2 samples** (PacGAN,
    ///   Lin et al. 2018). Without packing, seeds 0–3 covered 7, 8, 5 and 6
    ///   modes: G settled on some and D could not tell;
    /// - the non-saturating loss, k = 1, batch 256, Xavier init;
    /// - Adam with β₁ = 0.5 and equal rates 1e-3, decaying linearly over the
    ///   second half of the 4000 steps to 2% ([`LrDecay`]): at a constant
    ///   rate G's clusters stayed 2 to 3 times wider than the data's σ.
    fn two_d() -> Config {
        let adam = |lr| OptimizerConfig::adam(lr, 0.5, 0.999, 1e-8);
        Config {
            preset: Preset::TwoD,
            seed: 0,
            steps: 4000,
            batch: 256,
            loss: GanLoss::NonSaturating,
            d_steps: 1,
            g_steps: 1,
            target: Target::ring(),
            generator: GeneratorConfig {
                latent: Latent::Gaussian,
                latent_dim: 8,
                hidden: vec![64, 64],
                activation: Activation::Relu,
                output: GOutput::Linear,
            },
            discriminator: DiscriminatorConfig {
                input: DInput::Samples,
                hidden: vec![64, 64],
                activation: Activation::Relu,
                dropout: 0.0,
                pack: 2,
            },
            init: Init::XavierUniform,
            g_optimizer: adam(1e-3),
            d_optimizer: adam(1e-3),
            real_label: 1.0,
            label_noise: 0.0,
            clip: 0.01,
            lr_decay: Some(LrDecay { start: 0.5, to: 0.02 }),
        }
    }

    /// A few lines describing the run, for the terminal.
    pub fn describe(&self) -> String {
        let g = &self.generator;
        let d = &self.discriminator;
        let widths = |first: usize, hidden: &[usize], last: usize| {
            let mut all = vec![first];
            all.extend(hidden);
            all.push(last);
            all.iter().map(|w| w.to_string()).collect::<Vec<_>>().join("→")
        };
        let latent = match g.latent {
            Latent::Gaussian => "N(0, 1)".to_string(),
            Latent::Uniform { lo, hi } => format!("U[{lo}, {hi})"),
        };
        let output = match g.output {
            GOutput::Linear => "linear output",
            GOutput::Tanh => "tanh output",
        };
        let packs = format!("packs of {} samples", d.pack);
        let (d_in, d_what) = match d.input {
            DInput::Samples if d.pack > 1 => (self.target.dim() * d.pack, packs.as_str()),
            DInput::Samples => (self.target.dim(), "samples"),
            DInput::Moments => (4, "the batch's 4 moments"),
        };
        let mut tricks = Vec::new();
        if d.dropout > 0.0 {
            tricks.push(format!("dropout {} in D", d.dropout));
        }
        if self.real_label != 1.0 {
            tricks.push(format!("real label {}", self.real_label));
        }
        if self.label_noise > 0.0 {
            tricks.push(format!("label noise {}", self.label_noise));
        }
        if self.loss == GanLoss::Wasserstein {
            tricks.push(format!("weight clip ±{}", self.clip));
        }
        if let Some(d) = self.lr_decay {
            tricks.push(format!(
                "learning rates fall linearly from step {} to ×{} at the end",
                (d.start * self.steps as f64).floor(),
                d.to
            ));
        }
        let mut text = format!(
            "preset {}: target {}, seed {}\n\
             G: noise {latent}^{} → {} ({} hidden, {output})\n\
             D: sees {d_what}, {} ({} hidden, logit out)\n\
             loss {}, {} steps × ({} D-step(s) + {} G-step(s)), batch {}, init {}\n\
             G optimizer {}, D optimizer {}",
            self.preset,
            self.target,
            self.seed,
            g.latent_dim,
            widths(g.latent_dim, &g.hidden, self.target.dim()),
            g.activation,
            widths(d_in, &d.hidden, 1),
            d.activation,
            self.loss,
            self.steps,
            self.d_steps,
            self.g_steps,
            self.batch,
            self.init,
            self.g_optimizer,
            self.d_optimizer,
        );
        if !tricks.is_empty() {
            text.push_str(&format!("\ntricks: {}", tricks.join(", ")));
        }
        text
    }

    /// Checks every field's range; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        let positive = |name: &str, x: f64| {
            if x > 0.0 && x.is_finite() {
                Ok(())
            } else {
                Err(format!("{name} must be a positive number, got {x}"))
            }
        };
        if self.steps == 0 {
            return Err("steps must be at least 1".into());
        }
        if self.batch < 2 {
            return Err(format!("batch must be at least 2, got {}", self.batch));
        }
        // Either player may sit a step out (GAN Lab's "0 updates per epoch"),
        // not both: such a step would train nothing.
        if self.d_steps == 0 && self.g_steps == 0 {
            return Err("k (D-steps) and G-steps per step cannot both be 0".into());
        }
        if self.d_steps > MAX_UPDATES || self.g_steps > MAX_UPDATES {
            return Err(format!(
                "k (D-steps) and G-steps per step are at most {MAX_UPDATES}, got {} and {}",
                self.d_steps, self.g_steps
            ));
        }
        self.target.validate()?;
        if self.discriminator.input == DInput::Moments && self.target.dim() != 1 {
            return Err(format!(
                "discriminator input moments needs 1-D data, not {}",
                self.target.name()
            ));
        }
        self.d_optimizer.validate().map_err(|e| format!("D's optimizer: {e}"))?;
        self.g_optimizer.validate().map_err(|e| format!("G's optimizer: {e}"))?;
        if self.generator.latent_dim == 0 {
            return Err("latent dimension must be at least 1".into());
        }
        // Bounds on sizes, checked before anything is allocated: a config
        // read from a file or typed on a command line cannot ask for a
        // 40 GB network or batch.
        let widths = self.generator.hidden.iter().chain(&self.discriminator.hidden);
        let widest = widths.chain([&self.generator.latent_dim]).copied().max().unwrap_or(1);
        if widest > MAX_WIDTH {
            return Err(format!("layer width {widest} is over the limit of {MAX_WIDTH}"));
        }
        if self.batch > MAX_BATCH {
            return Err(format!("batch {} is over the limit of {MAX_BATCH}", self.batch));
        }
        if self.generator.hidden.len() + self.discriminator.hidden.len() > 2 * MAX_LAYERS {
            return Err(format!("more than {MAX_LAYERS} hidden layers in a network"));
        }
        if let Latent::Uniform { lo, hi } = self.generator.latent {
            let ordered = lo.is_finite() && hi.is_finite() && lo < hi;
            if !ordered {
                return Err(format!("uniform latent needs lo < hi, got [{lo}, {hi})"));
            }
        }
        let pack = self.discriminator.pack;
        if pack == 0 || !self.batch.is_multiple_of(pack) {
            return Err(format!("pack must be at least 1 and divide the batch, got {pack}"));
        }
        if pack > 1 && self.discriminator.input == DInput::Moments {
            return Err("pack needs a discriminator that sees samples, not moments".into());
        }
        if !(0.0..1.0).contains(&self.discriminator.dropout) {
            return Err(format!("dropout must be in [0, 1), got {}", self.discriminator.dropout));
        }
        if !(self.real_label > 0.0 && self.real_label <= 1.0) {
            return Err(format!("real label must be in (0, 1], got {}", self.real_label));
        }
        if !(0.0..0.5).contains(&self.label_noise) {
            return Err(format!("label noise must be in [0, 0.5), got {}", self.label_noise));
        }
        if !self.loss.uses_labels() && (self.real_label != 1.0 || self.label_noise != 0.0) {
            return Err(
                "label smoothing and label noise need a loss with labels, not wasserstein".into()
            );
        }
        positive("clip", self.clip)?;
        match self.lr_decay {
            Some(decay) => decay.validate(),
            None => Ok(()),
        }
    }
}

minimax_nn::serde_as_string!(Preset);
