//! Summary statistics for judging a 1-D generator against its data.
//!
//! - [`mean_std`]: the sample mean and the *population* standard deviation
//!   `σ = sqrt(Σ (x - mean)² / n)`.
//! - [`histogram`] / [`histogram_density`]: counts in equal-width bins, and
//!   the same scaled to a density (area 1 over the samples that fall inside).
//! - [`js_divergence`]: the Jensen–Shannon divergence between the histograms
//!   of two samples, the quantity the original GAN's minimax game minimises
//!   (at the optimal discriminator the generator's loss is
//!   `2·JSD(p_data ‖ p_g) − ln 4`, Goodfellow et al. 2014, Theorem 1).
//!
//! With `P` and `Q` the two histograms normalised to probabilities and
//! `M = ½(P + Q)`:
//!
//! ```text
//! JSD(P ‖ Q) = ½ KL(P ‖ M) + ½ KL(Q ‖ M),   KL(P ‖ M) = Σ_i P_i ln(P_i / M_i)
//! ```
//!
//! with `0 · ln 0 = 0`. It is measured in nats, is symmetric, is 0 when the
//! histograms agree and `ln 2 ≈ 0.693` when they share no bin. Unlike KL it
//! never divides by zero: wherever `P_i > 0`, `M_i ≥ P_i / 2 > 0`.

/// Mean and population standard deviation; `(NaN, NaN)` for no samples.
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    // Two passes: summing squared deviations is more accurate than E[x²] − mean².
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Counts of `xs` in `bins` equal-width bins over `[lo, hi]`.
///
/// Bin `i` covers `[lo + i·w, lo + (i+1)·w)` with `w = (hi − lo) / bins`;
/// the last bin also includes `hi`. Values outside `[lo, hi]` and NaN are not
/// counted. If `hi == lo`, every value equal to `lo` lands in bin 0.
pub fn histogram(xs: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<f64> {
    let mut counts = vec![0.0; bins];
    if bins == 0 {
        return counts;
    }
    for &x in xs {
        if !(lo..=hi).contains(&x) {
            continue; // also skips NaN
        }
        let bin = if hi > lo { ((x - lo) / (hi - lo) * bins as f64) as usize } else { 0 };
        // x == hi gives bin == bins: fold it into the last bin.
        counts[bin.min(bins - 1)] += 1.0;
    }
    counts
}

/// The histogram of `xs` scaled to a probability density: bin count divided
/// by `xs.len() × bin width`. If every sample lies in `[lo, hi]` the bars
/// have area 1; samples outside the range are lost area, not renormalised,
/// so the plot shows a generator that spills out of the window honestly.
pub fn histogram_density(xs: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<f64> {
    let width = (hi - lo) / bins as f64;
    let scale = 1.0 / (xs.len() as f64 * width);
    histogram(xs, lo, hi, bins).into_iter().map(|c| c * scale).collect()
}

/// The centre of each of `bins` equal-width bins over `[lo, hi]`: the x
/// positions at which to plot [`histogram_density`].
pub fn bin_centers(lo: f64, hi: f64, bins: usize) -> Vec<f64> {
    let width = (hi - lo) / bins as f64;
    (0..bins).map(|i| lo + (i as f64 + 0.5) * width).collect()
}

/// The Jensen–Shannon divergence, in nats, between the histograms of two
/// samples over their common range `[min, max]` of both, with `bins` bins.
///
/// The result lies in `[0, ln 2]`. It is NaN if either sample is empty or
/// holds a non-finite value (a diverged generator should not look fine).
/// Like any histogram estimate it is biased upward by roughly
/// `bins / (8 n)` for two samples of size `n` from the same distribution.
pub fn js_divergence(p_samples: &[f64], q_samples: &[f64], bins: usize) -> f64 {
    let all = p_samples.iter().chain(q_samples);
    if p_samples.is_empty() || q_samples.is_empty() || all.clone().any(|x| !x.is_finite()) {
        return f64::NAN;
    }
    let lo = all.clone().copied().fold(f64::INFINITY, f64::min);
    let hi = all.copied().fold(f64::NEG_INFINITY, f64::max);
    let to_probabilities = |xs: &[f64]| -> Vec<f64> {
        let n = xs.len() as f64;
        histogram(xs, lo, hi, bins).into_iter().map(|c| c / n).collect()
    };
    let p = to_probabilities(p_samples);
    let q = to_probabilities(q_samples);

    // One term of KL(a ‖ m): a ln(a / m), with 0 ln 0 = 0.
    let kl_term = |a: f64, m: f64| if a > 0.0 { a * (a / m).ln() } else { 0.0 };
    let mut jsd = 0.0;
    for (&p_i, &q_i) in p.iter().zip(&q) {
        let m_i = 0.5 * (p_i + q_i);
        jsd += 0.5 * kl_term(p_i, m_i) + 0.5 * kl_term(q_i, m_i);
    }
    jsd
}

/// The normal density `exp(−(x − mean)² / (2 std²)) / (std √(2π))`.
pub fn normal_pdf(x: f64, mean: f64, std: f64) -> f64 {
    let z = (x - mean) / std;
    (-0.5 * z * z).exp() / (std * (2.0 * std::f64::consts::PI).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    use std::f64::consts::LN_2;

    fn normal_sample(n: usize, mean: f64, seed: u64) -> Vec<f64> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..n).map(|_| mean + Distribution::<f64>::sample(&StandardNormal, &mut rng)).collect()
    }

    #[test]
    fn mean_and_population_std() {
        let (mean, std) = mean_std(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(mean, 5.0);
        assert_eq!(std, 2.0); // Σ(x − 5)² = 32, 32 / 8 = 4
        assert!(mean_std(&[]).0.is_nan());
    }

    #[test]
    fn histogram_bins_edges_and_outliers() {
        let xs = [0.0, 0.1, 0.5, 0.99, 1.0, -0.1, 1.1, f64::NAN];
        // Bins [0, .5) [.5, 1]: 1.0 joins the last bin, -0.1, 1.1 and NaN drop.
        assert_eq!(histogram(&xs, 0.0, 1.0, 2), vec![2.0, 3.0]);
        assert_eq!(histogram(&[3.0, 3.0], 3.0, 3.0, 4), vec![2.0, 0.0, 0.0, 0.0]);
        assert!(histogram(&xs, 0.0, 1.0, 0).is_empty());
    }

    #[test]
    fn density_has_unit_area_and_matches_the_normal_pdf() {
        let xs = normal_sample(100_000, 0.0, 1);
        let (lo, hi, bins) = (-6.0, 6.0, 48);
        let density = histogram_density(&xs, lo, hi, bins);
        let width = (hi - lo) / bins as f64;
        let area: f64 = density.iter().sum::<f64>() * width;
        assert!((area - 1.0).abs() < 1e-12, "area {area}");
        let centre = bins / 2; // the bin [0, 0.25)
        let expected = normal_pdf(bin_centers(lo, hi, bins)[centre], 0.0, 1.0);
        assert!((density[centre] - expected).abs() < 0.02, "{} vs {expected}", density[centre]);
    }

    #[test]
    fn normal_pdf_values() {
        assert!((normal_pdf(0.0, 0.0, 1.0) - 0.398_942_280_401_432_7).abs() < 1e-15);
        // One std away: e^(-1/2) of the peak; the peak scales as 1/std.
        let peak = normal_pdf(3.0, 3.0, 2.0);
        assert!((peak - 0.398_942_280_401_432_7 / 2.0).abs() < 1e-15);
        assert!((normal_pdf(5.0, 3.0, 2.0) / peak - (-0.5f64).exp()).abs() < 1e-15);
    }

    #[test]
    fn jsd_of_identical_samples_is_zero() {
        let xs = normal_sample(1000, 0.0, 2);
        assert!(js_divergence(&xs, &xs, 30).abs() < 1e-15);
    }

    #[test]
    fn jsd_of_disjoint_samples_is_ln2() {
        let p: Vec<f64> = (0..100).map(|i| i as f64 / 100.0).collect(); // [0, 1)
        let q: Vec<f64> = p.iter().map(|x| x + 2.0).collect(); // [2, 3)
        assert!((js_divergence(&p, &q, 30) - LN_2).abs() < 1e-12);
    }

    #[test]
    fn jsd_two_bin_example_by_hand() {
        // Range [0, 1], 2 bins: P = [3/4, 1/4], Q = [1/4, 3/4], M = [1/2, 1/2].
        // KL(P‖M) = ¾ ln(¾ / ½) + ¼ ln(¼ / ½) = ¾ ln 1.5 − ¼ ln 2 = KL(Q‖M),
        // so JSD = ¾ ln 1.5 − ¼ ln 2 ≈ 0.130812.
        let p = [0.0, 0.0, 0.0, 1.0];
        let q = [0.0, 1.0, 1.0, 1.0];
        let by_hand = 0.75 * 1.5f64.ln() - 0.25 * LN_2;
        assert!((js_divergence(&p, &q, 2) - by_hand).abs() < 1e-15);
        assert!((by_hand - 0.130812).abs() < 1e-6);
        assert_eq!(js_divergence(&p, &q, 2), js_divergence(&q, &p, 2)); // symmetric
    }

    #[test]
    fn jsd_of_two_normal_samples_is_small_and_grows_with_shift() {
        let a = normal_sample(100_000, 0.0, 3);
        let b = normal_sample(100_000, 0.0, 4);
        let same = js_divergence(&a, &b, 50);
        assert!((0.0..2e-3).contains(&same), "same distribution: {same}");
        // Shifted by half a std, the true JSD is about 0.03 (≈ δ²/8 for small δ).
        let shifted = normal_sample(100_000, 0.5, 5);
        let apart = js_divergence(&a, &shifted, 50);
        assert!((0.02..0.04).contains(&apart), "shifted by 0.5: {apart}");
    }

    #[test]
    fn jsd_is_nan_for_empty_or_non_finite_samples() {
        assert!(js_divergence(&[], &[1.0], 10).is_nan());
        assert!(js_divergence(&[1.0, f64::NAN], &[1.0], 10).is_nan());
        assert!(js_divergence(&[1.0], &[f64::INFINITY], 10).is_nan());
    }
}
