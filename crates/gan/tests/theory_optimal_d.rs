//! Proposition 1 of the GAN paper (Goodfellow et al. 2014), checked by
//! training: for a fixed generator, the discriminator that maximises the
//! value function is
//!
//! ```text
//! D*(x) = p_data(x) / (p_data(x) + p_g(x)).
//! ```
//!
//! The proof is pointwise. For fixed G,
//!
//! ```text
//! V(G, D) = ∫ p_data(x) log D(x) + p_g(x) log(1 - D(x)) dx,
//! ```
//!
//! and for each x the integrand `a log y + b log(1 - y)` (a = p_data(x),
//! b = p_g(x)) has derivative `a/y - b/(1 - y)`, zero at `y = a / (a + b)`,
//! where it is a maximum (the function is concave in y). So the best D
//! answers, at each x, the share of the density there that is real.
//!
//! Training D is estimating that maximiser from samples: with balanced
//! batches of real and fake samples, D's loss (binary cross-entropy with
//! labels 1 and 0, the crate's `GanLoss::d_loss`) is `-V` estimated on the
//! batch. So an MLP trained long enough, on enough samples, should land
//! close to D*. Here G is fixed and known, p_g = N(0, 1), the data is
//! N(2, 0.75²), both drawn on the device, and D is the crate's `Mlp`
//! trained with the crate's Adam. Where both densities are non-negligible
//! D(x) must come within 0.05 of D*(x), much closer than the untrained D.

use minimax_autodiff::rng::derive_seed;
use minimax_autodiff::{Backend, Dist, Shape, Tape};
use minimax_cpu::Cpu;
use minimax_gan::GanLoss;
use minimax_nn::{Activation, Init, Mlp, Optimizer, OptimizerConfig, Sequential};

type B = Cpu<f32>;

/// p_data = N(2, 0.75²) and p_g = N(0, 1).
const DATA: (f64, f64) = (2.0, 0.75);
const GEN: (f64, f64) = (0.0, 1.0);
/// Samples of each kind per step: big batches, so the gradient is close to
/// the gradient of V itself.
const BATCH: usize = 512;
const STEPS: u64 = 1000;

fn normal_pdf(x: f64, (mean, std): (f64, f64)) -> f64 {
    let z = (x - mean) / std;
    (-0.5 * z * z).exp() / (std * (2.0 * std::f64::consts::PI).sqrt())
}

/// D*(x) = p_data(x) / (p_data(x) + p_g(x)).
fn optimal_d(x: f64) -> f64 {
    let (p, q) = (normal_pdf(x, DATA), normal_pdf(x, GEN));
    p / (p + q)
}

/// Where both densities are at least 0.02 (each peaks near 0.4 or 0.53):
/// elsewhere one of them has almost no samples, and D there is an
/// extrapolation that Proposition 1 says nothing about. On this grid,
/// x ∈ [0.10, 2.40], D* runs from 0.05 to 0.95.
fn grid() -> Vec<f64> {
    (0..=160)
        .map(|i| -3.0 + 0.05 * i as f64)
        .filter(|&x| normal_pdf(x, DATA) >= 0.02 && normal_pdf(x, GEN) >= 0.02)
        .collect()
}

/// D(x) = σ(logit) on the grid.
fn d_on_grid(mlp: &Sequential, params: &minimax_nn::ParamStore<B>, xs: &[f64]) -> Vec<f64> {
    let be = B::new();
    let tape = Tape::new(be);
    let x = be.upload(Shape::new(xs.len(), 1), &xs.iter().map(|&x| x as f32).collect::<Vec<_>>());
    let logits = mlp.forward(&params.constants(&tape), &tape.constant(x.unwrap())).unwrap();
    logits.sigmoid().to_vec().unwrap().into_iter().map(f64::from).collect()
}

fn max_error(ds: &[f64], xs: &[f64]) -> (f64, f64) {
    ds.iter()
        .zip(xs)
        .map(|(&d, &x)| ((d - optimal_d(x)).abs(), x))
        .fold((0.0, f64::NAN), |worst, e| if e.0 > worst.0 { e } else { worst })
}

#[test]
fn proposition_1_a_trained_discriminator_approaches_p_data_over_p_data_plus_p_g() {
    let be = B::new();
    // D: 1 → 16 → 16 → 1, tanh hidden layers (D*'s logit, log p_data - log p_g,
    // is a smooth quadratic here), a logit out; the sigmoid is in the loss.
    let mlp =
        Mlp::new(&[1, 16, 16, 1], &[Activation::Tanh, Activation::Tanh, Activation::Identity])
            .unwrap()
            .build();
    let mut params = mlp.init_params(&be, Init::XavierUniform, 7);
    let adam = OptimizerConfig::adam(3e-3, 0.9, 0.999, 1e-8);
    let mut opt = Optimizer::new(&be, adam, &params);
    let xs = grid();
    assert!(xs.len() > 30, "the grid should cover a stretch of x, got {} points", xs.len());

    let before = max_error(&d_on_grid(&mlp, &params, &xs), &xs);
    let (ones, zeros) = (be.fill(Shape::scalar(), 1.0), be.fill(Shape::scalar(), 0.0));
    for step in 0..STEPS {
        // The last third at a tenth of the rate: Adam's steps are about `lr`
        // in size whatever the gradient, so a constant rate leaves D jittering.
        if step == 2 * STEPS / 3 {
            opt.set_lr(3e-4);
        }
        let tape = Tape::new(be);
        let vars = params.on_tape(&tape);
        let real = tape.random(
            Shape::new(BATCH, 1),
            Dist::Normal { mean: DATA.0, std: DATA.1 },
            derive_seed(&[1, 10, step]),
        );
        // G is fixed: its samples are drawn straight from p_g.
        let fake = tape.random(
            Shape::new(BATCH, 1),
            Dist::Normal { mean: GEN.0, std: GEN.1 },
            derive_seed(&[1, 11, step]),
        );
        let real_logits = mlp.forward(&vars, &real).unwrap();
        let fake_logits = mlp.forward(&vars, &fake).unwrap();
        // BCE(real, 1) + BCE(fake, 0) = -(batch estimate of V).
        let loss = GanLoss::Minimax
            .d_loss(
                &real_logits,
                &fake_logits,
                &tape.constant(ones.clone()),
                &tape.constant(zeros.clone()),
            )
            .unwrap();
        let grads = tape.backward(&loss).unwrap();
        opt.step(&be, &mut params, &vars, &grads).unwrap();
    }
    let after = max_error(&d_on_grid(&mlp, &params, &xs), &xs);
    eprintln!(
        "max |D - D*| on x ∈ [{:.2}, {:.2}]: untrained {:.3} (at x = {:.2}), \
         trained {:.4} (at x = {:.2})",
        xs[0],
        xs[xs.len() - 1],
        before.0,
        before.1,
        after.0,
        after.1
    );
    assert!(after.0 < 0.05, "trained D is {:.4} from D* at x = {:.2}", after.0, after.1);
    assert!(before.0 > 0.3, "the untrained D should be far from D*, is {:.3} away", before.0);
    assert!(after.0 < before.0 / 6.0, "training should bring D much closer to D*");
}
