//! Fast `f32` matmul on the CPU: cache blocking, packing and a SIMD
//! micro-kernel, `C[m, n] = op(A)[m, k] · op(B)[k, n]`.
//!
//! The plain triple loop in [`super::matmul`] streams all of `B` through the
//! cache once per row of `C`, so it is limited by memory, not arithmetic.
//! This module reorganises the same sums the way BLAS libraries do (the
//! "BLIS" loop nest):
//!
//! ```text
//! for j0 in columns of C, NC at a time            B block [KC, NC] lives in L3
//!   for p0 in the k dimension, KC at a time
//!     pack op(B)[p0.., j0..] into NR-wide panels
//!     for i0 in rows of C, MC at a time           A block [MC, KC] lives in L2
//!       pack op(A)[i0.., p0..] into MR-tall panels
//!       for each NR panel of B, each MR panel of A     B panel lives in L1
//!         micro-kernel: C[MR, NR] += A panel · B panel   C tile lives in registers
//! ```
//!
//! Packing copies each block into the exact order the micro-kernel reads it,
//! so the kernel only ever walks memory forwards; packing is also where the
//! transposes go (it reads `op(A)` / `op(B)` through a strided view, see
//! `pack.rs`), so all four `ta`/`tb` combinations share one kernel. Panels are zero-padded
//! past the matrix edge; edge tiles are computed into a scratch tile and
//! only the valid part is copied out.
//!
//! **Determinism.** Every element of `C` is summed in the same order however
//! the work is split: over `k` in KC-blocks from `p0 = 0` upwards, each block
//! summed in `p` order (in one register lane) and then added to `C`. Threads
//! split the rows of `C`, which changes who computes an element, never how.
//! So the result is bit-identical run to run and for any thread count (but
//! not bit-identical to the plain loop, which sums in a different order).
//!
//! **Dispatch.** [`matmul`] is generic over [`Real`] and is what the CPU
//! backend calls. Outputs at most 8 wide (`n ≤ 8`: a GAN's hidden layer of
//! 5, an output layer of 1, their backward products) go to [`narrow`],
//! which keeps a row of `C` in one register and gives the plain loop's bits
//! (see [`uses_narrow_path`]). Otherwise the blocked path here takes `f32`
//! products large enough to pay for packing (see [`uses_fast_path`]), and
//! everything else (all other `f64`, tiny products) keeps the plain loop.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) use avx2::Avx2Fma;
pub mod narrow;
mod pack;

use super::matmul::matmul as plain_matmul;
use crate::Real;
use pack::{pack_a, pack_b, PackBuffer, View};
use std::any::Any;

/// Rows of the micro-kernel's `C` tile (and of each packed `A` panel).
pub const MR: usize = 6;
/// Columns of the micro-kernel's `C` tile (and of each packed `B` panel).
pub const NR: usize = 16;
/// Depth of one packed block: an `A` panel `[MR, KC]` plus a `B` panel
/// `[KC, NR]` is 22 KiB, inside a 32 KiB L1 data cache.
const KC: usize = 256;
/// Rows of `A` packed at a time: `[MC, KC]` is 144 KiB, well inside L2.
const MC: usize = 144;
/// Columns of `B` packed at a time: `[KC, NC]` is 4 MiB, inside L3.
const NC: usize = 4096;

/// Which micro-kernel the blocked path runs.
///
/// A value that names a SIMD kernel can only be obtained from a constructor
/// that checked the CPU supports it, so running it is always sound.
#[derive(Clone, Copy, Debug)]
pub struct Kernel(Kind);

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Plain Rust, any CPU.
    Portable,
    /// `std::arch` AVX2 + FMA; holds the proof that the CPU has both.
    #[cfg(target_arch = "x86_64")]
    Avx2Fma(avx2::Avx2Fma),
}

impl Kernel {
    /// The plain-Rust micro-kernel, available everywhere (the fallback).
    pub fn portable() -> Kernel {
        Kernel(Kind::Portable)
    }

    /// The AVX2 + FMA micro-kernel, if this CPU has both (checked at run time
    /// with `is_x86_feature_detected!`).
    pub fn avx2_fma() -> Option<Kernel> {
        #[cfg(target_arch = "x86_64")]
        if let Some(proof) = avx2::Avx2Fma::detect() {
            return Some(Kernel(Kind::Avx2Fma(proof)));
        }
        None
    }

    /// The fastest kernel this CPU supports.
    pub fn best() -> Kernel {
        Kernel::avx2_fma().unwrap_or_else(Kernel::portable)
    }

    /// Every kernel this CPU supports, the portable one first.
    pub fn available() -> Vec<Kernel> {
        std::iter::once(Kernel::portable()).chain(Kernel::avx2_fma()).collect()
    }

    /// A short name: `"portable"` or `"avx2+fma"`.
    pub fn name(self) -> &'static str {
        match self.0 {
            Kind::Portable => "portable",
            #[cfg(target_arch = "x86_64")]
            Kind::Avx2Fma(_) => "avx2+fma",
        }
    }

    /// `c = a · b` (or `c += a · b` when `accumulate`) for one `[MR, NR]`
    /// tile: `a` is an `A` panel (`kc` steps of `MR` values), `b` a `B` panel
    /// (`kc` steps of `NR` values), `c` starts at the tile's top-left corner
    /// and its rows are `ldc` apart.
    fn tile(self, kc: usize, a: &[f32], b: &[f32], c: &mut [f32], ldc: usize, accumulate: bool) {
        match self.0 {
            Kind::Portable => portable_tile(kc, a, b, c, ldc, accumulate),
            #[cfg(target_arch = "x86_64")]
            Kind::Avx2Fma(proof) => proof.tile(kc, a, b, c, ldc, accumulate),
        }
    }
}

/// The portable micro-kernel: the same tile as the SIMD one, as plain loops
/// over a `[MR, NR]` accumulator (which the compiler keeps in registers and
/// vectorises with whatever the target baseline offers).
fn portable_tile(kc: usize, a: &[f32], b: &[f32], c: &mut [f32], ldc: usize, accumulate: bool) {
    let mut acc = [[0.0f32; NR]; MR];
    for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(NR)).take(kc) {
        for r in 0..MR {
            for j in 0..NR {
                acc[r][j] += ap[r] * bp[j];
            }
        }
    }
    for r in 0..MR {
        let row = &mut c[r * ldc..r * ldc + NR];
        for (cj, &v) in row.iter_mut().zip(&acc[r]) {
            *cj = if accumulate { *cj + v } else { v };
        }
    }
}

// ---------------------------------------------------------------------------
// Dispatch from the generic backend.
// ---------------------------------------------------------------------------

/// A matmul over slices of `T` (the signature of [`plain_matmul`]).
type MatmulFn<T> = fn(&[T], bool, &[T], bool, &mut [T], usize, usize, usize);

/// The fast `f32` path, as a `MatmulFn<T>` when `T` is `f32`; else `None`.
///
/// This is the specialisation trick: `MatmulFn<f32>` is a plain function
/// pointer type, so it is `'static` and can be viewed as `&dyn Any`. Asking
/// that `Any` for a `MatmulFn<T>` succeeds exactly when `T` is `f32` (the
/// two types are then the same type), and hands back a function that takes
/// `&[T]` — no casts, no `unsafe`. For any other `T` it returns `None`.
fn fast_path<T: Real>() -> Option<MatmulFn<T>> {
    let f32_path: MatmulFn<f32> = matmul_f32_auto;
    (&f32_path as &dyn Any).downcast_ref::<MatmulFn<T>>().copied()
}

/// `c = op(a) · op(b)`, all row-major (the layout of [`plain_matmul`]): the
/// narrow path for outputs at most 8 wide, the fast blocked path for large
/// `f32` products, the plain loop otherwise.
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
    if uses_narrow_path(m, k, n) {
        return narrow::matmul(a, ta, b, tb, c, (m, k, n));
    }
    match fast_path::<T>() {
        Some(fast) if uses_fast_path(m, k, n) => fast(a, ta, b, tb, c, m, k, n),
        _ => plain_matmul(a, ta, b, tb, c, m, k, n),
    }
}

/// Whether [`matmul`] sends a product of these sizes to the narrow path
/// (`narrow.rs`): an output 1 to [`narrow::MAX_N`] wide and a nonempty sum
/// (`k ≥ 1`), below the size at which the blocked path starts a second
/// thread (see [`default_threads`]). Measured with `cargo bench --bench
/// matmul -- small` (`BENCHMARKS.md`), the narrow path beat the one-thread
/// blocked path on every such shape, from 4.6 against 1.3 GFLOP/s at
/// `[500, 1]·[1, 5]` to 27 against 23 at `[2048, 128]·[128, 8]`. Any element
/// type: the narrow path gives the plain loop's bits.
pub fn uses_narrow_path(m: usize, k: usize, n: usize) -> bool {
    (1..=narrow::MAX_N).contains(&n) && k >= 1 && m * k * n < THREADING_MIN
}

/// Whether an `f32` product of these sizes is large enough for the blocked
/// path (unless [`uses_narrow_path`] takes it first): every dimension at
/// least 4 and at least 16³ multiply-adds. Below
/// that, packing and the mostly-empty `[MR, NR]` tiles cost more than they
/// save, and the plain loop wins (measured with `cargo bench --bench matmul`,
/// small-shape table; see `BENCHMARKS.md`).
pub fn uses_fast_path(m: usize, k: usize, n: usize) -> bool {
    m.min(k).min(n) >= 4 && m * k * n >= 16 * 16 * 16
}

/// Multiply-adds from which the blocked path uses more than one thread.
const THREADING_MIN: usize = 256 * 256 * 256;

/// How many threads [`matmul`] uses for an `m × k × n` product: one below
/// 256³ multiply-adds (starting and joining a thread costs ~50 µs on the
/// 2-core development VM, a quarter of a 192³ product), else one per core, at
/// most one per `MR` rows of `C`.
pub fn default_threads(m: usize, k: usize, n: usize) -> usize {
    if m * k * n < THREADING_MIN {
        return 1;
    }
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    cores.min(m.div_ceil(MR))
}

/// [`matmul_f32`] with the best kernel and [`default_threads`].
fn matmul_f32_auto(
    a: &[f32],
    ta: bool,
    b: &[f32],
    tb: bool,
    c: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
) {
    let threads = default_threads(m, k, n);
    matmul_f32(Kernel::best(), threads, a, ta, b, tb, c, m, k, n);
}

// ---------------------------------------------------------------------------
// The blocked path.
// ---------------------------------------------------------------------------

/// `c = op(a) · op(b)` on the blocked path with an explicit `kernel` and
/// `threads` (split over rows of `C`). The layout is that of [`plain_matmul`]:
/// `a` is `[m, k]` (`[k, m]` if `ta`), `b` is `[k, n]` (`[n, k]` if `tb`),
/// `c` is `[m, n]`. The result does not depend on `threads`.
///
/// # Panics
/// If a slice's length does not match its shape (a caller bug: the backend
/// checks shapes and reports errors before it gets here).
pub fn matmul_f32(
    kernel: Kernel,
    threads: usize,
    a: &[f32],
    ta: bool,
    b: &[f32],
    tb: bool,
    c: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
) {
    assert_eq!(a.len(), m * k, "matmul_f32: a has the wrong length");
    assert_eq!(b.len(), k * n, "matmul_f32: b has the wrong length");
    assert_eq!(c.len(), m * n, "matmul_f32: c has the wrong length");
    if m == 0 || n == 0 {
        return;
    }
    let ops = Operands {
        a: View::new(a, if ta { m } else { k }, ta),
        b: View::new(b, if tb { k } else { n }, tb),
        k,
        n,
    };
    // Whole MR panels per thread, so only the last thread has an edge panel.
    let panels = m.div_ceil(MR);
    let rows_per_thread = panels.div_ceil(threads.clamp(1, panels)) * MR;
    if rows_per_thread >= m {
        // One thread: no scope (starting one allocates, even with no spawn).
        return ops.rows(kernel, 0, c);
    }
    std::thread::scope(|scope| {
        let mut chunks = c.chunks_mut(rows_per_thread * n).enumerate().peekable();
        while let Some((t, c_rows)) = chunks.next() {
            let first_row = t * rows_per_thread;
            if chunks.peek().is_some() {
                scope.spawn(move || ops.rows(kernel, first_row, c_rows));
            } else {
                ops.rows(kernel, first_row, c_rows); // the last chunk on this thread
            }
        }
    });
}

/// The inputs of one product, shared read-only by every thread.
#[derive(Clone, Copy)]
struct Operands<'a> {
    /// `op(A)`, `[m, k]`.
    a: View<'a>,
    /// `op(B)`, `[k, n]`.
    b: View<'a>,
    k: usize,
    n: usize,
}

impl Operands<'_> {
    /// Computes rows `first_row..first_row + c_rows.len() / n` of `C` into
    /// `c_rows` (the BLIS loop nest of the module docs).
    fn rows(&self, kernel: Kernel, first_row: usize, c_rows: &mut [f32]) {
        let (k, n) = (self.k, self.n);
        let row_count = c_rows.len() / n;
        if k == 0 {
            c_rows.fill(0.0); // an empty sum
            return;
        }
        let mut a_buf = PackBuffer::take(MC.min(row_count.next_multiple_of(MR)) * KC.min(k));
        let mut b_buf = PackBuffer::take(KC.min(k) * NC.min(n.next_multiple_of(NR)));
        let (a_pack, b_pack) = (a_buf.as_mut_slice(), b_buf.as_mut_slice());
        for j0 in (0..n).step_by(NC) {
            let nc = NC.min(n - j0);
            for p0 in (0..k).step_by(KC) {
                let kc = KC.min(k - p0);
                pack_b(self.b, p0, kc, j0, nc, b_pack);
                for i0 in (0..row_count).step_by(MC) {
                    let mc = MC.min(row_count - i0);
                    pack_a(self.a, first_row + i0, mc, p0, kc, a_pack);
                    let block = Block { kc, mc, nc, accumulate: p0 > 0 };
                    block.run(kernel, a_pack, b_pack, &mut c_rows[i0 * n + j0..], n);
                }
            }
        }
    }
}

/// One packed `[mc, kc] · [kc, nc]` product, added into (or, for the first
/// k-block, written over) an `[mc, nc]` block of `C`.
struct Block {
    kc: usize,
    mc: usize,
    nc: usize,
    /// `C += A·B` rather than `C = A·B` (every k-block but the first).
    accumulate: bool,
}

impl Block {
    /// Tile by tile: for each `B` panel (kept in L1), every `A` panel.
    /// `c` starts at the block's top-left corner, rows `ldc` apart.
    fn run(&self, kernel: Kernel, a_pack: &[f32], b_pack: &[f32], c: &mut [f32], ldc: usize) {
        let kc = self.kc;
        for j in (0..self.nc).step_by(NR) {
            let b_panel = &b_pack[j * kc..(j + NR) * kc];
            for i in (0..self.mc).step_by(MR) {
                let a_panel = &a_pack[i * kc..(i + MR) * kc];
                let (rows, cols) = (MR.min(self.mc - i), NR.min(self.nc - j));
                let c_tile = &mut c[i * ldc + j..];
                if rows == MR && cols == NR {
                    kernel.tile(kc, a_panel, b_panel, c_tile, ldc, self.accumulate);
                } else {
                    // Edge: a full tile into scratch, then only the valid part.
                    let mut scratch = [0.0f32; MR * NR];
                    kernel.tile(kc, a_panel, b_panel, &mut scratch, NR, false);
                    for r in 0..rows {
                        let c_row = &mut c_tile[r * ldc..][..cols];
                        for (cj, &s) in c_row.iter_mut().zip(&scratch[r * NR..]) {
                            *cj = if self.accumulate { *cj + s } else { s };
                        }
                    }
                }
            }
        }
    }
}
