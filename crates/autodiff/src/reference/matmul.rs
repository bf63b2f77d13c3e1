//! Matrix multiply on the CPU: `C[m, n] = op(A)[m, k] · op(B)[k, n]`.
//!
//! The plain triple loop: the reference every faster kernel (the GPU ones,
//! the blocked SIMD one of the tuned CPU backend) is tested against.

use crate::Real;

/// `c = op(a) · op(b)`, all row-major.
///
/// - `a` is stored `[m, k]`, or `[k, m]` when `ta` (then `op(a) = aᵀ`);
/// - `b` is stored `[k, n]`, or `[n, k]` when `tb`;
/// - `c` is `[m, n]` and is overwritten.
pub fn matmul<T: Real>(
    a: &[T],
    ta: bool,
    b: &[T],
    tb: bool,
    c: &mut [T],
    m: usize,
    k: usize,
    n: usize,
) {
    debug_assert_eq!(a.len(), m * k);
    debug_assert_eq!(b.len(), k * n);
    debug_assert_eq!(c.len(), m * n);
    // Element (i, p) of op(a) and (p, j) of op(b), wherever they are stored.
    let a_at = |i: usize, p: usize| if ta { a[p * m + i] } else { a[i * k + p] };
    let b_at = |p: usize, j: usize| if tb { b[j * k + p] } else { b[p * n + j] };
    if !ta && !tb {
        // The common case, i-p-j order: the inner loop walks rows of b and c
        // contiguously.
        c.iter_mut().for_each(|x| *x = T::zero());
        for i in 0..m {
            for p in 0..k {
                let aip = a[i * k + p];
                let (b_row, c_row) = (&b[p * n..(p + 1) * n], &mut c[i * n..(i + 1) * n]);
                for (cj, &bj) in c_row.iter_mut().zip(b_row) {
                    *cj += aip * bj;
                }
            }
        }
        return;
    }
    for i in 0..m {
        for j in 0..n {
            let mut acc = T::zero();
            for p in 0..k {
                acc += a_at(i, p) * b_at(p, j);
            }
            c[i * n + j] = acc;
        }
    }
}
