//! The two players: [`Generator`] G and [`Discriminator`] D, each a
//! [`Sequential`] network plus what turns it into a GAN player (G's noise
//! and output map, D's input and dropout).

use crate::config::{Config, DInput, GOutput, Latent, Target};
use minimax_autodiff::{concat_cols, Backend, Dist, Error, Result, Shape, Tape, Var};
use minimax_nn::{Activation, Context, Mlp, Sequential};

/// G: noise `z` in, one sample per row out (`dim` coordinates each).
#[derive(Clone, Debug, PartialEq)]
pub struct Generator {
    /// `latent_dim → hidden… → dim`.
    pub net: Sequential,
    /// The noise distribution.
    pub latent: Latent,
    /// The output map.
    pub output: GOutput,
    /// The data's location and scale, used only by [`GOutput::Tanh`].
    pub target: Target,
}

impl Generator {
    /// G as `config` describes it.
    pub fn new(config: &Config) -> Result<Generator> {
        let g = &config.generator;
        let mut sizes = vec![g.latent_dim];
        sizes.extend(&g.hidden);
        sizes.push(config.target.dim()); // one output per data coordinate
        let mut acts = vec![g.activation; g.hidden.len()];
        acts.push(match g.output {
            GOutput::Linear => Activation::Identity,
            GOutput::Tanh => Activation::Tanh,
        });
        Ok(Generator {
            net: Mlp::new(&sizes, &acts)?.build(),
            latent: g.latent,
            output: g.output,
            target: config.target.clone(),
        })
    }

    /// `n` noise vectors `[n, latent_dim]`, drawn on the backend (nothing is
    /// uploaded), as a constant on `tape`.
    pub fn noise<B: Backend>(&self, tape: &Tape<B>, n: usize, seed: u64) -> Var<B> {
        let dist = match self.latent {
            Latent::Gaussian => Dist::Normal { mean: 0.0, std: 1.0 },
            Latent::Uniform { lo, hi } => Dist::Uniform { lo, hi },
        };
        let latent_dim = self.net.input_size().expect("G's first layer has a width");
        tape.random(Shape::new(n, latent_dim), dist, seed)
    }

    /// `G(z)`: `[n, latent_dim] → [n, dim]` samples.
    pub fn forward<B: Backend>(&self, params: &[Var<B>], z: &Var<B>) -> Result<Var<B>> {
        let h = self.net.forward(params, z)?; // [n, dim]
        Ok(match self.output {
            GOutput::Linear => h,
            // tanh ∈ (-1, 1) stretched to the data's window mean ± reach
            // (mean ± 4 std for the Gaussian).
            GOutput::Tanh => h.mul_scalar(self.target.reach()).add_scalar(self.target.mean),
        })
    }
}

/// D: samples in, one logit out per sample (or per batch, for moments).
///
/// D's last layer is linear, so D returns a *logit* `l`, not a probability.
/// The paper's "sigmoid on the last layer", `D(x) = σ(l)`, is applied by the
/// cross-entropy losses themselves (`bce_with_logits`), which fuse the sigmoid
/// with the log so the loss stays finite where `σ` rounds to 0 or 1. The
/// least-squares and Wasserstein games use `l` as it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Discriminator {
    /// `dim (or 4 moments) → hidden… → 1`, with dropout after each hidden
    /// layer if `dropout` > 0.
    pub net: Sequential,
    /// What D is shown.
    pub input: DInput,
    /// Dropout probability on the hidden layers while training.
    pub dropout: f64,
    /// Samples per pack (PacGAN); 1 = each sample on its own.
    pub pack: usize,
}

impl Discriminator {
    /// D as `config` describes it.
    pub fn new(config: &Config) -> Result<Discriminator> {
        let d = &config.discriminator;
        let inputs = match d.input {
            DInput::Samples => config.target.dim() * d.pack,
            DInput::Moments => 4,
        };
        let mut sizes = vec![inputs];
        sizes.extend(&d.hidden);
        sizes.push(1);
        let mut acts = vec![d.activation; d.hidden.len()];
        acts.push(Activation::Identity); // a logit; the sigmoid is in the loss
        let mut mlp = Mlp::new(&sizes, &acts)?;
        if d.dropout > 0.0 {
            mlp = mlp.with_dropout(1.0 - d.dropout)?;
        }
        Ok(Discriminator { net: mlp.build(), input: d.input, dropout: d.dropout, pack: d.pack })
    }

    /// Whether D's logit for a sample depends on that sample alone, with
    /// nothing drawn at random: D sees samples one at a time (not their
    /// moments, not packed) and drops nothing out. Then D can score a real
    /// and a fake batch stacked as one batch, in one pass, with the same
    /// logits as two passes give.
    pub fn scores_rows_alone(&self) -> bool {
        self.input == DInput::Samples && self.pack == 1 && self.dropout == 0.0
    }

    /// D's logits for a batch `x` of samples `[n, dim]`: `[n, 1]`, or
    /// `[n / pack, 1]` with packing (`n` must be a multiple of `pack`), or
    /// `[1, 1]` when D sees the batch's moments. `dropout_seed` switches dropout on
    /// (training) or off (`None`, evaluation).
    pub fn forward<B: Backend>(
        &self,
        params: &[Var<B>],
        x: &Var<B>,
        dropout_seed: Option<u64>,
    ) -> Result<Var<B>> {
        let input = match self.input {
            DInput::Samples if self.pack > 1 => pack(x, self.pack)?, // [n / pack, pack·dim]
            DInput::Samples => x.clone(),                            // [n, dim]
            DInput::Moments => x.moments()?,                         // [n, 1] -> [1, 4]
        };
        self.net.forward_with(params, &input, Context { norm: None, dropout_seed })
    }
}

/// PacGAN's packing: `[n, d] → [n/m, m·d]`, the `m` blocks of `n/m`
/// consecutive rows of `x` set side by side, so row `i` holds samples `i`,
/// `i + n/m`, …, `i + (m-1)·n/m`. All samples of a batch are drawn
/// independently, so any grouping is as good as another; this one needs only
/// transposes and column slices (whose backwards route each gradient back to
/// the row it came from).
pub fn pack<B: Backend>(x: &Var<B>, m: usize) -> Result<Var<B>> {
    let n = x.shape().rows;
    if m == 0 || !n.is_multiple_of(m) {
        return Err(Error::Invalid {
            op: "pack",
            why: format!("{n} rows cannot be packed in groups of {m}"),
        });
    }
    let rows = n / m;
    let columns = x.transpose(); // [d, n]: sample j is column j
    let blocks = (0..m)
        .map(|j| Ok(columns.slice_cols(j * rows, rows)?.transpose())) // [n/m, d]
        .collect::<Result<Vec<_>>>()?;
    concat_cols(&blocks.iter().collect::<Vec<_>>()) // [n/m, m·d]
}
