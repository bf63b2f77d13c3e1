//! The two players: [`Generator`] G and [`Discriminator`] D, each an [`Mlp`]
//! plus what turns it into a GAN player (G's noise and output map, D's input
//! and dropout).

use crate::config::{Config, DInput, GOutput, Latent, Target};
use crate::layers::Activation;
use crate::mlp::{Dropout, Mlp};
use minimax_autodiff::{Backend, Dist, Result, Shape, Tape, Var};

/// Network tags for [`crate::layers::layer_seed`]: G's and D's layers draw
/// from different streams.
pub const GENERATOR_NET: u64 = 1;
/// See [`GENERATOR_NET`].
pub const DISCRIMINATOR_NET: u64 = 2;

/// G: noise `z` in, one sample per row out.
#[derive(Clone, Debug, PartialEq)]
pub struct Generator {
    /// `latent_dim → hidden… → 1`.
    pub mlp: Mlp,
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
        sizes.push(1);
        let mut acts = vec![g.activation; g.hidden.len()];
        acts.push(match g.output {
            GOutput::Linear => Activation::Identity,
            GOutput::Tanh => Activation::Tanh,
        });
        Ok(Generator {
            mlp: Mlp::new(&sizes, &acts)?,
            latent: g.latent,
            output: g.output,
            target: config.target,
        })
    }

    /// `n` noise vectors `[n, latent_dim]`, drawn on the backend (nothing is
    /// uploaded), as a constant on `tape`.
    pub fn noise<B: Backend>(&self, tape: &Tape<B>, n: usize, seed: u64) -> Var<B> {
        let dist = match self.latent {
            Latent::Gaussian => Dist::Normal { mean: 0.0, std: 1.0 },
            Latent::Uniform { lo, hi } => Dist::Uniform { lo, hi },
        };
        tape.random(Shape::new(n, self.mlp.input_size()), dist, seed)
    }

    /// `G(z)`: `[n, latent_dim] → [n, 1]` samples.
    pub fn forward<B: Backend>(&self, params: &[Var<B>], z: &Var<B>) -> Result<Var<B>> {
        let h = self.mlp.forward(params, z, None)?; // [n, 1]
        Ok(match self.output {
            GOutput::Linear => h,
            // tanh ∈ (-1, 1) stretched to mean ± 4 std.
            GOutput::Tanh => h.mul_scalar(4.0 * self.target.std).add_scalar(self.target.mean),
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
    /// `input → hidden… → 1`.
    pub mlp: Mlp,
    /// What D is shown.
    pub input: DInput,
    /// Dropout probability on the hidden layers while training.
    pub dropout: f64,
}

impl Discriminator {
    /// D as `config` describes it.
    pub fn new(config: &Config) -> Result<Discriminator> {
        let d = &config.discriminator;
        let inputs = match d.input {
            DInput::Samples => 1,
            DInput::Moments => 4,
        };
        let mut sizes = vec![inputs];
        sizes.extend(&d.hidden);
        sizes.push(1);
        let mut acts = vec![d.activation; d.hidden.len()];
        acts.push(Activation::Identity); // a logit; the sigmoid is in the loss
        Ok(Discriminator { mlp: Mlp::new(&sizes, &acts)?, input: d.input, dropout: d.dropout })
    }

    /// D's logits for a batch `x` of samples `[n, 1]`: `[n, 1]`, or `[1, 1]`
    /// when D sees the batch's moments. `dropout_seed` switches dropout on
    /// (training) or off (`None`, evaluation).
    pub fn forward<B: Backend>(
        &self,
        params: &[Var<B>],
        x: &Var<B>,
        dropout_seed: Option<u64>,
    ) -> Result<Var<B>> {
        let input = match self.input {
            DInput::Samples => x.clone(),    // [n, 1]
            DInput::Moments => x.moments()?, // [n, 1] -> [1, 4]
        };
        let dropout = match dropout_seed {
            Some(seed) if self.dropout > 0.0 => Some(Dropout { keep: 1.0 - self.dropout, seed }),
            _ => None,
        };
        self.mlp.forward(params, &input, dropout)
    }
}
