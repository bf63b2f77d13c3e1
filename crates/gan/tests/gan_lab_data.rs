//! GAN Lab's data sets (`line`, `gaussians`, `ellipse`, `disjoint`,
//! `drawn`), as `demo/ganlab_input_providers.ts` draws them: where the
//! samples fall, and what a bad drawing is told.

use minimax_gan::data::DataKind;
use minimax_gan::Target;

/// `n` samples as points.
fn points(target: &Target, n: usize) -> Vec<[f64; 2]> {
    target.sample(n, 7).chunks(2).map(|p| [p[0], p[1]]).collect()
}

#[test]
fn gan_lab_sets_sit_in_the_unit_square_where_gan_lab_draws_them() {
    // The line: (0.8 - 0.75 t, 0.6 + 0.3 t) + 0.01 ε, so y = 0.6 + 0.4 (0.8 - x)
    // on the segment: every sample within 5 σ of it (σ 0.01, and the
    // residual y - 0.6 - 0.4 (0.8 - x) has σ √(0.01² + 0.4²·0.01²) ≈ 0.0108).
    for [x, y] in points(&Target::line(), 4000) {
        assert!((y - 0.6 - 0.4 * (0.8 - x)).abs() < 0.06, "({x}, {y}) is off GAN Lab's line");
    }
    // The ellipse: ((x - 0.5) / 0.3)² + ((y - 0.45) / 0.25)² = 1, blurred.
    for [x, y] in points(&Target::ellipse(), 4000) {
        let r = (((x - 0.5) / 0.3).powi(2) + ((y - 0.45) / 0.25).powi(2)).sqrt();
        assert!((r - 1.0).abs() < 0.6, "({x}, {y}) is off GAN Lab's ellipse (r = {r})");
    }
    // The disjoint set: three modes of σ 0.025, each about a third.
    let centres = Target::disjoint().mode_centres();
    assert_eq!(centres, vec![[0.35, 0.75], [0.75, 0.6], [0.45, 0.35]]);
    let mut counts = [0usize; 3];
    for [x, y] in points(&Target::disjoint(), 3000) {
        let (k, d) = (0..3)
            .map(|k| (k, ((x - centres[k][0]).powi(2) + (y - centres[k][1]).powi(2)).sqrt()))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        assert!(d < 6.0 * 0.025, "({x}, {y}) is {d} from the nearest mode");
        counts[k] += 1;
    }
    assert!(counts.iter().all(|&c| (900..1100).contains(&c)), "{counts:?}");
}

#[test]
fn the_second_of_gan_labs_gaussians_is_half_as_wide_and_twice_as_tall() {
    // GAN Lab: mode 0 at (0.3, 0.7) with σ 0.1 on both axes; mode 1 at
    // (0.7, 0.4) with σ 0.05 across and 0.2 along. Split by the nearer centre
    // on x alone (the modes are 0.4 apart) and compare each axis's std.
    let t = Target::gaussians();
    assert_eq!(t.noise_scale(0), [1.0, 1.0]);
    assert_eq!(t.noise_scale(1), [0.5, 2.0]);
    let right: Vec<[f64; 2]> = points(&t, 20_000).into_iter().filter(|p| p[0] > 0.6).collect();
    let std = |axis: usize| {
        let m = right.iter().map(|p| p[axis]).sum::<f64>() / right.len() as f64;
        (right.iter().map(|p| (p[axis] - m).powi(2)).sum::<f64>() / right.len() as f64).sqrt()
    };
    // Mostly mode 1 (σ_x 0.05 and σ_y 0.2); mode 0's far tail adds a little.
    assert!((0.04..0.07).contains(&std(0)), "std across {}", std(0));
    assert!((0.17..0.23).contains(&std(1)), "std along {}", std(1));
}

#[test]
fn a_drawing_is_sampled_point_by_point_and_checked() {
    let t = Target::drawn(vec![[0.2, 0.2], [0.8, 0.9]]);
    assert_eq!(t.validate(), Ok(()));
    assert_eq!(t.skeleton(), vec![[0.2, 0.2], [0.8, 0.9]]);
    for [x, y] in points(&t, 1000) {
        let near = |c: [f64; 2]| ((x - c[0]).powi(2) + (y - c[1]).powi(2)).sqrt() < 6.0 * 0.02;
        assert!(near([0.2, 0.2]) || near([0.8, 0.9]), "({x}, {y}) is near no drawn point");
    }
    assert_eq!(
        Target::drawn(vec![]).validate(),
        Err("a drawn distribution needs at least one point".into())
    );
    let err = Target::drawn(vec![[0.5, 0.5], [1.5, 0.5]]).validate().unwrap_err();
    assert!(err.contains("drawn point 1") && err.contains("[0, 1]²"), "{err}");
    assert_eq!(t.kind, DataKind::Drawn { points: vec![[0.2, 0.2], [0.8, 0.9]] });
}

#[test]
fn every_named_gan_lab_set_is_found_by_name() {
    for name in ["line", "gaussians", "ellipse", "disjoint"] {
        let t = Target::named_2d(name).unwrap();
        assert_eq!((t.name(), t.dim(), t.window()), (name, 2, (0.0, 1.0)));
        assert_eq!(t.validate(), Ok(()));
    }
    assert!(Target::named_2d("drawn").unwrap_err().contains("expected ring"));
}
