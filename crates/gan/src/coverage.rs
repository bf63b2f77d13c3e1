//! Mode coverage: how many of the data's modes a generator produces, and
//! how many of its samples look real, measured as the literature does.
//!
//! The rule of VEEGAN (Srivastava et al. 2017, §5.1) and PacGAN (Lin et al.
//! 2018, §4), for a mixture of narrow Gaussians of standard deviation σ:
//!
//! 1. draw [`SAMPLES`] = 2500 samples from G;
//! 2. a sample is **high quality** when it lies within [`HQ_RADIUS`] = 3σ of
//!    some mode's centre (it is credited to the nearest centre);
//! 3. a mode is **covered** when at least [`MIN_PER_MODE`] = 20 high-quality
//!    samples land on it (PacGAN's threshold; with all 8 ring modes equally
//!    likely a perfect G puts about 312 there, so 20 is not a demanding bar:
//!    it separates modes G makes from modes it has lost).
//!
//! Reported: modes covered out of the total, the high-quality fraction and
//! the per-mode counts. For the moons and the spiral, which have no discrete
//! modes, only the high-quality fraction is meaningful: the share of samples
//! within 3σ of the curve.

use crate::data::Target;

/// Samples drawn from G to measure coverage (VEEGAN, PacGAN: 2500).
pub const SAMPLES: usize = 2500;
/// A sample within this many standard deviations of a mode's centre (or of
/// the curve) is high quality.
pub const HQ_RADIUS: f64 = 3.0;
/// High-quality samples a mode needs to count as covered (PacGAN: 20).
pub const MIN_PER_MODE: usize = 20;

/// The coverage of one set of generated samples.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Coverage {
    /// Samples measured.
    pub samples: usize,
    /// Samples within [`HQ_RADIUS`]·σ of a mode's centre (or of the curve).
    pub high_quality: usize,
    /// `high_quality / samples`.
    pub high_quality_fraction: f64,
    /// High-quality samples credited to each mode, in
    /// [`Target::mode_centres`] order (empty for the moons and the spiral).
    pub per_mode: Vec<usize>,
    /// Samples whose nearest mode is each mode, however far from it: where
    /// G's mass is, even when it is not yet on a mode (this is what shows a
    /// generator hopping from mode to mode). Empty without discrete modes.
    pub nearest_per_mode: Vec<usize>,
    /// Modes with at least [`MIN_PER_MODE`] high-quality samples.
    pub modes_covered: usize,
    /// Modes in the data (0 for the moons and the spiral).
    pub modes_total: usize,
}

/// The index of the point of `points` nearest to `p`, and its distance;
/// `None` if `points` is empty.
pub fn nearest(points: &[[f64; 2]], p: [f64; 2]) -> Option<(usize, f64)> {
    let squared = |c: &[f64; 2]| (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2);
    points
        .iter()
        .enumerate()
        .map(|(i, c)| (i, squared(c)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, d2)| (i, d2.sqrt()))
}

/// Measures `samples` (2-D, row-major `[n, 2]`) against `target`'s modes (or
/// curve). A non-finite sample counts in `samples` only: it is never high
/// quality and is near no mode.
///
/// Panics if `target` is the 1-D Gaussian (it has no 2-D skeleton) or if
/// `samples` has an odd length: both are programming errors.
pub fn coverage(target: &Target, samples: &[f64]) -> Coverage {
    assert_eq!(target.dim(), 2, "coverage is measured on 2-D data, not {}", target.name());
    assert!(
        samples.len().is_multiple_of(2),
        "2-D samples come in pairs, got {} numbers",
        samples.len()
    );
    let modes = target.mode_centres();
    let skeleton = if modes.is_empty() { target.skeleton() } else { modes.clone() };
    let radius = HQ_RADIUS * target.std;
    let mut per_mode = vec![0; modes.len()];
    let mut nearest_per_mode = vec![0; modes.len()];
    let mut high_quality = 0;
    for p in samples.chunks_exact(2) {
        if !(p[0].is_finite() && p[1].is_finite()) {
            continue; // a diverged sample is nowhere, and never high quality
        }
        if let Some((k, distance)) = nearest(&skeleton, [p[0], p[1]]) {
            if let Some(count) = nearest_per_mode.get_mut(k) {
                *count += 1;
            }
            if distance <= radius {
                high_quality += 1;
                if let Some(count) = per_mode.get_mut(k) {
                    *count += 1;
                }
            }
        }
    }
    let n = samples.len() / 2;
    Coverage {
        samples: n,
        high_quality,
        high_quality_fraction: if n > 0 { high_quality as f64 / n as f64 } else { 0.0 },
        modes_covered: per_mode.iter().filter(|&&c| c >= MIN_PER_MODE).count(),
        modes_total: modes.len(),
        per_mode,
        nearest_per_mode,
    }
}

impl Coverage {
    /// Whether each mode is covered (at least [`MIN_PER_MODE`] high-quality
    /// samples), in mode order.
    pub fn covered(&self) -> Vec<bool> {
        self.per_mode.iter().map(|&c| c >= MIN_PER_MODE).collect()
    }

    /// One row of a hopping table: a mark per mode, `#` covered, `.` a few
    /// samples (fewer than [`MIN_PER_MODE`]), ` ` none.
    pub fn marks(&self) -> String {
        self.per_mode
            .iter()
            .map(|&c| match c {
                0 => ' ',
                c if c < MIN_PER_MODE => '.',
                _ => '#',
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_picks_the_closest_point() {
        let points = [[0.0, 0.0], [3.0, 4.0]];
        assert_eq!(nearest(&points, [2.9, 4.0]), Some((1, 0.10000000000000009)));
        assert_eq!(nearest(&points, [0.0, -2.0]), Some((0, 2.0)));
        assert_eq!(nearest(&[], [0.0, 0.0]), None);
    }

    #[test]
    fn nan_samples_are_not_high_quality() {
        let c = coverage(&Target::ring(), &[f64::NAN, 0.0, 2.0, 0.0]);
        assert_eq!((c.samples, c.high_quality, c.per_mode[0]), (2, 1, 1));
        assert_eq!(c.nearest_per_mode.iter().sum::<usize>(), 1);
    }
}
