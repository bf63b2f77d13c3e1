//! Nothing silently wrong on the GPU (issue 12): results that used to come
//! back wrong without an error, on some backend or driver, and now are
//! right or an error that says why.
//!
//! - products and sums whose loops are longer than llvmpipe runs (it stops
//!   every shader loop after 65 535 iterations in all, on Vulkan and GL);
//! - relative precision of softplus, log σ and BCE at confident logits;
//! - tensors too large for the device: a clear error, up front.
//!
//! As in `gpu_kernels.rs`, each test gets its GPU from `gpu_or_skip`.

use minimax_autodiff::{Backend, Shape, Tape, TensorShape, Unary};
use minimax_wgsl::testing::gpu_or_skip;

// ---------------------------------------------------------------------------
// Precision at confident logits
// ---------------------------------------------------------------------------

/// ln(1 + e^x) for x ≤ 0, in f64 (no cancellation there).
fn softplus_neg(x: f64) -> f64 {
    assert!(x <= 0.0);
    x.exp().ln_1p()
}

#[track_caller]
fn assert_rel(what: &str, got: f32, want: f64, rtol: f64) {
    let err = ((got as f64 - want) / want).abs();
    assert!(err <= rtol, "{what}: got {got:e}, want {want:e} (relative error {err:e})");
}

#[test]
fn softplus_and_log_sigmoid_keep_relative_precision() {
    let Some(gpu) = gpu_or_skip("softplus_and_log_sigmoid_keep_relative_precision") else {
        return;
    };
    // softplus(x) = ln(1 + e^x) ≈ e^x for x ≪ 0: a tiny number that must
    // not lose its digits to a log of a number near 1. (The shader's old
    // log1p, Goldberg's correction ln(u)·t/(u - 1), was folded to ln(u) by
    // the compiler: 6% off at -16.) Also its derivative σ(x) there.
    let xs = [-80.0, -40.0, -20.0, -17.0, -16.0, -15.0, -10.0, -5.0, -1.0, -0.1];
    let x = gpu.upload(Shape::new(1, xs.len()), &xs).unwrap();
    let y = gpu.download(&gpu.unary(Unary::Softplus, &x)).unwrap();
    let ones = gpu.fill(x.shape(), 1.0);
    let y_t = gpu.unary(Unary::Softplus, &x);
    let dy = gpu.download(&gpu.unary_backward(Unary::Softplus, &x, &y_t, &ones)).unwrap();
    for (i, &x) in xs.iter().enumerate() {
        let x = x as f64;
        // Vulkan allows exp 3 + 2|x| ulps: 1e-5 relative at x = -80.
        let rtol = 1e-6 + 2.0 * x.abs() * 6e-8;
        assert_rel(&format!("softplus({x})"), y[i], softplus_neg(x), rtol);
        assert_rel(&format!("softplus'({x})"), dy[i], 1.0 / (1.0 + (-x).exp()), rtol);
    }
    // ln σ(x) = -softplus(-x), through the tape.
    let tape = Tape::new(gpu.clone());
    let pos: Vec<f32> = xs.iter().map(|x| -x).collect();
    let v = tape.leaf(gpu.upload(Shape::new(1, pos.len()), &pos).unwrap());
    let got = v.log_sigmoid().to_vec().unwrap();
    for (i, &x) in pos.iter().enumerate() {
        let rtol = 1e-6 + 2.0 * (x as f64) * 6e-8;
        assert_rel(&format!("log_sigmoid({x})"), got[i], -softplus_neg(-x as f64), rtol);
    }
}

#[test]
fn bce_with_logits_keeps_relative_precision_for_confident_logits() {
    let Some(gpu) = gpu_or_skip("bce_with_logits_keeps_relative_precision_for_confident_logits")
    else {
        return;
    };
    // A right and confident logit x with target 1 (or -x with target 0):
    // ℓ = softplus(-x) ≈ e^-x, dℓ/dx = σ(x) - 1 = -σ(-x). The same on the
    // CPU (crates/autodiff/tests/precision.rs).
    for x in [5.0f32, 16.0, 20.0, 30.0, 40.0, 80.0] {
        for (t, logit) in [(1.0f32, x), (0.0, -x)] {
            let tape = Tape::new(gpu.clone());
            let v = tape.leaf(gpu.upload(Shape::scalar(), &[logit]).unwrap());
            let t_v = tape.constant(gpu.upload(Shape::scalar(), &[t]).unwrap());
            let loss = v.bce_with_logits(&t_v).unwrap();
            let grads = tape.backward(&loss).unwrap();
            let dx = gpu.download(grads.get(&v).unwrap()).unwrap()[0];
            let want = softplus_neg(-x as f64);
            let sign = if t == 1.0 { -1.0 } else { 1.0 };
            let rtol = 1e-6 + 2.0 * (x as f64) * 6e-8;
            assert_rel(&format!("bce({logit}, {t})"), loss.item().unwrap() as f32, want, rtol);
            assert_rel(&format!("bce'({logit}, {t})"), dx, sign / (1.0 + (x as f64).exp()), rtol);
        }
    }
}
