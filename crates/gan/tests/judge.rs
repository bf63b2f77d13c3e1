//! Judging by a classifier: each score against values computed by hand.

use minimax_gan::frechet::{
    frechet_distance, frechet_distance_gaussians, sqrt_psd, symmetric_eigen, FrechetError, Gaussian,
};
use minimax_gan::judge::{
    class_histogram, class_report, classes_covered, conditional_accuracy, inception_score,
    kl_divergence, predicted_classes, JudgeError,
};

/// Deterministic numbers in [-1, 1) (splitmix64), so the tests need no RNG
/// crate and never change.
fn noise(seed: u64, n: usize) -> Vec<f64> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

/// `n` one-hot rows of `k` classes, sample `i` in class `i % k`.
fn one_hot(n: usize, k: usize) -> Vec<f64> {
    let mut p = vec![0.0; n * k];
    (0..n).for_each(|i| p[i * k + i % k] = 1.0);
    p
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

// ---------------------------------------------------------------------------
// Inception Score
// ---------------------------------------------------------------------------

#[test]
fn inception_score_of_confident_balanced_classes_is_k() {
    // Each row one-hot, every class equally often: p(y) = 1/k, and
    // KL(p(y|x) ‖ p(y)) = 1 · ln(1 / (1/k)) = ln k for every x: IS = k.
    for k in [1, 2, 4, 10] {
        let is = inception_score(&one_hot(12 * k, k), k).unwrap();
        assert!(close(is, k as f64, 1e-12), "k = {k}: IS = {is}");
    }
}

#[test]
fn inception_score_of_identical_rows_is_one() {
    // p(y|x) = p(y) for every x: every KL is 0, IS = e⁰ = 1.
    let row = [0.2, 0.3, 0.5];
    let probs: Vec<f64> = row.iter().copied().cycle().take(5 * 3).collect();
    assert!(close(inception_score(&probs, 3).unwrap(), 1.0, 1e-12));
    // So is one-hot into a single class: G collapsed to one digit.
    let mut collapsed = vec![0.0; 7 * 10];
    (0..7).for_each(|i| collapsed[i * 10 + 3] = 1.0);
    assert!(close(inception_score(&collapsed, 10).unwrap(), 1.0, 1e-12));
}

#[test]
fn inception_score_of_two_rows_by_hand() {
    // Rows [1, 0] and [½, ½]: p(y) = [¾, ¼].
    // KL([1, 0] ‖ p) = ln(1 / ¾) = ln(4/3);
    // KL([½, ½] ‖ p) = ½ ln(½ / ¾) + ½ ln(½ / ¼) = ½ ln(2/3) + ½ ln 2 = ½ ln(4/3).
    // Mean: ¾ ln(4/3), so IS = (4/3)^¾.
    let is = inception_score(&[1.0, 0.0, 0.5, 0.5], 2).unwrap();
    assert!(close(is, (4.0f64 / 3.0).powf(0.75), 1e-15), "{is}");
}

// ---------------------------------------------------------------------------
// Histogram, coverage, class KL
// ---------------------------------------------------------------------------

#[test]
fn kl_by_hand() {
    // Identical frequencies: every term q ln(q/q) = q ln 1 = 0, exactly.
    let p = [0.1, 0.2, 0.3, 0.4];
    assert_eq!(kl_divergence(&p, &p).unwrap(), 0.0);
    // ½ ln(½ / ¼) + ½ ln(½ / ¾) = ½ ln 2 + ½ ln(2/3) = ½ ln(4/3).
    let kl = kl_divergence(&[0.5, 0.5], &[0.25, 0.75]).unwrap();
    assert!(close(kl, 0.5 * (4.0f64 / 3.0).ln(), 1e-15), "{kl}");
    // A class G never makes adds nothing (0 ln 0 = 0): nine of ten
    // balanced classes evenly is 9 · (1/9) ln((1/9) / (1/10)) = ln(10/9).
    let mut q = [1.0 / 9.0; 10];
    q[4] = 0.0;
    assert!(close(kl_divergence(&q, &[0.1; 10]).unwrap(), (10.0f64 / 9.0).ln(), 1e-15));
    // A class the real data never has: infinite.
    assert_eq!(kl_divergence(&[0.5, 0.5], &[1.0, 0.0]).unwrap(), f64::INFINITY);
    assert!(matches!(kl_divergence(&[1.0], &[0.5, 0.5]), Err(JudgeError::Shape(_))));
    assert!(matches!(kl_divergence(&[f64::NAN], &[1.0]), Err(JudgeError::NotProbabilities(_))));
}

#[test]
fn predictions_histogram_and_coverage() {
    let probs = [
        0.7, 0.2, 0.1, // class 0
        0.1, 0.1, 0.8, // class 2
        0.4, 0.4, 0.2, // a tie: the lower class, 0
        0.0, 1.0, 0.0, // class 1
    ];
    let predicted = predicted_classes(&probs, 3).unwrap();
    assert_eq!(predicted, [0, 2, 0, 1]);
    assert_eq!(class_histogram(&predicted, 3).unwrap(), [2, 1, 1]);
    assert!(
        matches!(class_histogram(&[0, 3], 3), Err(JudgeError::Shape(m)) if m.contains("class 3"))
    );

    // n = 1000, k = 10: the bar is 0.2 · 1000 / 10 = 20 samples.
    let mut histogram = [110; 10];
    histogram[0] = 20; // exactly at the bar: covered
    histogram[1] = 19; // one short: not covered
    histogram[2] = 0;
    histogram[3] += 1000 - histogram.iter().sum::<usize>();
    assert_eq!(histogram.iter().sum::<usize>(), 1000);
    assert_eq!(classes_covered(&histogram), 8);
    assert_eq!(classes_covered(&[0, 0]), 0);
}

#[test]
fn class_report_puts_it_together() {
    // Four samples, three classes, real data balanced.
    let probs = [
        1.0, 0.0, 0.0, //
        0.0, 1.0, 0.0, //
        0.0, 1.0, 0.0, //
        0.0, 0.0, 1.0,
    ];
    let real = [1.0 / 3.0; 3];
    let r = class_report(&probs, 3, &real).unwrap();
    assert_eq!(r.samples, 4);
    assert_eq!(r.histogram, [1, 2, 1]);
    assert_eq!((r.classes_covered, r.classes), (3, 3));
    // KL([¼, ½, ¼] ‖ ⅓) = ½ ln(¾) + ½ ln(3/2) = ½ ln(9/8).
    assert!(close(r.class_kl, 0.5 * (9.0f64 / 8.0).ln(), 1e-15), "{}", r.class_kl);
    // p(y) = [¼, ½, ¼]; KL of the rows: ln 4, ln 2, ln 2, ln 4; mean ln(2√2).
    assert!(close(r.inception_score, 8f64.sqrt(), 1e-12), "{}", r.inception_score);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["classes_covered"], 3);
    assert!(matches!(class_report(&probs, 3, &[0.5, 0.5]), Err(JudgeError::Shape(_))));
}

#[test]
fn rows_that_are_not_probabilities_are_refused() {
    let check = |probs: &[f64], k: usize, says: &str| {
        let err = inception_score(probs, k).unwrap_err();
        assert!(err.to_string().contains(says), "{err}");
        assert_eq!(predicted_classes(probs, k).unwrap_err(), err);
    };
    check(&[0.5, 0.5, 1.0], 2, "3 probabilities are not [n, 2]");
    check(&[], 2, "0 probabilities");
    check(&[0.5, 0.5], 0, "k ≥ 1");
    check(&[0.5, 0.5, 2.0, -1.0], 2, "row 1: p[1] = -1 is not a probability");
    check(&[f64::NAN, 1.0], 2, "row 0: p[0] = NaN");
    check(&[3.2, -0.5, 1.0, 0.0], 2, "p[1] = -0.5");
    check(&[1.5, 0.5], 2, "row 0 sums to 2, not 1: logits rather than softmax?");
}

// ---------------------------------------------------------------------------
// Conditional accuracy
// ---------------------------------------------------------------------------

#[test]
fn conditional_accuracy_by_hand() {
    // Class 0: asked twice, right once (½); class 1: asked three times,
    // right twice (⅔); class 2: once, right (1); class 3: never asked.
    // Overall 4 right of 6.
    let requested = [0, 0, 1, 1, 1, 2];
    let predicted = [0, 1, 1, 1, 0, 2];
    let a = conditional_accuracy(&requested, &predicted, 4).unwrap();
    assert_eq!(a.per_class, [Some(0.5), Some(2.0 / 3.0), Some(1.0), None]);
    assert_eq!(a.requested, [2, 3, 1, 0]);
    assert_eq!(a.overall, 4.0 / 6.0);
    assert!(matches!(conditional_accuracy(&[0], &[0, 1], 2), Err(JudgeError::Shape(_))));
    assert!(matches!(conditional_accuracy(&[], &[], 2), Err(JudgeError::Shape(_))));
    assert!(matches!(conditional_accuracy(&[0], &[2], 2), Err(JudgeError::Shape(_))));
}

// ---------------------------------------------------------------------------
// Fréchet distance
// ---------------------------------------------------------------------------

#[test]
fn frechet_distance_of_a_set_with_itself_is_zero() {
    // Correlated features (a random mix of independent ones), full rank.
    let (n, d) = (300, 24);
    let raw = noise(1, n * d);
    let mix = noise(2, d * d);
    let features: Vec<f64> = raw
        .chunks_exact(d)
        .flat_map(|x| {
            (0..d)
                .map(|j| (0..d).map(|i| x[i] * mix[i * d + j]).sum::<f64>() + j as f64)
                .collect::<Vec<_>>()
        })
        .collect();
    let fd = frechet_distance(&features, &features, d).unwrap();
    assert!(fd.abs() <= 1e-9, "{fd}");
    // With dead features (always 0, as a ReLU unit can be) the covariance
    // is singular; still zero.
    let mut dead = features.clone();
    dead.iter_mut().enumerate().filter(|(i, _)| i % d < 5).for_each(|(_, x)| *x = 0.0);
    let fd = frechet_distance(&dead, &dead, d).unwrap();
    assert!(fd.abs() <= 1e-9, "{fd}");
}

#[test]
fn frechet_distance_of_two_1d_sets_is_mean_and_std_gaps_squared() {
    // 1-D: d² = (μ₁ − μ₂)² + σ₁² + σ₂² − 2σ₁σ₂ = (μ₁ − μ₂)² + (σ₁ − σ₂)².
    // a = [1, 2, 3, 4]: μ = 2.5, σ² = (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3.
    // b = [10, 14]: μ = 12, σ² = (4 + 4) / 1 = 8.
    let fd = frechet_distance(&[1.0, 2.0, 3.0, 4.0], &[10.0, 14.0], 1).unwrap();
    let expected = 9.5f64.powi(2) + ((5.0f64 / 3.0).sqrt() - 8f64.sqrt()).powi(2);
    assert!(close(fd, expected, 1e-12), "{fd} vs {expected}");
}

/// A Gaussian with the given mean and covariance, as if fitted.
fn gaussian(mean: Vec<f64>, cov: Vec<f64>) -> Gaussian {
    Gaussian { dim: mean.len(), samples: 0, mean, cov }
}

/// `R Σ Rᵀ` for `[d, d]` matrices.
fn rotate(r: &[f64], s: &[f64], d: usize) -> Vec<f64> {
    let mut out = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            out[i * d + j] = (0..d)
                .flat_map(|k| (0..d).map(move |l| (k, l)))
                .map(|(k, l)| r[i * d + k] * s[k * d + l] * r[j * d + l])
                .sum();
        }
    }
    out
}

#[test]
fn frechet_distance_of_diagonal_covariances_matches_the_closed_form() {
    // Diagonal Σ's commute: d² = Σᵢ (μ₁ᵢ − μ₂ᵢ)² + Σᵢ (σ₁ᵢ − σ₂ᵢ)².
    // μ: (1−0)² + (2−2)² + (3−5)² = 5; σ: (2−1)² + (1−1)² + (3−4)² = 2.
    let diag = |v: [f64; 3]| {
        let mut m = vec![0.0; 9];
        (0..3).for_each(|i| m[i * 3 + i] = v[i]);
        m
    };
    let g1 = gaussian(vec![1.0, 2.0, 3.0], diag([4.0, 1.0, 9.0]));
    let g2 = gaussian(vec![0.0, 2.0, 5.0], diag([1.0, 1.0, 16.0]));
    let fd = frechet_distance_gaussians(&g1, &g2).unwrap();
    assert!(close(fd, 7.0, 1e-12), "{fd}");
    // The distance is unchanged by rotating both Gaussians (the mean gap
    // keeps its length, Σ ↦ RΣRᵀ): now the matrices are full.
    let (c, s) = (0.6f64, 0.8f64); // a rotation about z, then about x
    let rz = [c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0];
    let rx = [1.0, 0.0, 0.0, 0.0, s, -c, 0.0, c, s];
    let r: Vec<f64> =
        (0..9).map(|ij| (0..3).map(|k| rx[ij / 3 * 3 + k] * rz[k * 3 + ij % 3]).sum()).collect();
    let turn = |g: &Gaussian| {
        let mean = (0..3).map(|i| (0..3).map(|k| r[i * 3 + k] * g.mean[k]).sum()).collect();
        gaussian(mean, rotate(&r, &g.cov, 3))
    };
    let fd = frechet_distance_gaussians(&turn(&g1), &turn(&g2)).unwrap();
    assert!(close(fd, 7.0, 1e-12), "{fd}");
}

#[test]
fn frechet_distance_of_non_commuting_2x2_covariances_by_hand() {
    // For 2×2 positive semi-definite M with eigenvalues λ₁, λ₂:
    // (√λ₁ + √λ₂)² = tr M + 2√(det M). With M = Σ₁^½ Σ₂ Σ₁^½,
    // tr M = tr(Σ₁Σ₂) and det M = det Σ₁ · det Σ₂.
    // Σ₁ = [[2, 1], [1, 2]], Σ₂ = [[1, 0], [0, 3]] (they do not commute):
    // tr(Σ₁Σ₂) = 2·1 + 2·3 = 8, det Σ₁ = 3, det Σ₂ = 3, so Tr M^½ = √(8 + 6).
    // Equal means: d² = tr Σ₁ + tr Σ₂ − 2√14 = 8 − 2√14.
    let g1 = gaussian(vec![0.0, 0.0], vec![2.0, 1.0, 1.0, 2.0]);
    let g2 = gaussian(vec![0.0, 0.0], vec![1.0, 0.0, 0.0, 3.0]);
    let fd = frechet_distance_gaussians(&g1, &g2).unwrap();
    assert!(close(fd, 8.0 - 2.0 * 14f64.sqrt(), 1e-13), "{fd}");
    // Symmetric in its arguments.
    assert!(close(frechet_distance_gaussians(&g2, &g1).unwrap(), fd, 1e-13));
}

#[test]
fn jacobi_diagonalises_symmetric_matrices() {
    // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
    let (mut values, _) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2).unwrap();
    values.sort_by(f64::total_cmp);
    assert!(close(values[0], 1.0, 1e-15) && close(values[1], 3.0, 1e-15), "{values:?}");
    // A random symmetric 200×200: A = V diag(λ) Vᵀ and VᵀV = I.
    let n = 200;
    let r = noise(3, n * n);
    let a: Vec<f64> = (0..n * n).map(|ij| r[ij] + r[(ij % n) * n + ij / n]).collect();
    let (values, v) = symmetric_eigen(&a, n).unwrap();
    let mut worst: f64 = 0.0;
    for i in 0..n {
        for j in 0..n {
            let rebuilt: f64 = (0..n).map(|k| v[i * n + k] * values[k] * v[j * n + k]).sum();
            let gram: f64 = (0..n).map(|k| v[k * n + i] * v[k * n + j]).sum();
            worst = worst.max((rebuilt - a[i * n + j]).abs());
            worst = worst.max((gram - if i == j { 1.0 } else { 0.0 }).abs());
        }
    }
    assert!(worst < 1e-11, "{worst}");
    // The square root of a covariance squares back to it.
    let g = Gaussian::fit(&noise(4, 50 * 6), 6).unwrap();
    let root = sqrt_psd(&g.cov, 6).unwrap();
    for i in 0..6 {
        for j in 0..6 {
            let sq: f64 = (0..6).map(|k| root[i * 6 + k] * root[k * 6 + j]).sum();
            assert!(close(sq, g.cov[i * 6 + j], 1e-14), "({i}, {j})");
        }
    }
}

#[test]
fn gaussian_fit_by_hand_and_bad_features() {
    // Rows (0, 0), (2, 0), (1, 3): μ = (1, 1);
    // centred (−1, −1), (1, −1), (0, 2): Σ = [[2, 0], [0, 6]] / 2.
    let g = Gaussian::fit(&[0.0, 0.0, 2.0, 0.0, 1.0, 3.0], 2).unwrap();
    assert_eq!(g.mean, [1.0, 1.0]);
    assert_eq!(g.cov, [1.0, 0.0, 0.0, 3.0]);
    assert_eq!(g.samples, 3);
    let shape = |r: Result<Gaussian, FrechetError>| matches!(r, Err(FrechetError::Shape(_)));
    assert!(shape(Gaussian::fit(&[1.0, 2.0], 2)), "one sample");
    assert!(shape(Gaussian::fit(&[1.0, 2.0, 3.0], 2)), "not [n, 2]");
    assert!(shape(Gaussian::fit(&[1.0, 2.0], 0)), "dim 0");
    let err = Gaussian::fit(&[1.0, 2.0, 3.0, f64::INFINITY], 2).unwrap_err();
    assert_eq!(err, FrechetError::NotFinite { sample: 1, feature: 1 });
    let err = frechet_distance(&[1.0, 2.0, 3.0, 4.0], &[1.0, 2.0, 3.0, 4.0], 1);
    assert!(err.is_ok());
    let g3 = gaussian(vec![0.0; 3], vec![0.0; 9]);
    let err = frechet_distance_gaussians(&g, &g3).unwrap_err();
    assert!(err.to_string().contains("dimension 2 and 3"), "{err}");
}
