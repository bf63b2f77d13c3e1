//! Relative precision where a classifier is confident: the losses of logits
//! far from 0 are tiny numbers, and must come out as those tiny numbers,
//! not as 0 (a difference of two nearly equal larger ones).
//!
//! The references are computed in f64 from forms with no cancellation:
//! `softplus(x) = ln(1 + e^x) = ln_1p(e^x)` for x ≤ 0, `σ(-x) = 1 / (1 + e^x)`.

use minimax_autodiff::{Backend, Real, Shape, Tape};
use minimax_cpu::Cpu;

/// softplus(x) = ln(1 + e^x) for x ≤ 0 (no cancellation there).
fn softplus_neg(x: f64) -> f64 {
    assert!(x <= 0.0);
    x.exp().ln_1p()
}

/// The BCE loss of one logit `x` against target `t`, and its derivative,
/// on backend `be`.
fn bce<B: Backend>(be: B, x: f64, t: f64) -> (f64, f64) {
    let tape = Tape::new(be.clone());
    let xv = tape.leaf(be.upload(Shape::scalar(), &[B::Elem::from_f64(x)]).unwrap());
    let tv = tape.constant(be.upload(Shape::scalar(), &[B::Elem::from_f64(t)]).unwrap());
    let loss = xv.bce_with_logits(&tv).unwrap();
    let grads = tape.backward(&loss).unwrap();
    let dx = be.download(grads.get(&xv).unwrap()).unwrap()[0].to_f64();
    (loss.item().unwrap(), dx)
}

#[track_caller]
fn assert_rel(what: &str, got: f64, want: f64, rtol: f64) {
    assert!(
        (got - want).abs() <= rtol * want.abs(),
        "{what}: got {got:e}, want {want:e} (relative error {:e})",
        ((got - want) / want).abs()
    );
}

#[test]
fn bce_with_logits_keeps_relative_precision_for_confident_logits() {
    // A right and confident logit x with target 1 (or -x with target 0):
    // loss = softplus(-x) ≈ e^-x, tiny; dloss/dx = σ(x) - 1 = -σ(-x).
    // The form softplus(x) - t·x returns exactly 0 from x = 34 in f64 (and
    // is 1% off at 30: softplus(30) = 30 + 9.4e-14 rounds to an ulp of
    // 3.6e-15), from x = 15 in f32.
    for x in [5.0, 16.0, 20.0, 30.0, 35.0, 40.0, 100.0, 700.0] {
        let want_loss = softplus_neg(-x);
        let want_grad = -1.0 / (1.0 + f64::exp(x));
        for (t, xs) in [(1.0, x), (0.0, -x)] {
            let sign = if t == 1.0 { 1.0 } else { -1.0 };
            let (loss, grad) = bce(Cpu::<f64>::new(), xs, t);
            assert_rel(&format!("f64 bce({xs}, {t})"), loss, want_loss, 1e-14);
            assert_rel(&format!("f64 bce'({xs}, {t})"), grad, sign * want_grad, 1e-14);
            if want_loss > 1e-37 {
                // f32: the fast exp is within a few ulps.
                let (loss, grad) = bce(Cpu::<f32>::new(), xs, t);
                assert_rel(&format!("f32 bce({xs}, {t})"), loss, want_loss, 1e-6);
                assert_rel(&format!("f32 bce'({xs}, {t})"), grad, sign * want_grad, 1e-6);
            }
        }
    }
}

#[test]
fn bce_with_logits_with_soft_targets_matches_its_definition() {
    // ℓ = -[t ln σ(x) + (1 - t) ln(1 - σ(x))], in f64 from σ directly where
    // that is accurate (|x| ≤ 5).
    for x in [-5.0, -1.0, -0.1, 0.0, 0.3, 2.0, 5.0] {
        for t in [0.0, 0.1, 0.5, 0.75, 1.0] {
            let s = 1.0 / (1.0 + f64::exp(-x));
            let want = -(t * s.ln() + (1.0 - t) * (1.0 - s).ln());
            let (loss, grad) = bce(Cpu::<f64>::new(), x, t);
            assert!((loss - want).abs() <= 1e-13, "bce({x}, {t}) = {loss}, want {want}");
            assert!((grad - (s - t)).abs() <= 1e-13, "bce'({x}, {t}) = {grad}, want {}", s - t);
        }
    }
}

#[test]
fn log_sigmoid_keeps_relative_precision_on_both_sides() {
    let be = Cpu::<f64>::new();
    let xs = [-40.0, -16.0, 16.0, 30.0, 40.0];
    let tape = Tape::new(be);
    let x = tape.leaf(be.upload(Shape::new(1, xs.len()), &xs).unwrap());
    let y = x.log_sigmoid().to_vec().unwrap();
    for (i, &x) in xs.iter().enumerate() {
        // ln σ(x) = -softplus(-x)
        let want = if x >= 0.0 { -softplus_neg(-x) } else { x - softplus_neg(x) };
        assert_rel(&format!("log_sigmoid({x})"), y[i], want, 1e-15);
    }
}
