//! Row-wise kernels: gathering rows by index and scattering them back,
//! picking one column per row by label and scattering it back, the
//! log-sum-exp of each row, and the maximum of each row and its adjoint.
//! Plain loops: the GPU kernels (`shaders/gather.wgsl`, `shaders/pick.wgsl`,
//! `shaders/logsumexp.wgsl`, `shaders/max_rows.wgsl`) are tested against them, and the tuned CPU backend runs them as they are.
//!
//! The shapes and indices are checked by the caller (each backend's methods,
//! through the shared checks in `backend.rs`): every index here is in range.

use crate::backend::{index_max, IndexInfo};
use crate::Real;
use std::sync::Arc;

/// A list of indices in host memory, the `Indices` of the CPU backends, with
/// its largest index recorded when it was made (see [`IndexInfo`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostIndices {
    data: Arc<Vec<u32>>,
    max: Option<(usize, u32)>,
}

impl HostIndices {
    /// A list of indices.
    pub fn new(indices: &[u32]) -> Self {
        HostIndices { data: Arc::new(indices.to_vec()), max: index_max(indices) }
    }

    /// The indices.
    pub fn data(&self) -> &[u32] {
        &self.data
    }
}

impl IndexInfo for HostIndices {
    fn len(&self) -> usize {
        self.data.len()
    }

    fn max(&self) -> Option<(usize, u32)> {
        self.max
    }
}

/// `out[i, :] = x[idx[i], :]`; `out` is `[idx.len(), cols]`.
pub fn gather_rows<T: Real>(x: &[T], cols: usize, idx: &[u32], out: &mut [T]) {
    for (row, &i) in out.chunks_exact_mut(cols.max(1)).zip(idx) {
        let i = i as usize;
        row.copy_from_slice(&x[i * cols..(i + 1) * cols]);
    }
}

/// `out = 0`, then `out[idx[i], :] += dy[i, :]` for `i = 0, 1, …` in order.
///
/// So row `r` of `out` is `((0 + dy[i₁]) + dy[i₂]) + …` over the positions
/// `i₁ < i₂ < …` where `idx` is `r`: the order the GPU kernel adds them in
/// too (`shaders/gather.wgsl`), hence the same bits.
pub fn scatter_add_rows<T: Real>(dy: &[T], cols: usize, idx: &[u32], out: &mut [T]) {
    out.fill(T::zero());
    for (row, &i) in dy.chunks_exact(cols.max(1)).zip(idx) {
        let i = i as usize;
        out[i * cols..(i + 1) * cols].iter_mut().zip(row).for_each(|(o, &g)| *o += g);
    }
}

/// `out[i] = x[i, labels[i]]` for `x` of `cols` columns.
pub fn pick_cols<T: Real>(x: &[T], cols: usize, labels: &[u32], out: &mut [T]) {
    for (i, (o, &label)) in out.iter_mut().zip(labels).enumerate() {
        *o = x[i * cols + label as usize];
    }
}

/// `out[i, j] = dy[i]` where `j = labels[i]`, else 0; `out` has `cols` columns.
pub fn scatter_cols<T: Real>(dy: &[T], cols: usize, labels: &[u32], out: &mut [T]) {
    out.fill(T::zero());
    for (i, (&g, &label)) in dy.iter().zip(labels).enumerate() {
        out[i * cols + label as usize] = g;
    }
}

/// The log-sum-exp of one row, `ln Σ_j e^(x_j)`, computed as
/// `m + ln Σ_j e^(x_j - m)` with `m = max_j x_j`: every exponent is at most
/// 0, so nothing overflows, and the sum is at least 1 (the term of the
/// maximum), so its log is finite. An infinite maximum is the answer itself
/// (`+∞`; or `-∞` for a row of `-∞`s or of no elements, `ln 0`), where
/// `x_j - m` would be `∞ - ∞`.
pub fn logsumexp<T: Real>(row: &[T]) -> T {
    // The maximum, with a NaN winning (`f32::max` would skip it, and a row
    // of NaN and +∞ would come out +∞).
    let m =
        row.iter().fold(
            T::from_f64(f64::NEG_INFINITY),
            |m, &v| {
                if v.is_nan() || v > m {
                    v
                } else {
                    m
                }
            },
        );
    if !m.is_finite() {
        return m; // NaN, +∞, or -∞ for a row of -∞s or of nothing
    }
    let mut s = T::zero();
    for &v in row {
        s += (v - m).exp();
    }
    m + s.ln()
}

/// `out[i] = logsumexp(x[i, :])` for `x` of `cols` columns (`-∞`, `ln 0`,
/// for rows of no columns).
pub fn logsumexp_rows<T: Real>(x: &[T], cols: usize, out: &mut [T]) {
    if cols == 0 {
        out.fill(T::from_f64(f64::NEG_INFINITY));
        return;
    }
    for (o, row) in out.iter_mut().zip(x.chunks_exact(cols)) {
        *o = logsumexp(row);
    }
}

/// The argmax of one row: the first position of its largest value, where
/// a NaN is larger than every number (so the first NaN, if any) and `-0`
/// ties with `+0`; `None` for a row of no elements. Written with `>`
/// and an explicit NaN test rather than [`Real::max`], which skips NaNs.
/// `shaders/max_rows.wgsl` ranks the values the same way.
pub fn argmax<T: Real>(row: &[T]) -> Option<usize> {
    let is_nan = |v: T| v.partial_cmp(&v).is_none();
    let mut best = 0;
    for (j, &v) in row.iter().enumerate().skip(1) {
        let m = row[best];
        if v > m || (is_nan(v) && !is_nan(m)) {
            best = j;
        }
    }
    (!row.is_empty()).then_some(best)
}

/// `out[i] = x[i, argmax_i]`, the maximum of each row of `x` (`cols`
/// columns), NaN if the row holds one; `-∞` for rows of no columns.
pub fn max_rows<T: Real>(x: &[T], cols: usize, out: &mut [T]) {
    if cols == 0 {
        out.fill(T::from_f64(f64::NEG_INFINITY));
        return;
    }
    for (o, row) in out.iter_mut().zip(x.chunks_exact(cols)) {
        *o = row[argmax(row).expect("a row of at least one column")];
    }
}

/// `dx[i, j] = dy[i]` where `j = argmax_i` (of row `i` of `x`), else 0;
/// `x` and `dx` have `cols` columns.
pub fn max_rows_backward<T: Real>(x: &[T], dy: &[T], cols: usize, dx: &mut [T]) {
    dx.fill(T::zero());
    if cols == 0 {
        return;
    }
    for ((d, row), &g) in dx.chunks_exact_mut(cols).zip(x.chunks_exact(cols)).zip(dy) {
        d[argmax(row).expect("a row of at least one column")] = g;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logsumexp_is_finite_at_large_logits_and_handles_infinities() {
        // ln(e^1000 + e^1000) = 1000 + ln 2; ln(e^-1000 + e^-1000) = -1000 + ln 2.
        let ln2 = std::f64::consts::LN_2;
        assert_eq!(logsumexp(&[1000.0f64, 1000.0]), 1000.0 + ln2);
        assert_eq!(logsumexp(&[-1000.0f64, -1000.0]), -1000.0 + ln2);
        assert_eq!(logsumexp(&[1000.0f32, 1000.0]), 1000.0 + std::f32::consts::LN_2);
        assert_eq!(logsumexp(&[f64::INFINITY, 0.0]), f64::INFINITY);
        assert_eq!(logsumexp(&[f64::NEG_INFINITY, f64::NEG_INFINITY]), f64::NEG_INFINITY);
        assert_eq!(logsumexp::<f64>(&[]), f64::NEG_INFINITY);
        // A -∞ next to finite numbers is a term e^-∞ = 0.
        assert_eq!(logsumexp(&[f64::NEG_INFINITY, 0.0]), 0.0);
    }

    #[test]
    fn logsumexp_of_a_row_holding_nan_is_nan() {
        // ln Σ e^x with a NaN term is NaN, wherever the NaN sits and
        // whatever else the row holds (+∞ and -∞ included).
        let nan = f64::NAN;
        for row in [
            vec![nan],
            vec![nan, 1.0],
            vec![1.0, nan],
            vec![f64::INFINITY, nan],
            vec![nan, f64::INFINITY],
            vec![f64::NEG_INFINITY, nan],
        ] {
            assert!(logsumexp(&row).is_nan(), "{row:?}");
            let row32: Vec<f32> = row.iter().map(|&v| v as f32).collect();
            assert!(logsumexp(&row32).is_nan(), "{row32:?} in f32");
        }
    }

    #[test]
    fn index_max_reports_the_first_position_of_the_largest_index() {
        assert_eq!(index_max(&[]), None);
        assert_eq!(index_max(&[3, 9, 1, 9]), Some((1, 9)));
        assert_eq!(HostIndices::new(&[0, 0]).max(), Some((0, 0)));
    }
}
