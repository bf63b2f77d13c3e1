//! The GAN losses, for the discriminator D and the generator G.
//!
//! D always outputs a raw number `l` (a *logit*). Where the paper's D ends in
//! a sigmoid, `D(x) = σ(l)`, that sigmoid lives inside the loss: every log of
//! a probability is rewritten with the identities
//!
//! ```text
//! ln σ(l)     = -softplus(-l)
//! ln(1 - σ(l)) = ln σ(-l) = -softplus(l)
//! ```
//!
//! where `softplus(l) = ln(1 + e^l)` is computed so it never overflows. A
//! sigmoid followed by a log would round `σ(-40)` to 0 in `f32` and return
//! `ln 0 = -∞`; this form stays finite for any logit.
//!
//! The paper's value function (Goodfellow et al. 2014, eq. 1) is
//!
//! ```text
//! V(G, D) = E_x[ln D(x)] + E_z[ln(1 - D(G(z)))]        min over G, max over D
//! ```

use minimax_autodiff::{Backend, Result, Var};
use std::fmt;
use std::str::FromStr;

/// Which game G and D play, chosen at run time (`--loss`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum GanLoss {
    /// The paper's game as written: D maximises V, G minimises
    /// `E[ln(1 - D(G(z)))]`. Saturates early in training (see [`GanLoss::g_loss`]).
    Minimax,
    /// The paper's recommended fix: G maximises `E[ln D(G(z))]` instead.
    /// The default.
    NonSaturating,
    /// LSGAN (Mao et al. 2017): squared errors on D's raw output.
    LeastSquares,
    /// WGAN (Arjovsky et al. 2017): D is a critic with no sigmoid, kept
    /// Lipschitz by clipping its weights to `±c` after each update.
    Wasserstein,
}

impl GanLoss {
    /// Every loss, in the order `--help` lists them.
    pub const ALL: [GanLoss; 4] =
        [GanLoss::Minimax, GanLoss::NonSaturating, GanLoss::LeastSquares, GanLoss::Wasserstein];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            GanLoss::Minimax => "minimax",
            GanLoss::NonSaturating => "non-saturating",
            GanLoss::LeastSquares => "least-squares",
            GanLoss::Wasserstein => "wasserstein",
        }
    }

    /// Whether D is trained against labels (real = 1, fake = 0), so that
    /// label smoothing and label noise mean something. Not for the critic.
    pub fn uses_labels(self) -> bool {
        self != GanLoss::Wasserstein
    }

    /// D's loss, to be **minimised** over D's parameters, from D's raw
    /// outputs on a real batch (`real`) and a fake batch (`fake`). The label
    /// targets `t_real` and `t_fake` are 1 and 0 unless label smoothing or
    /// label noise changed them; each is D's output shape or `[1, 1]`.
    ///
    /// - minimax, non-saturating (the same D): maximising V is minimising
    ///   `-V`, the binary cross-entropy of both batches:
    ///   `BCE(l_real, t_real) + BCE(l_fake, t_fake)`, with
    ///   `BCE(l, t) = mean(softplus(l) - t·l) = mean(-t ln σ(l) - (1-t) ln(1-σ(l)))`
    ///   (each BCE one fused op, [`Var::bce_logits`]; [`Var::bce_with_logits`]
    ///   is the same loss written out in primitives).
    /// - least-squares: `½ mean((D(x) - t_real)²) + ½ mean((D(G(z)) - t_fake)²)`
    ///   on the raw outputs.
    /// - wasserstein: the critic maximises `E[D(x)] - E[D(G(z))]`, so it
    ///   minimises `mean(D(G(z))) - mean(D(x))` (targets unused).
    pub fn d_loss<B: Backend>(
        self,
        real: &Var<B>,
        fake: &Var<B>,
        t_real: &Var<B>,
        t_fake: &Var<B>,
    ) -> Result<Var<B>> {
        match self {
            GanLoss::Minimax | GanLoss::NonSaturating => {
                real.bce_logits(t_real)?.add(&fake.bce_logits(t_fake)?)
            }
            GanLoss::LeastSquares => {
                let on_real = real.mse(t_real)?.mul_scalar(0.5);
                on_real.add(&fake.mse(t_fake)?.mul_scalar(0.5))
            }
            GanLoss::Wasserstein => fake.mean().sub(&real.mean()),
        }
    }

    /// [`GanLoss::d_loss`] when D saw the real and the fake batch as one
    /// batch: `logits` are D's outputs on the stacked batch (`[2·m, 1]`,
    /// the `m` real rows first) and `t` their targets, stacked the same
    /// way. Each half of `d_loss` is a mean over `m` rows, so the sum of the
    /// two is twice the mean over all `2·m`:
    ///
    /// - minimax, non-saturating: `2 · BCE(l, t)`, one fused op;
    /// - least-squares: `½ mean_real + ½ mean_fake = mean((l - t)²)`;
    /// - wasserstein: the two halves are taken apart and [`GanLoss::d_loss`]
    ///   applied (targets unused).
    pub fn d_loss_joint<B: Backend>(self, logits: &Var<B>, t: &Var<B>) -> Result<Var<B>> {
        match self {
            GanLoss::Minimax | GanLoss::NonSaturating => Ok(logits.bce_logits(t)?.mul_scalar(2.0)),
            GanLoss::LeastSquares => logits.mse(t),
            GanLoss::Wasserstein => {
                let m = logits.shape().rows / 2;
                let (real, fake) = (logits.slice_rows(0, m)?, logits.slice_rows(m, m)?);
                self.d_loss(&real, &fake, t, t)
            }
        }
    }

    /// G's loss, to be **minimised** over G's parameters, from D's raw
    /// outputs `l` on a fake batch (D frozen). `one` is the label "real", a
    /// constant `[1, 1]` holding 1 (made once by the trainer).
    ///
    /// - minimax: minimise `E[ln(1 - D(G(z)))] = E[ln(1 - σ(l))] = -mean(softplus(l))`.
    ///   Its gradient `d/dl = -σ(l)` vanishes when D confidently rejects the
    ///   fakes (`l ≪ 0`), which is exactly the situation early in training:
    ///   the loss *saturates*.
    /// - non-saturating: minimise `-E[ln D(G(z))] = -E[ln σ(l)] = mean(softplus(-l))`,
    ///   which is `BCE(l, 1)`: G trains D's verdict on its fakes towards
    ///   "real" (one fused op). Same fixed point, but `d/dl = σ(l) - 1 ≈ -1`
    ///   when `l ≪ 0`: strong gradients exactly when G is worst.
    /// - least-squares: `½ mean((D(G(z)) - 1)²)`.
    /// - wasserstein: `-mean(D(G(z)))`.
    pub fn g_loss<B: Backend>(self, fake: &Var<B>, one: &Var<B>) -> Result<Var<B>> {
        Ok(match self {
            GanLoss::Minimax => fake.softplus().mean().neg(),
            GanLoss::NonSaturating => fake.bce_logits(one)?,
            GanLoss::LeastSquares => fake.add_scalar(-1.0).square().mean().mul_scalar(0.5),
            GanLoss::Wasserstein => fake.mean().neg(),
        })
    }

    /// What to report as "D's output" for raw outputs `l`: the probability
    /// `σ(l)` for the two cross-entropy games (½ at equilibrium), the raw
    /// output for least squares (also ½ at equilibrium, as LSGAN's optimal D
    /// is `p_data / (p_data + p_g)` with targets 1 and 0), and the raw critic
    /// value for Wasserstein (its level is arbitrary; only differences count).
    pub fn d_output<B: Backend>(self, logits: &Var<B>) -> Var<B> {
        match self {
            GanLoss::Minimax | GanLoss::NonSaturating => logits.sigmoid(),
            GanLoss::LeastSquares | GanLoss::Wasserstein => logits.clone(),
        }
    }

    /// [`GanLoss::d_output`] on one host value.
    pub fn d_output_f64(self, logit: f64) -> f64 {
        match self {
            GanLoss::Minimax | GanLoss::NonSaturating => 1.0 / (1.0 + (-logit).exp()),
            GanLoss::LeastSquares | GanLoss::Wasserstein => logit,
        }
    }
}

impl fmt::Display for GanLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for GanLoss {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        GanLoss::ALL.into_iter().find(|l| l.name() == s).ok_or_else(|| {
            let names: Vec<_> = GanLoss::ALL.iter().map(|l| l.name()).collect();
            format!("unknown loss {s:?}: expected one of {}", names.join(", "))
        })
    }
}

minimax_nn::serde_as_string!(GanLoss);
