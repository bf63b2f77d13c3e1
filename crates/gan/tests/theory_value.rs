//! The GAN paper's theory, checked by the engine (Goodfellow et al. 2014).
//!
//! - Theorem 1: at the optimal discriminator D*, the value function is
//!   C(G) = V(D*, G) = -log 4 + 2 · JSD(p_data ‖ p_g), whose minimum -log 4 is
//!   reached exactly when p_g = p_data.
//! - The vanishing gradient of §3: when D confidently rejects G's samples, the
//!   saturating G loss log(1 - D(G(z))) has almost no gradient, while the
//!   non-saturating -log D(G(z)) has a large one.
//!
//! The integrals are computed with the engine's own ops (`Var::log`,
//! `Var::mul`, `Var::sum`) on a fine grid; the Jensen–Shannon divergence they
//! are compared with is computed independently, in plain `f64`, from its
//! definition as a mean of two KL divergences to the mixture.

use minimax_autodiff::{Backend, Shape, Tape, Var};
use minimax_cpu::Cpu;

type B = Cpu<f64>;

/// Grid on [-15, 25] fine enough that Riemann sums of these smooth densities
/// are accurate to ~1e-9.
const LO: f64 = -15.0;
const HI: f64 = 25.0;
const N: usize = 40_001;

fn grid() -> (Vec<f64>, f64) {
    let dx = (HI - LO) / (N - 1) as f64;
    ((0..N).map(|i| LO + i as f64 * dx).collect(), dx)
}

fn normal_pdf(x: f64, mean: f64, std: f64) -> f64 {
    let z = (x - mean) / std;
    (-0.5 * z * z).exp() / (std * (2.0 * std::f64::consts::PI).sqrt())
}

fn column(tape: &Tape<B>, xs: &[f64]) -> Var<B> {
    tape.constant(B::new().upload(Shape::new(xs.len(), 1), xs).unwrap())
}

/// V(D, G) = ∫ p_data(x) log D(x) dx + ∫ p_g(x) log(1 - D(x)) dx, by a
/// Riemann sum on the grid, computed with the engine's ops.
///
/// D is given as a logit ℓ, D = σ(ℓ), so that log D = log σ(ℓ) and
/// log(1 - D) = log σ(-ℓ) stay finite in the tails where D rounds to 0 or 1
/// (there the density multiplying them is 0, and 0 · finite = 0).
fn value(p_data: &[f64], p_g: &[f64], d_logit: &[f64], dx: f64) -> f64 {
    let tape = Tape::new(B::new());
    let (p, q, logit) = (column(&tape, p_data), column(&tape, p_g), column(&tape, d_logit));
    let real_term = p.mul(&logit.log_sigmoid()).unwrap().sum(); // ∫ p_data log D
    let fake_term = q.mul(&logit.neg().log_sigmoid()).unwrap().sum(); // ∫ p_g log(1 - D)
    real_term.add(&fake_term).unwrap().mul_scalar(dx).item().unwrap()
}

/// The logit of D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Proposition 1):
/// p / (p + q) = σ(log p - log q).
fn optimal_d_logit(log_p: &[f64], log_q: &[f64]) -> Vec<f64> {
    log_p.iter().zip(log_q).map(|(lp, lq)| lp - lq).collect()
}

fn log_normal_pdf(x: f64, mean: f64, std: f64) -> f64 {
    let z = (x - mean) / std;
    -0.5 * z * z - (std * (2.0 * std::f64::consts::PI).sqrt()).ln()
}

/// JSD(P ‖ Q) = ½ KL(P ‖ M) + ½ KL(Q ‖ M), M = ½(P + Q), in nats, in plain f64.
fn jsd(p: &[f64], q: &[f64], dx: f64) -> f64 {
    let kl_to_m = |a: &[f64]| -> f64 {
        a.iter()
            .zip(p.iter().zip(q))
            .map(|(&ai, (&pi, &qi))| {
                let m = 0.5 * (pi + qi);
                if ai > 0.0 {
                    ai * (ai / m).ln()
                } else {
                    0.0 // 0 · ln 0 = 0
                }
            })
            .sum::<f64>()
            * dx
    };
    0.5 * kl_to_m(p) + 0.5 * kl_to_m(q)
}

#[test]
fn theorem_1_value_at_the_optimum_is_minus_log_4_when_p_g_equals_p_data() {
    // p_g = p_data  =>  D* = ½ everywhere and
    // V(D*, G) = ∫ p log ½ + ∫ p log ½ = -2 log 2 = -log 4.
    let (xs, dx) = grid();
    let p: Vec<f64> = xs.iter().map(|&x| normal_pdf(x, 4.0, 1.25)).collect();
    let log_p: Vec<f64> = xs.iter().map(|&x| log_normal_pdf(x, 4.0, 1.25)).collect();
    let d_star = optimal_d_logit(&log_p, &log_p);
    assert!(d_star.iter().all(|&logit| logit == 0.0)); // σ(0) = ½
    let v = value(&p, &p, &d_star, dx);
    assert!((v - (-(4f64).ln())).abs() < 1e-9, "V = {v}, -log 4 = {}", -(4f64).ln());
}

#[test]
fn theorem_1_c_of_g_is_minus_log_4_plus_twice_the_jsd() {
    // For p_g ≠ p_data:
    // C(G) = E_data[log p/(p+q)] + E_g[log q/(p+q)]
    //      = -log 4 + KL(p ‖ (p+q)/2) + KL(q ‖ (p+q)/2) = -log 4 + 2 JSD(p ‖ q).
    let (xs, dx) = grid();
    let p: Vec<f64> = xs.iter().map(|&x| normal_pdf(x, 4.0, 1.25)).collect();
    let log_p: Vec<f64> = xs.iter().map(|&x| log_normal_pdf(x, 4.0, 1.25)).collect();
    for (mean, std) in [(4.0, 2.0), (0.0, 1.0), (3.5, 1.25), (10.0, 0.5)] {
        let q: Vec<f64> = xs.iter().map(|&x| normal_pdf(x, mean, std)).collect();
        let log_q: Vec<f64> = xs.iter().map(|&x| log_normal_pdf(x, mean, std)).collect();
        let c = value(&p, &q, &optimal_d_logit(&log_p, &log_q), dx);
        let expected = -(4f64).ln() + 2.0 * jsd(&p, &q, dx);
        assert!(
            (c - expected).abs() < 1e-6,
            "N({mean}, {std}²): C(G) = {c}, -log4 + 2JSD = {expected}"
        );
        // And it is above the global minimum, since JSD > 0 when p_g ≠ p_data.
        assert!(c > -(4f64).ln() + 1e-4, "C(G) = {c} is not above -log 4");
    }
}

#[test]
fn proposition_1_the_optimal_d_maximises_v() {
    // For fixed G, D* = p/(p+q) maximises V(D, G) pointwise: any other D
    // gives a smaller value. Perturb D* in several ways and check V drops.
    let (xs, dx) = grid();
    let p: Vec<f64> = xs.iter().map(|&x| normal_pdf(x, 4.0, 1.25)).collect();
    let q: Vec<f64> = xs.iter().map(|&x| normal_pdf(x, 2.0, 2.0)).collect();
    let log_p: Vec<f64> = xs.iter().map(|&x| log_normal_pdf(x, 4.0, 1.25)).collect();
    let log_q: Vec<f64> = xs.iter().map(|&x| log_normal_pdf(x, 2.0, 2.0)).collect();
    let d_star = optimal_d_logit(&log_p, &log_q);
    let v_star = value(&p, &q, &d_star, dx);
    // Perturbations of D*'s logit ℓ*.
    let perturbations: [&dyn Fn(f64, f64) -> f64; 4] = [
        &|_, _| 0.0,                       // a D that always says ½
        &|l, _| 0.8 * l,                   // less confident
        &|l, x| l + 0.3 * (x / 3.0).sin(), // wiggled
        &|l, _| l + 0.5,                   // biased towards "real"
    ];
    for (i, perturb) in perturbations.iter().enumerate() {
        let d: Vec<f64> = d_star.iter().zip(&xs).map(|(&l, &x)| perturb(l, x)).collect();
        let v = value(&p, &q, &d, dx);
        assert!(v < v_star, "perturbation {i}: V(D) = {v} is not below V(D*) = {v_star}");
    }
}

/// Gradient of a G loss with respect to G's bias b, where G(z) = a z + b and
/// D(x) = σ(w x + c) is fixed. Returns (loss gradient wrt b, mean D(G(z))).
fn g_bias_gradient(saturating: bool, w: f64, c: f64, a: f64, b: f64) -> (f64, f64) {
    let be = B::new();
    let tape = Tape::new(be);
    let zs: Vec<f64> = (0..64).map(|i| -1.0 + 2.0 * i as f64 / 63.0).collect();
    let z = column(&tape, &zs); // [64, 1]
    let a = tape.leaf(be.fill(Shape::scalar(), a));
    let b = tape.leaf(be.fill(Shape::scalar(), b));
    let x = z.mul(&a).unwrap().add(&b).unwrap(); // G(z), [64, 1]
    let logit = x.mul_scalar(w).add_scalar(c); // D's logit, [64, 1]
    let loss = if saturating {
        // G minimises log(1 - D(G(z))) = -softplus(logit)
        logit.softplus().neg().mean()
    } else {
        // G minimises -log D(G(z)) = softplus(-logit)
        logit.neg().softplus().mean()
    };
    let grads = tape.backward(&loss).unwrap();
    let d_fake = logit.sigmoid().mean().item().unwrap();
    (grads.get(&b).unwrap().data()[0], d_fake)
}

#[test]
fn vanishing_gradient_of_the_saturating_loss_when_d_rejects_g() {
    // D(x) = σ(3x) and G's samples sit near x = -4, so D(G(z)) ≈ σ(-12) ≈ 6e-6:
    // D confidently rejects them, as early in training.
    //   saturating:      d/db mean log(1 - σ(3x)) = mean(-3 σ(3x))        ≈ -3 · 6e-6
    //   non-saturating:  d/db mean -log σ(3x)     = mean(-3 (1 - σ(3x)))  ≈ -3
    let (sat, d_fake) = g_bias_gradient(true, 3.0, 0.0, 0.1, -4.0);
    let (non_sat, _) = g_bias_gradient(false, 3.0, 0.0, 0.1, -4.0);
    assert!(d_fake < 1e-4, "D should reject G's samples, D(G(z)) = {d_fake}");
    assert!(sat.abs() < 1e-3, "saturating gradient {sat} should vanish");
    assert!((non_sat + 3.0).abs() < 1e-3, "non-saturating gradient {non_sat} should be ≈ -3");
    let ratio = non_sat.abs() / sat.abs();
    assert!(ratio > 1e4, "non-saturating / saturating = {ratio}, expected orders of magnitude");

    // Where D is undecided (D(G(z)) ≈ ½, G's samples near x = 0) both losses
    // push with comparable strength: the difference is only in saturation.
    let (sat, d_fake) = g_bias_gradient(true, 3.0, 0.0, 0.1, 0.0);
    let (non_sat, _) = g_bias_gradient(false, 3.0, 0.0, 0.1, 0.0);
    assert!((d_fake - 0.5).abs() < 0.05);
    let ratio = non_sat.abs() / sat.abs();
    assert!((0.5..2.0).contains(&ratio), "near D = ½ the ratio is {ratio}, expected ≈ 1");
}
