//! Gradients of the row-wise ops worked out by hand, as in
//! `ops.rs`: the function and its derivative in a comment, the
//! numbers worked at a chosen point, and exact asserts wherever the
//! arithmetic is exact in binary floating point (dyadic numbers, square
//! roots of squares); `assert_relative_eq!` with a tight tolerance where a
//! logarithm or an exponential forces rounding (on an `f32` backend a few
//! ulp of `f32`, or an ulp of 1000 in `f32` where an input of 1000 carries
//! its rounding into the result).
//!
//! A non-scalar output is backpropagated from a chosen seed `G = dL/dy`
//! ([`Tape::backward_with`]), so each output element has its own weight and
//! a misplaced gradient shows.

use crate::common::{assert_eq_in_f64, download, run, tol, tol_per_type, upload, values};
use approx::assert_relative_eq;
use minimax::autodiff::{Backend, Tape, Var};
use std::f64::consts::LN_2;

fn gather_rows_with_a_repeated_and_a_missing_row<B: Backend>(be: &B) {
    // x = [[1, 2], [3, 4], [5, 6]], idx = [2, 0, 2]:
    //   y = [x₂; x₀; x₂] = [[5, 6], [1, 2], [5, 6]]
    // G = [[1, 10], [100, 1000], [0.5, 0.25]]; dx[r] = Σ_{i: idx[i] = r} G[i]:
    //   dx₀ = G₁ = [100, 1000]
    //   dx₁ = 0 (never gathered)
    //   dx₂ = G₀ + G₂ = [1.5, 10.25]
    let idx = be.upload_indices(&[2, 0, 2]).unwrap();
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let g = [1.0, 10.0, 100.0, 1000.0, 0.5, 0.25];
    let (y, d) = run(be, &[(3, 2, &x)], Some(&g), |v| v[0].gather_rows(&idx));
    assert_eq!(y, [5.0, 6.0, 1.0, 2.0, 5.0, 6.0]);
    assert_eq!(d[0], [100.0, 1000.0, 0.0, 0.0, 1.5, 10.25]);
}

fn pick_cols_and_its_one_hot_gradient<B: Backend>(be: &B) {
    // x = [[1, 2, 3], [4, 5, 6]], labels = [2, 0]: y = [x[0, 2], x[1, 0]] = [3, 4].
    // G = [10, 20]; dx[i, j] = G_i · [j = labels[i]] = [[0, 0, 10], [20, 0, 0]].
    let labels = be.upload_indices(&[2, 0]).unwrap();
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let (y, d) = run(be, &[(2, 3, &x)], Some(&[10.0, 20.0]), |v| v[0].pick_cols(&labels));
    assert_eq!(y, [3.0, 4.0]);
    assert_eq!(d[0], [0.0, 0.0, 10.0, 20.0, 0.0, 0.0]);
}

fn logsumexp_rows_and_its_softmax_gradient<B: Backend>(be: &B) {
    // y_i = ln Σ_j e^(x_ij), dx_ij = G_i · e^(x_ij - y_i) = G_i · softmax(x_i)_j.
    //   row 0 = [0, 0]:                 y = ln 2,        softmax = [½, ½]
    //   row 1 = [1000, -1000]:          y = 1000 + ln(1 + e^-2000) = 1000 (e^-2000 = 0 in f64),
    //                                   softmax = [e^0, e^-2000] = [1, 0] exactly
    //   row 2 = [-1000, -1000, …] (4):  y = -1000 + ln 4, softmax = [¼, ¼, ¼, ¼]
    // With G = [2, 3, 4]: dx₀ = [1, 1], dx₁ = [3, 0], dx₂ = [1, 1, 1, 1].
    // (Rows of different lengths: three inputs, concatenated into one column.)
    let tape = Tape::new(be.clone());
    let leaf = |r, c, d: &[f64]| tape.leaf(upload(be, r, c, d));
    let x0 = leaf(1, 2, &[0.0, 0.0]);
    let x1 = leaf(1, 2, &[1000.0, -1000.0]);
    let x2 = leaf(1, 4, &[-1000.0; 4]);
    let ys = [x0.logsumexp_rows(), x1.logsumexp_rows(), x2.logsumexp_rows()];
    let (y0, y1, y2) = (ys[0].item().unwrap(), ys[1].item().unwrap(), ys[2].item().unwrap());
    // ln 2 rounds to f32 on an f32 backend.
    assert_eq_in_f64::<B>(&[y0], &[LN_2]);
    assert_eq!(y1, 1000.0);
    assert_relative_eq!(y2, -1000.0 + 2.0 * LN_2, max_relative = tol::<B>(1e-15));
    // L = 2 y₀ + 3 y₁ + 4 y₂.
    let loss = ys[0].mul_scalar(2.0).add(&ys[1].mul_scalar(3.0)).unwrap();
    let loss = loss.add(&ys[2].mul_scalar(4.0)).unwrap();
    let grads = tape.backward(&loss).unwrap();
    let grad = |x: &Var<B>| download(be, grads.get(x).unwrap());
    // e^(0 - ln 2) rounds; e^(1000 - 1000) = 1 and e^-2000 = 0 are exact.
    assert_relative_eq!(&grad(&x0)[..], &[1.0, 1.0][..], max_relative = tol::<B>(1e-15));
    assert_eq!(grad(&x1), [3.0, 0.0]);
    // -1000 - (-1000 + ln 4) is ln 4 only to the rounding of -1000 + ln 4 (2⁻⁴³;
    // in f32, whose ulp at 1000 is 2⁻¹⁴, up to 2⁻¹⁵, and e^ carries it as is).
    let near_1000 = tol_per_type::<B>(1e-12, 2f64.powi(-14));
    assert_relative_eq!(&grad(&x2)[..], &[1.0; 4][..], max_relative = near_1000);
}

fn max_rows_with_a_tie_a_nan_and_infinities<B: Backend>(be: &B) {
    // y_i = max_j x_ij = x[i, a_i], a_i the first column holding it (a NaN
    // above every number); dx_ij = G_i · [j = a_i].
    //   row 0 = [1, 3, 2]:     a = 1, y = 3
    //   row 1 = [5, 5, -1]:    a tie; a = 0 (the first), y = 5
    //   row 2 = [0, NaN, 7]:   a = 1, y = NaN (f32::max would skip it: 7)
    //   row 3 = [-∞, -8, -∞]:  a = 1, y = -8
    // With G = [2, 3, 5, 7]:
    //   dx = [[0, 2, 0], [3, 0, 0], [0, 5, 0], [0, 7, 0]]
    // (the NaN row's gradient is G itself, at the NaN: nothing is
    // multiplied by NaN).
    let (nan, inf) = (f64::NAN, f64::INFINITY);
    let x = [1.0, 3.0, 2.0, 5.0, 5.0, -1.0, 0.0, nan, 7.0, -inf, -8.0, -inf];
    let g = [2.0, 3.0, 5.0, 7.0];
    let (y, d) = run(be, &[(4, 3, &x)], Some(&g), |v| Ok(v[0].max_rows()));
    assert_eq!([y[0], y[1], y[3]], [3.0, 5.0, -8.0]);
    assert!(y[2].is_nan(), "a NaN row gives NaN, got {}", y[2]);
    assert_eq!(d[0], [0.0, 2.0, 0.0, 3.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 7.0, 0.0]);
    // A row of only -∞ has its maximum -∞ at column 0; rows of no columns
    // have the maximum of nothing, -∞, and an empty gradient.
    let (y, d) = run(be, &[(1, 2, &[-inf, -inf])], Some(&[4.0]), |v| Ok(v[0].max_rows()));
    assert_eq!((y, &d[0][..]), (vec![-inf], &[4.0, 0.0][..]));
    let (y, d) = run(be, &[(2, 0, &[])], Some(&[1.0, 1.0]), |v| Ok(v[0].max_rows()));
    assert_eq!((y, d[0].len()), (vec![-inf, -inf], 0));
}

fn softmax_rows_sum_to_one_and_log_softmax_is_its_log<B: Backend>(be: &B) {
    // softmax([0, ln 3]) = [1, 3] / 4 = [¼, ¾]; log_softmax = [ln ¼, ln ¾].
    let x = [0.0, 3f64.ln()];
    let (p, _) = run(be, &[(1, 2, &x)], Some(&[1.0, 1.0]), |v| v[0].softmax_rows());
    // (e^(x - lse) carries the rounding of lse and of e^: a few ulps.)
    assert_relative_eq!(&p[..], &[0.25, 0.75][..], max_relative = tol::<B>(1e-14));
    let (lp, d) = run(be, &[(1, 2, &x)], Some(&[1.0, 0.0]), |v| v[0].log_softmax_rows());
    assert_relative_eq!(&lp[..], &[0.25f64.ln(), 0.75f64.ln()][..], max_relative = tol::<B>(1e-14));
    // d log_softmax_0 / dx_j = [j = 0] - softmax_j = [1 - ¼, -¾] = [¾, -¾].
    assert_relative_eq!(&d[0][..], &[0.75, -0.75][..], max_relative = tol::<B>(1e-14));
}

/// The composite's formula, on the reference backend alone: the precision
/// it keeps in `f32` is the point, whichever backend runs its primitives.
#[test]
fn log_softmax_rows_keeps_f32_precision_at_logits_near_1e4() {
    // x = [10000, 10001, 10002]: log_softmax = x - lse with
    //   lse = 10002 + ln(1 + e^-1 + e^-2) = 10002.40760596…,
    // so log_softmax = [-2, -1, 0] - 0.40760596… In f32 the ulp at 1e4 is
    // 2⁻¹⁰ ≈ 1e-3: x - lse computed directly carries lse's rounding (up to
    // 5e-4), while x - m = [-2, -1, 0] is exact and ln Σ e^(x - m) = 0.4076…
    // is good to an ulp of 0.4 (3e-8).
    use minimax::autodiff::{Reference, Shape};
    let be = Reference::<f32>::new();
    let tape = Tape::new(be);
    let x = tape.leaf(be.upload(Shape::new(1, 3), &[10000.0, 10001.0, 10002.0]).unwrap());
    let c = (1.0 + (-1.0f64).exp() + (-2.0f64).exp()).ln();
    let want = [-2.0 - c, -1.0 - c, -c];
    let err = |got: Vec<f32>| -> f64 {
        got.iter().zip(&want).map(|(&g, w)| (g as f64 - w).abs()).fold(0.0, f64::max)
    };
    let direct = err(x.sub(&x.logsumexp_rows()).unwrap().to_vec().unwrap());
    let shifted = err(x.log_softmax_rows().unwrap().to_vec().unwrap());
    assert!(direct > 1e-5, "the direct formula lost {direct} here");
    assert!(shifted < 1e-7, "log_softmax_rows is off by {shifted}");
    // softmax = e^(log_softmax): relative error of the same size.
    let p = x.softmax_rows().unwrap().to_vec().unwrap();
    for (&p, w) in p.iter().zip(&want) {
        assert_relative_eq!(p as f64, w.exp(), max_relative = 2e-7);
    }
}

/// The same precision on every backend, forward and backward (issue 20: a
/// softmax gradient off by 1.6e-3 at logits near 1e4, where PyTorch is
/// within 1e-7): log_softmax of `[10000, 10001, 10002]` and
/// `[-10002, -10001, -10000]` is `[-2, -1, 0] - c` with
/// `c = ln(1 + e^-1 + e^-2)`, and the gradient of its first column, seeded
/// with 1, is `[1 - p₀, -p₁, -p₂]` with `p = e^(log_softmax)`. Without the
/// row-max shift, `f32` loses about 5e-4 here (the ulp of `ln Σ e^x` at 1e4).
fn log_softmax_rows_at_logits_near_1e4_keeps_precision_forward_and_backward<B: Backend>(be: &B) {
    let x = [10000.0, 10001.0, 10002.0, -10002.0, -10001.0, -10000.0];
    let seed = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
    let (y, d) = run(be, &[(2, 3, &x)], Some(&seed), |v| v[0].log_softmax_rows());
    let c = (1.0 + (-1.0f64).exp() + (-2.0f64).exp()).ln();
    let want = [-2.0 - c, -1.0 - c, -c];
    let p: Vec<f64> = want.iter().map(|w| w.exp()).collect();
    let grad = [1.0 - p[0], -p[1], -p[2]];
    for row in 0..2 {
        for j in 0..3 {
            let (got, dgot) = (y[row * 3 + j], d[0][row * 3 + j]);
            assert!((got - want[j]).abs() < 1e-6, "row {row} col {j}: {got} against {}", want[j]);
            assert!(
                (dgot - grad[j]).abs() < 1e-6,
                "row {row} col {j}: d {dgot} against {}",
                grad[j]
            );
        }
    }
}

fn cross_entropy_two_examples<B: Backend>(be: &B) {
    // z = [[0, 0, 0, 0], [1000, -1000, 1000, -1000]], labels = [1, 3], n = 2.
    //   ℓ₀ = lse(z₀) - z₀₁ = ln 4 - 0 = 2 ln 2
    //   ℓ₁ = lse(z₁) - z₁₃ = (1000 + ln 2) - (-1000) = 2000 + ln 2   (e^-2000 = 0)
    //   L = (ℓ₀ + ℓ₁) / 2 = 1000 + 1.5 ln 2
    // ∂L/∂z_ij = (softmax(z_i)_j - [j = y_i]) / n:
    //   row 0: ([¼, ¼, ¼, ¼] - [0, 1, 0, 0]) / 2 = [⅛, -⅜, ⅛, ⅛]
    //   row 1: ([½, 0, ½, 0] - [0, 0, 0, 1]) / 2 = [¼, 0, ¼, -½]
    let labels = be.upload_indices(&[1, 3]).unwrap();
    let z = [0.0, 0.0, 0.0, 0.0, 1000.0, -1000.0, 1000.0, -1000.0];
    let (loss, d) = run(be, &[(2, 4, &z)], None, |v| v[0].cross_entropy(&labels));
    assert_relative_eq!(loss[0], 1000.0 + 1.5 * LN_2, max_relative = tol::<B>(1e-15));
    let want = [0.125, -0.375, 0.125, 0.125, 0.25, 0.0, 0.25, -0.5];
    // The softmax terms e^(z - lse) carry the rounding of lse (2⁻⁴³ at 1000;
    // in f32 up to 2⁻¹⁵, the ulp at 1000 being 2⁻¹⁴).
    let near_1000 = tol_per_type::<B>(1e-13, 2f64.powi(-14));
    assert_relative_eq!(&d[0][..], &want[..], epsilon = near_1000);
    // e^(-1000 - (1000 + ln 2)) is exactly 0: those entries are exact.
    assert_eq!((d[0][5], d[0][7]), (0.0, -0.5));
}

fn cross_entropy_probs_with_one_hot_rows_is_cross_entropy<B: Backend>(be: &B) {
    // One-hot targets gathered from the identity (rows of I₃ by labels [2, 0]):
    // the probabilities form and the label form are the same loss.
    let tape = Tape::new(be.clone());
    let z = tape.leaf(upload(be, 2, 3, &[0.5, -1.0, 2.0, 3.0, 0.0, -2.0]));
    let eye = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    let eye = tape.constant(upload(be, 3, 3, &eye));
    let labels = be.upload_indices(&[2, 0]).unwrap();
    let onehot = eye.gather_rows(&labels).unwrap();
    assert_eq!(values(&onehot), [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    let a = z.cross_entropy(&labels).unwrap();
    let b = z.cross_entropy_probs(&onehot).unwrap();
    assert_relative_eq!(a.item().unwrap(), b.item().unwrap(), max_relative = tol::<B>(1e-15));
    let (ga, gb) = (tape.backward(&a).unwrap(), tape.backward(&b).unwrap());
    let (ga, gb) = (download(be, ga.get(&z).unwrap()), download(be, gb.get(&z).unwrap()));
    assert_relative_eq!(&ga[..], &gb[..], epsilon = tol::<B>(1e-15));
}

fn batch_norm_of_two_columns<B: Backend>(be: &B) {
    // x = [[0, 5], [1, 5], [2, 5], [3, 5]] (n = 4), ε = 2.75.
    // Column 0: mean 1.5, d = [-1.5, -0.5, 0.5, 1.5], var = (2.25 + 0.25 + 0.25 + 2.25)/4 = 1.25,
    //   σ = √(1.25 + 2.75) = 2, y = d/σ = [-0.75, -0.25, 0.25, 0.75];
    //   unbiased var = 5/3.
    // Column 1: constant, mean 5, d = 0, var = 0, σ = √2.75, y = 0.
    //
    // Backward, per column, for y = d/σ, d = x - mean, σ = √(var + ε):
    //   ∂L/∂d_i (through d)   = G_i / σ
    //   ∂L/∂var               = Σ_i G_i d_i · (-½) σ⁻³,   ∂var/∂d_i = 2 d_i / n
    //   dx_i = ∂L/∂d_i - mean_j ∂L/∂d_j  (the mean's path; Σ d = 0)
    //        = (1/σ) [G_i - mean(G) - d_i · mean(G·d) / σ²]
    // Column 0 with G = [1, 0, 0, 0]: mean(G) = ¼, mean(G·d) = -1.5/4 = -0.375,
    //   dx = ½ [G - ¼ + d · 0.375/4] = ½ [G - 0.25 + 0.09375 d]
    //      = ½ [0.609375, -0.296875, -0.203125, -0.109375]
    //      = [0.3046875, -0.1484375, -0.1015625, -0.0546875]   (sums to 0)
    // Column 1 with G = [1, 2, 3, 4]: d = 0, so dx = (G - mean(G)) / σ
    //   = [-1.5, -0.5, 0.5, 1.5] / √2.75.
    let x = [0.0, 5.0, 1.0, 5.0, 2.0, 5.0, 3.0, 5.0];
    let g = [1.0, 1.0, 0.0, 2.0, 0.0, 3.0, 0.0, 4.0];
    let tape = Tape::new(be.clone());
    let xv = tape.leaf(upload(be, 4, 2, &x));
    let out = xv.batch_norm(2.75).unwrap();
    assert_eq!(values(&out.normalised), [-0.75, 0.0, -0.25, 0.0, 0.25, 0.0, 0.75, 0.0]);
    assert_eq!(values(&out.mean), [1.5, 5.0]);
    assert_eq!(values(&out.var), [1.25, 0.0]);
    let unbiased = values(&out.unbiased_var());
    assert_relative_eq!(&unbiased[..], &[5.0 / 3.0, 0.0][..], max_relative = tol::<B>(1e-15));
    let grads = tape.backward_with(&out.normalised, upload(be, 4, 2, &g));
    let dx = download(be, grads.unwrap().get(&xv).unwrap());
    let col0: Vec<f64> = dx.iter().step_by(2).copied().collect();
    assert_eq!(col0, [0.3046875, -0.1484375, -0.1015625, -0.0546875]);
    let col1: Vec<f64> = dx.iter().skip(1).step_by(2).copied().collect();
    let s = 2.75f64.sqrt();
    // G/σ - mean(G/σ) cancels a few bits: 1e-14.
    let want = [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s];
    assert_relative_eq!(&col1[..], &want[..], max_relative = tol::<B>(1e-14));
}

fn batch_norm_running_statistics_follow_pytorch<B: Backend>(be: &B) {
    // The batch of the test above: mean [1.5, 5], unbiased var [5/3, 0].
    // With momentum 0.5 from running mean [0, 1] and running var [1, 1]:
    //   mean ← ½ [0, 1] + ½ [1.5, 5]  = [0.75, 3]
    //   var  ← ½ [1, 1] + ½ [5/3, 0]  = [4/3, 0.5]
    let tape = Tape::new(be.clone());
    let x = [0.0, 5.0, 1.0, 5.0, 2.0, 5.0, 3.0, 5.0];
    let out = tape.leaf(upload(be, 4, 2, &x)).batch_norm(1e-5).unwrap();
    let running_mean = upload(be, 1, 2, &[0.0, 1.0]);
    let running_var = upload(be, 1, 2, &[1.0, 1.0]);
    let (mean, var) = out.updated_running_stats(&running_mean, &running_var, 0.5).unwrap();
    assert_eq!(download(be, &mean), [0.75, 3.0]);
    assert_relative_eq!(
        &download(be, &var)[..],
        &[4.0 / 3.0, 0.5][..],
        max_relative = tol::<B>(1e-15)
    );
}

fn batch_norm_eval_with_given_statistics<B: Backend>(be: &B) {
    // y = (x - μ) / √(v + ε) with μ = [1, -1], v = [3, 0], ε = 1: σ = [2, 1].
    // x = [[3, 0], [-1, 2]]: y = [[(3-1)/2, (0+1)/1], [(-1-1)/2, (2+1)/1]] = [[1, 1], [-1, 3]].
    // With G = [[1, 2], [3, 4]]:
    //   dx = G / σ                                   = [[0.5, 2], [1.5, 4]]
    //   dμ = -Σ_rows G / σ                           = [-(1 + 3)/2, -(2 + 4)/1] = [-2, -6]
    //   dv = Σ_rows G (x - μ) · (-½)(v + ε)^(-3/2)    (v + ε = [4, 1], ^(-3/2) = [⅛, 1])
    //      = [(1·2 + 3·(-2)) · (-1/16), (2·1 + 4·3) · (-½)] = [0.25, -7]
    let x = [3.0, 0.0, -1.0, 2.0];
    let g = [1.0, 2.0, 3.0, 4.0];
    let (y, d) = run(be, &[(2, 2, &x), (1, 2, &[1.0, -1.0]), (1, 2, &[3.0, 0.0])], Some(&g), |v| {
        v[0].batch_norm_eval(&v[1], &v[2], 1.0)
    });
    assert_eq!(y, [1.0, 1.0, -1.0, 3.0]);
    assert_eq!(d[0], [0.5, 2.0, 1.5, 4.0]);
    assert_eq!(d[1], [-2.0, -6.0]);
    assert_eq!(d[2], [0.25, -7.0]);
}

on_every_backend!(
    gather_rows_with_a_repeated_and_a_missing_row,
    max_rows_with_a_tie_a_nan_and_infinities,
    pick_cols_and_its_one_hot_gradient,
    logsumexp_rows_and_its_softmax_gradient,
    softmax_rows_sum_to_one_and_log_softmax_is_its_log,
    log_softmax_rows_at_logits_near_1e4_keeps_precision_forward_and_backward,
    cross_entropy_two_examples,
    cross_entropy_probs_with_one_hot_rows_is_cross_entropy,
    batch_norm_of_two_columns,
    batch_norm_running_statistics_follow_pytorch,
    batch_norm_eval_with_given_statistics,
);
