//! Narrow products: `C[m, n] = op(A)[m, k] · op(B)[k, n]` with `n ≤ 8`.
//!
//! The small GANs are full of them: a hidden layer of 5 (`[500, 5]·[5, 5]`),
//! an output of one (`[500, 5]·[5, 1]`), their backward (`[5, 500]·[500, 5]`).
//! The blocked path wastes most of its `[6, 16]` tile on them and spends
//! more time packing than multiplying; the plain loop's inner loop is `n`
//! long, too short to vectorise, and reloads its partial sums every step.
//!
//! Here a row of `C` is at most 8 numbers, so it is kept in a register:
//! padded with zeros to a width `W` of 1, 2, 4 or 8 (the smallest that
//! holds `n`), one SIMD register of `f32` for `W = 8` with AVX2. For 8 rows
//! of `C` at a time (independent sums, so the additions do not wait on each
//! other), walk `p` over the `k` dimension: read row `p` of `op(B)` into a
//! zero-padded register and add `op(A)[i, p] · op(B)[p, ..]` to each row's
//! accumulator; then store the first `n` columns. `n` and `W` are
//! compile-time constants (one copy of the loop per width), so the loads,
//! the multiply-adds and the stores are a few instructions each, and nothing
//! is packed or copied beforehand.
//!
//! **Bit-identical to the plain loop.** Every `C[i, j]` starts at zero and
//! adds its `k` products in `p` order, exactly as [`minimax_autodiff::reference::matmul`]
//! does, so the result is the same bits (the tests check equality). The
//! padding columns compute zeros that are never stored.

use super::super::simd;
use minimax_autodiff::Real;

/// The widest output this path takes.
pub const MAX_N: usize = 8;

/// `c = op(a) · op(b)` for `1 ≤ n ≤ MAX_N`, in the layout of the plain loop:
/// `a` is `[m, k]` (`[k, m]` if `ta`), `b` is `[k, n]` (`[n, k]` if `tb`),
/// `c` is `[m, n]`, overwritten.
///
/// # Panics
/// If `n` is not in `1..=MAX_N` or a slice's length does not match its
/// shape (a caller bug: the backend checks shapes and reports errors before
/// it gets here, and [`super::matmul`] sends only such products).
pub fn matmul<T: Real>(
    a: &[T],
    ta: bool,
    b: &[T],
    tb: bool,
    c: &mut [T],
    (m, k, n): (usize, usize, usize),
) {
    assert!((1..=MAX_N).contains(&n), "narrow matmul: n = {n} is not in 1..={MAX_N}");
    assert_eq!((a.len(), b.len(), c.len()), (m * k, k * n, m * n), "narrow matmul: lengths");
    // One copy of the loops per output width `N` (with its padded width `W`)
    // and per layout of A and B, so every loop bound below is a constant.
    let ops = Operands { a, ta, b, tb, m, k };
    match n {
        1 => ops.rows::<1, 1>(c),
        2 => ops.rows::<2, 2>(c),
        3 => ops.rows::<3, 4>(c),
        4 => ops.rows::<4, 4>(c),
        5 => ops.rows::<5, 8>(c),
        6 => ops.rows::<6, 8>(c),
        7 => ops.rows::<7, 8>(c),
        _ => ops.rows::<8, 8>(c),
    }
}

/// `op(A)` (`[m, k]`) and `op(B)` (`[k, n]`), read in place.
#[derive(Clone, Copy)]
struct Operands<'a, T> {
    /// Stored `[m, k]`, or `[k, m]` when `ta`.
    a: &'a [T],
    ta: bool,
    /// Stored `[k, n]`, or `[n, k]` when `tb`.
    b: &'a [T],
    tb: bool,
    m: usize,
    k: usize,
}

impl<T: Real> Operands<'_, T> {
    /// Element `(i, p)` of `op(A)` (`TA`: the value of `self.ta`, as a
    /// constant).
    #[inline(always)]
    fn a_at<const TA: bool>(&self, i: usize, p: usize) -> T {
        if TA {
            self.a[p * self.m + i]
        } else {
            self.a[i * self.k + p]
        }
    }

    /// Row `p` of `op(B)`, `N` values zero-padded to `W` (`TB`: the value of
    /// `self.tb`, as a constant).
    #[inline(always)]
    fn b_row<const N: usize, const W: usize, const TB: bool>(&self, p: usize) -> [T; W] {
        let mut row = [T::zero(); W];
        if TB {
            for (j, v) in row[..N].iter_mut().enumerate() {
                *v = self.b[j * self.k + p]; // b is stored [n, k]
            }
        } else {
            row[..N].copy_from_slice(&self.b[p * N..(p + 1) * N]);
        }
        row
    }

    /// Every row of `C` (`N` columns), with the transpose flags made
    /// constants (a copy of the loops for each of the four layouts).
    #[inline(always)]
    fn rows<const N: usize, const W: usize>(self, c: &mut [T]) {
        match (self.ta, self.tb) {
            (false, false) => self.rows_in::<N, W, false, false>(c),
            (false, true) => self.rows_in::<N, W, false, true>(c),
            (true, false) => self.rows_in::<N, W, true, false>(c),
            (true, true) => self.rows_in::<N, W, true, true>(c),
        }
    }

    /// Every row of `C`, in blocks of 8 rows, then 4, 2 and 1 for the last
    /// few.
    #[inline(always)]
    fn rows_in<const N: usize, const W: usize, const TA: bool, const TB: bool>(self, c: &mut [T]) {
        // Compiled with AVX2 when the CPU has it (`inline(always)`: the
        // closure must be compiled inside the AVX2 function, see `simd.rs`).
        simd::vectorized(
            #[inline(always)]
            || {
                let mut i = 0;
                while i < self.m {
                    let c_rows = &mut c[i * N..];
                    i += match self.m - i {
                        8.. => self.row_block::<N, W, TA, TB, 8>(i, c_rows),
                        4.. => self.row_block::<N, W, TA, TB, 4>(i, c_rows),
                        2.. => self.row_block::<N, W, TA, TB, 2>(i, c_rows),
                        _ => self.row_block::<N, W, TA, TB, 1>(i, c_rows),
                    };
                }
            },
        )
    }

    /// Rows `i0 .. i0 + R` of `C` (`N` columns each), summed in registers
    /// and stored at the start of `c`. Returns `R`.
    #[inline(always)]
    fn row_block<const N: usize, const W: usize, const TA: bool, const TB: bool, const R: usize>(
        &self,
        i0: usize,
        c: &mut [T],
    ) -> usize {
        // acc[r][j] = Σ_p op(A)[i0 + r, p] · op(B)[p, j], p in order.
        let mut acc = [[T::zero(); W]; R];
        for p in 0..self.k {
            let b_row = self.b_row::<N, W, TB>(p);
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let aip = self.a_at::<TA>(i0 + r, p);
                for j in 0..W {
                    acc_r[j] += aip * b_row[j];
                }
            }
        }
        for (c_row, acc_r) in c.chunks_exact_mut(N).zip(&acc) {
            let c_row: &mut [T; N] = c_row.try_into().expect("chunks are N long");
            c_row.copy_from_slice(&acc_r[..N]);
        }
        R
    }
}
