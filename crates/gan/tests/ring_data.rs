//! The 2-D data sets draw what they promise: the ring's and the grid's
//! modes sit where the literature puts them, each gets its share of the
//! samples, and the samples around each centre have the right σ; the moons
//! and the spiral lie within a few σ of their curves. Draws are
//! deterministic from the seed, sample by sample, and a config naming any
//! data set survives the JSON round trip a checkpoint puts it through.

use minimax_autodiff::{Backend, Dist, Shape, Tape};
use minimax_cpu::Cpu;
use minimax_gan::config::DInput;
use minimax_gan::coverage::nearest;
use minimax_gan::{Config, DataKind, Preset, Target, Trainer};
use std::f64::consts::FRAC_1_SQRT_2;

/// `n` samples as points.
fn points(target: &Target, n: usize, seed: u64) -> Vec<[f64; 2]> {
    target.sample(n, seed).chunks_exact(2).map(|p| [p[0], p[1]]).collect()
}

fn close(a: [f64; 2], b: [f64; 2]) -> bool {
    (a[0] - b[0]).abs() < 1e-12 && (a[1] - b[1]).abs() < 1e-12
}

#[test]
fn ring_and_grid_modes_sit_where_the_literature_puts_them() {
    let ring = Target::ring();
    assert_eq!(
        (ring.dim(), ring.std, ring.kind.clone()),
        (2, 0.02, DataKind::Ring { modes: 8, radius: 2.0 })
    );
    let r = 2.0 * FRAC_1_SQRT_2; // √2
    let expected =
        [[2.0, 0.0], [r, r], [0.0, 2.0], [-r, r], [-2.0, 0.0], [-r, -r], [0.0, -2.0], [r, -r]];
    let centres = ring.mode_centres();
    assert_eq!(centres.len(), 8);
    for (c, e) in centres.iter().zip(expected) {
        assert!(close(*c, e), "ring centre {c:?}, expected {e:?}");
    }

    let grid = Target::grid();
    assert_eq!((grid.dim(), grid.std), (2, 0.05));
    let centres = grid.mode_centres();
    assert_eq!(centres.len(), 25);
    // Row by row from the bottom left, spacing 2 on [-4, 4]².
    for (k, c) in centres.iter().enumerate() {
        let e = [-4.0 + 2.0 * (k % 5) as f64, -4.0 + 2.0 * (k / 5) as f64];
        assert!(close(*c, e), "grid centre {k}: {c:?}, expected {e:?}");
    }
    // The curves and the 1-D Gaussian have no discrete modes.
    for t in [Target::moons(), Target::spiral(), Target::gaussian(4.0, 1.25)] {
        assert!(t.mode_centres().is_empty(), "{}", t.name());
    }
}

/// Each mode's share of `n` samples, and the mean and std (per coordinate)
/// of the samples around it.
fn per_mode_statistics(target: &Target, n: usize) -> Vec<(f64, [f64; 2], [f64; 2])> {
    let centres = target.mode_centres();
    let mut groups = vec![Vec::new(); centres.len()];
    for p in points(target, n, 42) {
        let (k, _) = nearest(&centres, p).unwrap();
        groups[k].push(p);
    }
    groups
        .iter()
        .map(|g| {
            let m = g.len() as f64;
            let mean = [0, 1].map(|i| g.iter().map(|p| p[i]).sum::<f64>() / m);
            let std = [0, 1]
                .map(|i| (g.iter().map(|p| (p[i] - mean[i]).powi(2)).sum::<f64>() / m).sqrt());
            (m / n as f64, mean, std)
        })
        .collect()
}

#[test]
fn every_mode_gets_its_share_and_its_sigma() {
    for (target, n) in [(Target::ring(), 80_000), (Target::grid(), 100_000)] {
        let k = target.mode_centres().len() as f64;
        for ((share, mean, std), centre) in
            per_mode_statistics(&target, n).into_iter().zip(target.mode_centres())
        {
            // Share 1/K: binomial standard error √(p(1-p)/n) ≈ 0.0012 (ring), 0.0006 (grid).
            assert!(
                (share - 1.0 / k).abs() < 0.006,
                "{}: share {share} for mode {centre:?}",
                target.name()
            );
            // Each mode is N(centre, σ² I): with ≥ 4000 samples per mode, the
            // mean is within a few σ/√4000 and the std within a few percent.
            for i in 0..2 {
                assert!(
                    (mean[i] - centre[i]).abs() < 0.1 * target.std,
                    "{}: mean {mean:?} vs {centre:?}",
                    target.name()
                );
                assert!(
                    (std[i] / target.std - 1.0).abs() < 0.05,
                    "{}: std {std:?} vs σ {}",
                    target.name(),
                    target.std
                );
            }
        }
    }
}

#[test]
fn moons_and_spiral_lie_along_their_curves() {
    for target in [Target::moons(), Target::spiral()] {
        let curve = target.skeleton();
        let pts = points(&target, 20_000, 3);
        let distances: Vec<f64> = pts.iter().map(|&p| nearest(&curve, p).unwrap().1).collect();
        // Noise σ across a smooth curve: the distance is about |N(0, σ²)|, whose
        // mean is σ √(2/π) ≈ 0.8 σ and which stays within 3σ 99.7% of the time.
        let mean = distances.iter().sum::<f64>() / distances.len() as f64;
        let within = distances.iter().filter(|&&d| d <= 3.0 * target.std).count() as f64 / 2e4;
        eprintln!(
            "{}: mean distance {:.3} σ, {:.4} within 3σ",
            target.name(),
            mean / target.std,
            within
        );
        assert!(
            (mean / target.std - 0.798).abs() < 0.08,
            "{}: mean distance {mean}",
            target.name()
        );
        assert!(within > 0.99, "{}: {within} within 3σ", target.name());
    }
    // The two moons are each other's mirror image through the origin, and
    // equally likely: the sample mean is 0.
    let pts = points(&Target::moons(), 20_000, 4);
    for i in 0..2 {
        let mean = pts.iter().map(|p| p[i]).sum::<f64>() / pts.len() as f64;
        assert!(mean.abs() < 0.03, "moons mean coordinate {i}: {mean}");
    }
    // The spiral's radius runs from 3.5 · 1.5/4.5 ≈ 1.17 to 3.5.
    let radii: Vec<f64> =
        points(&Target::spiral(), 20_000, 5).iter().map(|p| p[0].hypot(p[1])).collect();
    let (lo, hi) = radii.iter().fold((f64::MAX, 0.0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    assert!(
        (1.17 - 0.5..1.17 + 0.1).contains(&lo) && (3.4..3.5 + 0.5).contains(&hi),
        "radii [{lo}, {hi}]"
    );
}

#[test]
fn draws_are_deterministic_sample_by_sample_and_match_the_backend() {
    for target in [Target::ring(), Target::grid(), Target::moons(), Target::spiral()] {
        let a = target.sample(1000, 9);
        assert_eq!(a, target.sample(1000, 9), "{}: same seed, same samples", target.name());
        // Sample i depends on (seed, i) only: a shorter draw is a prefix.
        assert_eq!(&a[..200], &target.sample(100, 9)[..], "{}", target.name());
        assert_ne!(a, target.sample(1000, 10), "{}: another seed, other samples", target.name());
        // On a tape: the same numbers, uploaded as [n, 2].
        let tape = Tape::new(Cpu::<f64>::new());
        let v = target.draw(&tape, 1000, 9).unwrap();
        assert_eq!((v.shape().rows, v.shape().cols), (1000, 2));
        assert_eq!(v.to_vec().unwrap(), a);
    }
    // The 1-D Gaussian is drawn on the device; the host draw is the same numbers.
    let be = Cpu::<f64>::new();
    let gaussian = Target::gaussian(4.0, 1.25);
    let device = be.random(Shape::new(500, 1), Dist::Normal { mean: 4.0, std: 1.25 }, 77);
    assert_eq!(be.download(&device).unwrap(), gaussian.sample(500, 77));
    let tape = Tape::new(be);
    assert_eq!(gaussian.draw(&tape, 500, 77).unwrap().to_vec().unwrap(), gaussian.sample(500, 77));
}

#[test]
fn two_d_configs_build_two_d_players_and_round_trip_through_json() {
    for target in [Target::ring(), Target::grid(), Target::moons(), Target::spiral()] {
        let mut config = Config::preset(Preset::TwoD);
        config.target = target.clone();
        let back: Config = serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
        assert_eq!(back, config, "{}", target.name());
        let t = Trainer::new(Cpu::<f32>::new(), config.clone()).unwrap();
        // G ends in 2 outputs; D, packing 2 samples, starts with 2 · 2 inputs.
        assert_eq!(t.generator().net.output_size(), Some(2));
        assert_eq!(t.discriminator().net.input_size(), Some(2 * config.discriminator.pack));
    }
}

#[test]
fn impossible_two_d_configs_are_refused_with_the_reason() {
    let base = Config::preset(Preset::TwoD);
    type Change = Box<dyn Fn(&mut Config)>;
    let cases: Vec<(Change, &str)> = vec![
        (Box::new(|c| c.discriminator.input = DInput::Moments), "moments needs 1-D data"),
        (Box::new(|c| c.batch = 255), "pack must"),
        (Box::new(|c| c.target.kind = DataKind::Ring { modes: 0, radius: 2.0 }), "ring needs"),
        (Box::new(|c| c.target.std = 0.0), "target std"),
        (Box::new(|c| c.lr_decay.as_mut().unwrap().to = 0.0), "decay"),
    ];
    for (change, words) in cases {
        let mut c = base.clone();
        change(&mut c);
        let err = c.validate().unwrap_err();
        assert!(err.contains(words), "{err:?} should mention {words:?}");
    }
    // And the 1-D-only reports say what to use instead.
    let t = Trainer::new(Cpu::<f32>::new(), base).unwrap();
    let err = t.evaluate(100).unwrap_err().to_string();
    assert!(err.contains("Trainer::coverage"), "{err}");
}
