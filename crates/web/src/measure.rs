//! What the page measures on the host, from values the engine computed:
//! densities on GAN Lab's 30 × 30 grid, their KL and JS divergences, and
//! the optimal discriminator `D* = p_data / (p_data + p_g)` of the GAN
//! paper's Proposition 1, cell by cell.
//!
//! GAN Lab (`demo/ganlab_evaluators.ts`) measures exactly this way: the
//! share of each sample set in each cell, smoothed by ε = 10⁻⁴, and the
//! divergences in **bits** (log base 2), so JS lies in `[0, 1]`.

/// GAN Lab's smoothing of empty cells.
pub const SMOOTHING: f64 = 1e-4;

/// The share of `points` (`[n, 2]` row-major) in each of `cells × cells`
/// equal cells of the square `[lo, hi]²`, bottom row first. A point outside
/// the square counts in the nearest edge cell, a non-finite one nowhere.
pub fn grid_density(points: &[f64], (lo, hi): (f64, f64), cells: usize) -> Vec<f64> {
    let mut density = vec![0.0; cells * cells];
    let n = points.len() / 2;
    let cell = |v: f64| (((v - lo) / (hi - lo) * cells as f64) as usize).min(cells - 1);
    for p in points.chunks_exact(2) {
        if p[0].is_finite() && p[1].is_finite() {
            // `as usize` of a negative number is 0: the left or bottom edge.
            density[cell(p[0]) + cells * cell(p[1])] += 1.0 / n as f64;
        }
    }
    density
}

/// `KL(p ‖ q) = Σ (p + ε) log₂((p + ε) / (q + ε))`, in bits.
pub fn kl_bits(p: &[f64], q: &[f64]) -> f64 {
    let e = SMOOTHING;
    p.iter().zip(q).map(|(&p, &q)| (p + e) * ((p + e) / (q + e)).log2()).sum()
}

/// `JS(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m)` with `m = (p + q) / 2`, in bits.
pub fn js_bits(p: &[f64], q: &[f64]) -> f64 {
    let m: Vec<f64> = p.iter().zip(q).map(|(&p, &q)| 0.5 * (p + q)).collect();
    0.5 * (kl_bits(p, &m) + kl_bits(q, &m))
}

/// The optimal D of the GAN paper (Proposition 1), `p_data / (p_data + p_g)`,
/// in every cell; `None` where neither density has mass.
pub fn d_star(p_data: &[f64], p_g: &[f64]) -> Vec<Option<f64>> {
    p_data
        .iter()
        .zip(p_g)
        .map(|(&r, &g)| if r + g > 0.0 { Some(r / (r + g)) } else { None })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn densities_count_each_point_in_its_cell_bottom_row_first() {
        // The unit square in 2 × 2 cells: (0.25, 0.25) is cell 0 (bottom
        // left), (0.75, 0.25) cell 1, (0.25, 0.75) cell 2; (1.5, -3) is
        // outside and counts in the nearest edge cell, bottom right, 1.
        let d = grid_density(&[0.25, 0.25, 0.75, 0.25, 0.25, 0.75, 1.5, -3.0], (0.0, 1.0), 2);
        assert_eq!(d, vec![0.25, 0.5, 0.25, 0.0]);
        // A NaN point is counted nowhere, but still in n: a diverged G's
        // mass leaves the grid, and KL grows.
        assert_eq!(grid_density(&[f64::NAN, 0.5, 0.5, 0.5], (0.0, 1.0), 1), vec![0.5]);
    }

    #[test]
    fn divergences_in_bits_by_hand() {
        // p = (1, 0), q = (½, ½), ε = 10⁻⁴:
        // KL = (1 + ε) log₂((1 + ε)/(½ + ε)) + ε log₂(ε/(½ + ε))
        let e = SMOOTHING;
        let want = (1.0 + e) * ((1.0 + e) / (0.5 + e)).log2() + e * (e / (0.5 + e)).log2();
        assert_eq!(kl_bits(&[1.0, 0.0], &[0.5, 0.5]), want);
        // Equal densities: KL = JS = 0 exactly (every log is log₂ 1).
        assert_eq!(kl_bits(&[0.3, 0.7], &[0.3, 0.7]), 0.0);
        assert_eq!(js_bits(&[0.3, 0.7], &[0.3, 0.7]), 0.0);
        // Disjoint supports, p = (1, 0), q = (0, 1): m = (½, ½), and by
        // symmetry KL(p ‖ m) = KL(q ‖ m) = the first case's KL, so JS is it
        // too: 1 bit without smoothing, 0.99873 with it.
        let js = js_bits(&[1.0, 0.0], &[0.0, 1.0]);
        assert!((js - want).abs() < 1e-15, "{js} vs {want}");
        assert!((js - 1.0).abs() < 2e-3, "{js}");
    }

    #[test]
    fn d_star_is_the_share_of_the_data_in_each_cell() {
        // D* = p_data / (p_data + p_g): ½ where they agree, 1 where only
        // the data is, 0 where only G is, undefined where neither is.
        let got = d_star(&[0.2, 0.4, 0.0, 0.0], &[0.2, 0.0, 0.5, 0.0]);
        assert_eq!(got, vec![Some(0.5), Some(1.0), Some(0.0), None]);
    }
}
