//! The AVX-512 micro-kernel: one `[12, 32]` tile of `C` held in 24
//! 16-lane `zmm` registers while `kc` rank-1 updates stream through.
//!
//! Each step `p` loads one row of the `B` panel (32 values, two registers)
//! and, for each of the 12 values of the `A` panel's column `p`, broadcasts
//! it and does two fused multiply-adds: `acc[r][h] += a[p, r] * b[p,
//! 16h..16h+16]`. 24 accumulators + 2 `B` registers + a broadcast use 27 of
//! the 32 `zmm` registers, and 24 independent FMA chains keep two 512-bit
//! FMA pipes busy through their 4-cycle latency (Zen 5), with 14 loads per
//! 24 FMAs.
//!
//! Edge tiles are computed at their true size, not through a scratch tile:
//! the number of rows is a compile-time constant of one copy of the kernel
//! (12 copies, 1 to 12 rows; a panel's padding rows are never multiplied),
//! and the columns are 1 or 2 registers wide with a mask on the last one's
//! loads and stores (masked-off lanes are not touched in memory).
//!
//! **Same bits as the AVX2 kernel.** Every element is `Σ_p a·b` with one
//! FMA per step in `p` order, started from zero, then written to `C` or
//! added to it: the operations of `avx2.rs`, in the same order, so the two
//! give identical results (the tests check it).
//!
//! This file holds the `unsafe` of this kernel: raw-pointer loads and stores,
//! and calling a `#[target_feature]` function, which is sound only on a CPU
//! that has the feature. The [`Avx512`] token carries that proof.

use super::MicroKernel;
use std::arch::x86_64::{
    __m512, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mask_storeu_ps,
    _mm512_maskz_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_shuffle_f32x4,
    _mm512_shuffle_ps, _mm512_storeu_ps, _mm512_unpackhi_ps, _mm512_unpacklo_ps, _mm_prefetch,
    _MM_HINT_T0,
};

/// Proof that the running CPU has AVX-512 F: the only way to make one is
/// [`Avx512::detect`], which asks the CPU.
#[derive(Clone, Copy, Debug)]
pub struct Avx512(());

impl Avx512 {
    /// The proof, if this CPU has AVX-512 F (and AVX2 and FMA, which every
    /// AVX-512 CPU has, checked too so [`Avx512::vectorized`] may use them).
    pub fn detect() -> Option<Avx512> {
        let has = is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma");
        has.then_some(Avx512(()))
    }

    /// Runs `f` inside a function compiled with AVX-512 F (and AVX2, FMA)
    /// enabled, so the loops inlined into it vectorise sixteen `f32` lanes
    /// wide (see `cpu/simd.rs`).
    #[inline]
    pub fn vectorized<R>(self, f: impl FnOnce() -> R) -> R {
        #[target_feature(enable = "avx512f,avx2,fma")]
        fn with_avx512<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: `self` exists only if the CPU has AVX-512 F, AVX2 and FMA.
        unsafe { with_avx512(f) }
    }
}

impl MicroKernel for Avx512 {
    #[inline(always)]
    fn simd<R>(self, f: impl FnOnce() -> R) -> R {
        self.vectorized(f)
    }

    #[inline(always)]
    fn transpose16(
        self,
        src: &[f32],
        lds: usize,
        live: usize,
        dst: &mut [f32],
        ldd: usize,
    ) -> bool {
        assert!((1..=16).contains(&live), "transpose16: {live} rows is not 1 to 16");
        assert!(src.len() >= (live - 1) * lds + 16, "transpose16: src too short");
        assert!(ldd >= live && dst.len() >= 15 * ldd + live, "transpose16: dst too short");
        // SAFETY: `self` proves AVX-512 F; the asserts keep the `live` rows
        // of 16 floats of `src`, and 16 rows of `live` floats of `dst`,
        // inside their slices (and the rows of `dst` apart).
        unsafe { transpose_16x16(src.as_ptr(), lds, live, dst.as_mut_ptr(), ldd) };
        true
    }

    const MR: usize = 12;
    const NR: usize = 32;

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
        assert!((1..=Self::MR).contains(&rows) && (1..=Self::NR).contains(&cols));
        assert!(a.len() >= kc * Self::MR && b.len() >= kc * Self::NR, "avx512 tile: short panel");
        assert!(ldc >= cols && c.len() >= (rows - 1) * ldc + cols, "avx512 tile: C out of bounds");
        // Columns: one or two registers, the last one masked to what is left.
        let last = cols - 16 * usize::from(cols > 16); // 1..=16
        let mask = if last == 16 { u16::MAX } else { (1u16 << last) - 1 };
        let (a, b, c) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
        macro_rules! dispatch {
            ($($r:literal)*) => {
                match (rows, cols > 16) {
                    // SAFETY: `self` exists only if the CPU has AVX-512 F
                    // (see `detect`), and the asserts above keep every
                    // access in bounds (rows r < rows, columns < cols
                    // through the mask).
                    $(($r, false) => unsafe { tile::<$r, 1>(kc, a, b, c, ldc, mask, accumulate) },
                      ($r, true) => unsafe { tile::<$r, 2>(kc, a, b, c, ldc, mask, accumulate) },)*
                    _ => unreachable!("rows were checked to be 1..=12"),
                }
            };
        }
        dispatch!(1 2 3 4 5 6 7 8 9 10 11 12)
    }
}

/// The kernel proper, for `R` rows and `V` registers (16 columns each) of
/// the tile (see the module docs); the last register's lanes are masked by
/// `mask`.
///
/// # Safety
/// The CPU must support AVX-512 F; `a` must be readable for `kc * 12`
/// floats, `b` for `kc * 32`, and `c` readable and writable for `R` rows
/// spaced `ldc` apart, each `16 (V - 1)` floats plus those `mask` selects.
#[target_feature(enable = "avx512f")]
unsafe fn tile<const R: usize, const V: usize>(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    mask: u16,
    accumulate: bool,
) {
    const MR: usize = Avx512::MR;
    const NR: usize = Avx512::NR;
    // Start fetching the C tile now: it is written (or added to) only after
    // the loop, and a product's output is often not in cache (a weight
    // gradient `[784, 512]` is 1.6 MB); without this the stores waited on
    // memory at the end of every tile.
    for r in 0..R {
        // SAFETY: row r < R, columns 0 and 16(V - 1) lie in the caller's
        // tile (the last register has at least one lane), and a prefetch
        // never faults or changes memory.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(c.add(r * ldc) as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(c.add(r * ldc + 16 * (V - 1)) as *const i8);
        }
    }
    // acc[r][h]: row r, columns 16h..16h+16 of the tile.
    let mut acc = [[_mm512_setzero_ps(); V]; R];
    for p in 0..kc {
        let mut b_row = [_mm512_setzero_ps(); V];
        for (h, b_h) in b_row.iter_mut().enumerate() {
            // SAFETY: p < kc and 16h + 16 <= 32, so inside the kc * 32 floats of `b`.
            *b_h = unsafe { _mm512_loadu_ps(b.add(p * NR + 16 * h)) };
        }
        for (r, acc_r) in acc.iter_mut().enumerate() {
            // SAFETY: p*MR + r < kc*MR floats of `a`.
            let a_pr = _mm512_set1_ps(unsafe { *a.add(p * MR + r) });
            for (acc_rh, &b_h) in acc_r.iter_mut().zip(&b_row) {
                *acc_rh = _mm512_fmadd_ps(a_pr, b_h, *acc_rh);
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        for (h, &sum) in acc_r.iter().enumerate() {
            // SAFETY: row r < R; register h covers columns 16h.., the last
            // one only the lanes in `mask`: all inside the caller's tile, and
            // masked-off lanes are neither read nor written.
            unsafe {
                let dst = c.add(r * ldc + 16 * h);
                if h + 1 < V || mask == u16::MAX {
                    let value: __m512 =
                        if accumulate { _mm512_add_ps(_mm512_loadu_ps(dst), sum) } else { sum };
                    _mm512_storeu_ps(dst, value);
                } else {
                    let value: __m512 = if accumulate {
                        _mm512_add_ps(_mm512_maskz_loadu_ps(mask, dst), sum)
                    } else {
                        sum
                    };
                    _mm512_mask_storeu_ps(dst, mask, value);
                }
            }
        }
    }
}

/// `dst[p * ldd + c] = src[c * lds + p]` for `p < 16, c < live`: a 16 × 16
/// block transposed in registers (16 loads, 64 shuffles, 16 stores), for
/// packing a transposed `B` and a row-major `A` (`pack.rs`), where one
/// float at a time was most of the packing's cost. Source rows from `live`
/// on are not read (zeros stand in for them), and only the first `live`
/// lanes of each destination row are written.
///
/// The usual three stages: `unpacklo/hi` interleave pairs of rows (2 × 2
/// blocks), `shuffle_ps` pairs of those (4 × 4 blocks within each 128-bit
/// lane), and two rounds of `shuffle_f32x4` move the 128-bit lanes.
///
/// # Safety
/// The CPU must support AVX-512 F; `live` must be in `1..=16`, `src`
/// readable for `live` rows of 16 floats `lds` apart, and `dst` writable
/// for 16 rows of `live` floats `ldd` apart.
#[inline] // into the packing loops (compiled with AVX-512, see `simd`)
#[target_feature(enable = "avx512f")]
unsafe fn transpose_16x16(src: *const f32, lds: usize, live: usize, dst: *mut f32, ldd: usize) {
    let r: [__m512; 16] = std::array::from_fn(|c| {
        if c < live {
            // SAFETY: rows c < live of 16 floats, inside `src` by the contract.
            unsafe { _mm512_loadu_ps(src.add(c * lds)) }
        } else {
            _mm512_setzero_ps()
        }
    });
    let lanes: u16 = if live == 16 { u16::MAX } else { (1 << live) - 1 };
    // t[2i], t[2i+1]: rows 2i and 2i+1 interleaved, low and high pairs of each lane.
    let mut t = [_mm512_setzero_ps(); 16];
    for i in 0..8 {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // u: 4 × 4 blocks transposed within each 128-bit lane, rows 4q..4q+4.
    let mut u = [_mm512_setzero_ps(); 16];
    for q in 0..4 {
        let b = 4 * q;
        u[b] = _mm512_shuffle_ps::<0x44>(t[b], t[b + 2]);
        u[b + 1] = _mm512_shuffle_ps::<0xEE>(t[b], t[b + 2]);
        u[b + 2] = _mm512_shuffle_ps::<0x44>(t[b + 1], t[b + 3]);
        u[b + 3] = _mm512_shuffle_ps::<0xEE>(t[b + 1], t[b + 3]);
    }
    // v: lanes of row blocks 0 and 1 (and 2 and 3) gathered in pairs.
    let mut v = [_mm512_setzero_ps(); 16];
    for h in 0..2 {
        let (x, y) = (8 * h, 8 * h + 4);
        for k in 0..4 {
            v[8 * h + k] = _mm512_shuffle_f32x4::<0x88>(u[x + k], u[y + k]);
            v[8 * h + 4 + k] = _mm512_shuffle_f32x4::<0xDD>(u[x + k], u[y + k]);
        }
    }
    // The output rows: the lanes of the two halves gathered again.
    for k in 0..8 {
        let lo = _mm512_shuffle_f32x4::<0x88>(v[k], v[8 + k]);
        let hi = _mm512_shuffle_f32x4::<0xDD>(v[k], v[8 + k]);
        // SAFETY: rows k and k + 8 < 16, their first `live` floats (the
        // lanes in `lanes`), inside `dst` by the contract.
        unsafe {
            _mm512_mask_storeu_ps(dst.add(k * ldd), lanes, lo);
            _mm512_mask_storeu_ps(dst.add((k + 8) * ldd), lanes, hi);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose16_transposes_a_block_with_strides() {
        let Some(kernel) = Avx512::detect() else {
            eprintln!("no AVX-512 on this CPU: nothing to test");
            return;
        };
        let (lds, ldd) = (21, 35); // strides wider than the block
        let src: Vec<f32> = (0..16 * lds).map(|i| i as f32).collect();
        let mut dst = vec![-1.0f32; 16 * ldd];
        assert!(kernel.transpose16(&src, lds, 16, &mut dst, ldd));
        for p in 0..16 {
            for c in 0..ldd {
                let want = if c < 16 { src[c * lds + p] } else { -1.0 };
                assert_eq!(dst[p * ldd + c], want, "dst[{p}, {c}]");
            }
        }
    }

    #[test]
    fn transpose16_of_fewer_rows_reads_and_writes_only_those() {
        let Some(kernel) = Avx512::detect() else {
            eprintln!("no AVX-512 on this CPU: nothing to test");
            return;
        };
        // `live` source rows, as many as `A` has left for a panel of 12;
        // `src` holds exactly `live` rows (reading a 13th would panic in
        // the assert or fault), `dst` rows are 12 apart as in a packed panel.
        for live in [1, 4, 7, 12, 16] {
            let lds = 19;
            let src: Vec<f32> = (0..(live - 1) * lds + 16).map(|i| i as f32).collect();
            let ldd = live.max(12);
            let mut dst = vec![-1.0f32; 15 * ldd + live];
            assert!(kernel.transpose16(&src, lds, live, &mut dst, ldd));
            for (i, &got) in dst.iter().enumerate() {
                let (p, c) = (i / ldd, i % ldd);
                let want = if c < live { src[c * lds + p] } else { -1.0 };
                assert_eq!(got, want, "live {live}: dst[{p}, {c}]");
            }
        }
    }
}
