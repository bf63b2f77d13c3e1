//! The AVX2 + FMA micro-kernel: one `[6, 16]` tile of `C` held in twelve
//! 8-lane registers while `kc` rank-1 updates stream through.
//!
//! Each step `p` loads one row of the `B` panel (16 values, two registers),
//! broadcasts each of the 6 values of the `A` panel's column `p` in turn, and
//! does 12 fused multiply-adds: `acc[r][h] += a[p, r] * b[p, 8h..8h+8]`.
//! Twelve accumulators + two `B` registers + one broadcast = 15 of the 16
//! `ymm` registers, and 12 independent FMA chains are enough to keep both FMA
//! units busy through the FMA latency.
//!
//! Edge tiles are computed whole into a scratch tile, and only their valid
//! part is copied out.
//!
//! This file holds the `unsafe` of this kernel: raw-pointer loads and
//! stores, and calling a `#[target_feature]` function, which is sound only on
//! a CPU that has the feature. The [`Avx2Fma`] token carries that proof.

use super::{edge_via_scratch, MicroKernel};
use std::arch::x86_64::{
    __m256, _mm256_add_ps, _mm256_broadcast_ss, _mm256_fmadd_ps, _mm256_loadu_ps,
    _mm256_setzero_ps, _mm256_storeu_ps, _mm_prefetch, _MM_HINT_T0,
};

/// The tile: 6 rows, 16 columns (two 8-lane registers).
const MR: usize = 6;
const NR: usize = 16;

/// Proof that the running CPU has AVX2 and FMA: the only way to make one is
/// [`Avx2Fma::detect`], which asks the CPU.
#[derive(Clone, Copy, Debug)]
pub struct Avx2Fma(());

impl Avx2Fma {
    /// The proof, if this CPU has AVX2 and FMA.
    pub fn detect() -> Option<Avx2Fma> {
        let has = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        has.then_some(Avx2Fma(()))
    }

    /// Runs `f` inside a function compiled with AVX2 and FMA enabled, so the
    /// loops inlined into it vectorise eight `f32` lanes wide (see
    /// `cpu/simd.rs`).
    #[inline]
    pub fn vectorized<R>(self, f: impl FnOnce() -> R) -> R {
        #[target_feature(enable = "avx2,fma")]
        fn with_avx2_fma<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: `self` exists only if the CPU has AVX2 and FMA.
        unsafe { with_avx2_fma(f) }
    }
}

impl MicroKernel for Avx2Fma {
    #[inline(always)]
    fn simd<R>(self, f: impl FnOnce() -> R) -> R {
        self.vectorized(f)
    }

    const MR: usize = 6;
    const NR: usize = 16;

    fn tile(
        self,
        kc: usize,
        a: &[f32],
        b: &[f32],
        c: &mut [f32],
        ldc: usize,
        (rows, cols): (usize, usize),
        accumulate: bool,
    ) {
        // These bounds are what make the pointer arithmetic below sound; the
        // blocked loop always satisfies them, so a failure is a bug there.
        assert!(a.len() >= kc * MR && b.len() >= kc * NR, "avx2 tile: panel too short");
        if (rows, cols) != (MR, NR) {
            // An edge: the whole tile into scratch, then the valid part.
            return edge_via_scratch::<MR, NR>(c, ldc, (rows, cols), accumulate, |s| {
                // SAFETY: as below, with the scratch tile (rows NR apart).
                unsafe { tile_6x16(kc, a.as_ptr(), b.as_ptr(), s.as_mut_ptr(), NR, false) }
            });
        }
        assert!(ldc >= NR && c.len() >= (MR - 1) * ldc + NR, "avx2 tile: C tile out of bounds");
        // SAFETY: `self` exists only if the CPU has AVX2 and FMA (see
        // `detect`), and the asserts above keep every access in bounds.
        unsafe { tile_6x16(kc, a.as_ptr(), b.as_ptr(), c.as_mut_ptr(), ldc, accumulate) }
    }
}

/// The kernel proper (see the module docs).
///
/// # Safety
/// The CPU must support AVX2 and FMA; `a` must be readable for `kc * 6`
/// floats, `b` for `kc * 16`, and `c` readable and writable for 6 rows of 16
/// floats spaced `ldc` apart.
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_6x16(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
) {
    // Start fetching the C tile now; it is only needed after the loop.
    for r in 0..MR {
        // SAFETY: both addresses (first and last float of row r) lie in the
        // caller's tile, and a prefetch never faults or changes memory.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(c.add(r * ldc) as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(c.add(r * ldc + NR - 1) as *const i8);
        }
    }
    // acc[r][h]: row r, columns 8h..8h+8 of the tile.
    let mut acc = [[_mm256_setzero_ps(); 2]; MR];
    for p in 0..kc {
        // SAFETY: p < kc, so p*NR + 16 <= kc*NR floats of `b` are read.
        let (b0, b1) =
            unsafe { (_mm256_loadu_ps(b.add(p * NR)), _mm256_loadu_ps(b.add(p * NR + 8))) };
        for (r, acc_r) in acc.iter_mut().enumerate() {
            // SAFETY: p*MR + r < kc*MR floats of `a`.
            let a_pr = unsafe { _mm256_broadcast_ss(&*a.add(p * MR + r)) };
            acc_r[0] = _mm256_fmadd_ps(a_pr, b0, acc_r[0]);
            acc_r[1] = _mm256_fmadd_ps(a_pr, b1, acc_r[1]);
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        for (h, &sum) in acc_r.iter().enumerate() {
            // SAFETY: row r < 6, columns 8h..8h+8 < 16, inside the caller's tile.
            unsafe {
                let dst = c.add(r * ldc + 8 * h);
                let value: __m256 =
                    if accumulate { _mm256_add_ps(_mm256_loadu_ps(dst), sum) } else { sum };
                _mm256_storeu_ps(dst, value);
            }
        }
    }
}
