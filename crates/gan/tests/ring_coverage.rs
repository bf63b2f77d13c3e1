//! The mode-coverage metric (VEEGAN, PacGAN) on samples made by hand, where
//! the right answer is known: everything on one mode covers 1 mode, samples
//! spread over all 8 cover 8, samples far from every mode are not high
//! quality; the 3σ radius and the 20-sample threshold sit exactly where
//! documented; and real data scores what a perfect generator would.

use minimax_gan::coverage::{coverage, HQ_RADIUS, MIN_PER_MODE, SAMPLES};
use minimax_gan::Target;

/// `n` samples at `centre` plus a small deterministic offset (well inside 3σ).
fn at(centre: [f64; 2], n: usize, sigma: f64) -> Vec<f64> {
    (0..n)
        .flat_map(|i| {
            let angle = i as f64;
            [centre[0] + sigma * angle.cos(), centre[1] + sigma * angle.sin()]
        })
        .collect()
}

#[test]
fn all_samples_on_one_mode_cover_one_mode() {
    let ring = Target::ring();
    let c = coverage(&ring, &at(ring.mode_centres()[3], SAMPLES, ring.std));
    assert_eq!((c.samples, c.modes_covered, c.modes_total), (SAMPLES, 1, 8));
    assert_eq!(c.high_quality_fraction, 1.0);
    assert_eq!(c.per_mode, vec![0, 0, 0, SAMPLES, 0, 0, 0, 0]);
    assert_eq!(c.covered(), vec![false, false, false, true, false, false, false, false]);
}

#[test]
fn samples_spread_over_all_modes_cover_all_eight() {
    let ring = Target::ring();
    let samples: Vec<f64> = ring
        .mode_centres()
        .iter()
        .flat_map(|&centre| at(centre, SAMPLES / 8, 2.0 * ring.std))
        .collect();
    let c = coverage(&ring, &samples);
    assert_eq!((c.modes_covered, c.modes_total), (8, 8));
    assert_eq!(c.high_quality_fraction, 1.0);
    assert!(c.per_mode.iter().all(|&n| n == SAMPLES / 8), "{:?}", c.per_mode);
}

#[test]
fn samples_far_from_every_mode_are_not_high_quality() {
    let ring = Target::ring();
    // At the centre of the ring: 2 from every mode. Far outside: (10, 10).
    for spot in [[0.0, 0.0], [10.0, 10.0], [1.0, 1.0]] {
        let c = coverage(&ring, &at(spot, SAMPLES, 0.01));
        assert_eq!((c.high_quality, c.modes_covered), (0, 0), "samples at {spot:?}");
        assert_eq!(c.high_quality_fraction, 0.0);
        // They still have a nearest mode: that is where G's mass is.
        assert_eq!(c.nearest_per_mode.iter().sum::<usize>(), SAMPLES);
    }
}

#[test]
fn the_radius_is_three_sigma_and_a_mode_needs_twenty_samples() {
    let ring = Target::ring();
    let [x, y] = ring.mode_centres()[0]; // (2, 0)
                                         // Radially outwards from mode 0: 2.9σ is in, 3.1σ is out.
    let inside = [x + 2.9 * ring.std, y];
    let outside = [x + 3.1 * ring.std, y];
    assert_eq!(HQ_RADIUS, 3.0);
    assert_eq!(coverage(&ring, &inside).high_quality, 1);
    assert_eq!(coverage(&ring, &outside).high_quality, 0);
    // MIN_PER_MODE - 1 high-quality samples: not covered; MIN_PER_MODE: covered.
    assert_eq!(MIN_PER_MODE, 20);
    let few = at([x, y], MIN_PER_MODE - 1, ring.std);
    assert_eq!(coverage(&ring, &few).modes_covered, 0);
    let enough = at([x, y], MIN_PER_MODE, ring.std);
    assert_eq!(coverage(&ring, &enough).modes_covered, 1);
}

#[test]
fn real_data_scores_like_a_perfect_generator() {
    // A 2-D Gaussian's radius is Rayleigh: P(r ≤ 3σ) = 1 - e^{-9/2} ≈ 98.89%.
    let perfect = 1.0 - (-4.5f64).exp();
    for target in [Target::ring(), Target::grid()] {
        let c = coverage(&target, &target.sample(SAMPLES, 1));
        assert_eq!(c.modes_covered, c.modes_total, "{}", target.name());
        // Binomial standard error on 2500 samples: √(p(1 - p)/n) ≈ 0.002.
        assert!(
            (c.high_quality_fraction - perfect).abs() < 0.008,
            "{}: {} of real samples within 3σ",
            target.name(),
            c.high_quality_fraction
        );
    }
    // The curves: the share of real samples within 3σ of the curve.
    for target in [Target::moons(), Target::spiral()] {
        let c = coverage(&target, &target.sample(SAMPLES, 2));
        assert_eq!(c.modes_total, 0);
        assert!(c.high_quality_fraction > 0.99, "{}: {}", target.name(), c.high_quality_fraction);
    }
}
