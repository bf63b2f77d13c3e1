//! Fast `f32` matmul on the CPU: cache blocking, packing and a SIMD
//! micro-kernel, `C[m, n] = op(A)[m, k] · op(B)[k, n]`.
//!
//! The plain triple loop (`minimax_autodiff::reference::matmul`) streams all of `B` through the
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
//!
//! **Kernels.** The blocked path runs one of three micro-kernels, chosen
//! once at run time ([`Kernel::best`]; [`with_kernel`] picks another for a
//! thread): AVX-512 (`avx512.rs`, a `[12, 32]`
//! tile), else AVX2 + FMA (`avx2.rs`, `[6, 16]`), else portable Rust
//! (`[6, 16]`). The loop nest and packing are generic over the tile shape.
//! The two SIMD kernels give the same bits (same FMAs, same order, same
//! KC-blocks); the portable one, without FMA, does not.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) use avx2::Avx2Fma;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
pub(crate) use avx512::Avx512;
pub mod narrow;
mod pack;

use minimax_autodiff::reference::matmul::matmul as plain_matmul;
use minimax_autodiff::Real;
use pack::{pack_a, pack_b, PackBuffer, View};
use std::any::Any;
use std::cell::Cell;

/// Depth of one packed block, the same for every kernel (so every kernel
/// sums each element of `C` in the same KC-blocks): a `[6, 256]` A panel
/// plus a `[256, 16]` B panel is 22 KiB, a `[12, 256]` plus `[256, 32]` is
/// 44 KiB, inside a 48 KiB L1 data cache (Zen 5; 32 KiB on Zen 3, where
/// only the smaller tile runs).
const KC: usize = 256;
/// Rows of `A` packed at a time (a multiple of every kernel's `MR`):
/// `[MC, KC]` is 144 KiB, well inside L2.
const MC: usize = 144;
/// Columns of `B` packed at a time: `[KC, NC]` is 4 MiB, inside L3.
const NC: usize = 4096;

/// A micro-kernel: computes one `[MR, NR]` tile of `C` from an `A` panel
/// (`kc` steps of `MR` values) and a `B` panel (`kc` steps of `NR` values).
///
/// Each element of the tile is the sum of its `kc` products in `p` order,
/// started from zero, and then either written to `C` or added to it.
trait MicroKernel: Copy + Send + Sync {
    /// Rows of the tile (and of each packed `A` panel).
    const MR: usize;
    /// Columns of the tile (and of each packed `B` panel).
    const NR: usize;

    /// `c = a · b` (or `c += a · b` when `accumulate`) for the top-left
    /// `live = (rows, cols)` of one tile (`rows ≤ MR`, `cols ≤ NR`): `c` starts at
    /// the tile's corner, rows `ldc` apart; nothing outside the `rows ×
    /// cols` corner is read or written.
    fn tile(
        self,
        kc: usize,
        a: &[f32],
        b: &[f32],
        c: &mut [f32],
        ldc: usize,
        live: (usize, usize),
        accumulate: bool,
    );

    /// `dst[p * ldd + c] = src[c * lds + p]` for `p < 16` and `c < live`
    /// (`live` in `1..=16`; a copy, so no bit changes), if this kernel has
    /// a fast way to do it (it returns `true`); otherwise it does nothing
    /// and returns `false`, and the caller copies one float at a time. For
    /// packing a transposed `B` (16 columns at a time) and a row-major `A`
    /// (`MR` rows at a time).
    fn transpose16(
        self,
        _src: &[f32],
        _lds: usize,
        _live: usize,
        _dst: &mut [f32],
        _ldd: usize,
    ) -> bool {
        false
    }

    /// Runs `f` compiled with this kernel's SIMD instructions enabled, for
    /// the packing loops inlined into it (copies, so no bit changes):
    /// compiled for the x86-64 baseline they move 16 bytes at a time.
    #[inline(always)]
    fn simd<R>(self, f: impl FnOnce() -> R) -> R {
        f()
    }
}

/// An edge tile for a kernel that only computes whole `[MR, NR]` tiles:
/// the whole tile into a scratch tile by `full`, then only the valid part
/// written to (or added to) `c`.
#[inline(always)]
fn edge_via_scratch<const MR: usize, const NR: usize>(
    c: &mut [f32],
    ldc: usize,
    (rows, cols): (usize, usize),
    accumulate: bool,
    full: impl FnOnce(&mut [f32]),
) {
    let mut scratch = [[0.0f32; NR]; MR];
    full(scratch.as_flattened_mut());
    for (r, s_row) in scratch.iter().enumerate().take(rows) {
        let c_row = &mut c[r * ldc..][..cols];
        for (cj, &s) in c_row.iter_mut().zip(s_row) {
            *cj = if accumulate { *cj + s } else { s };
        }
    }
}

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
    /// `std::arch` AVX-512 (F); holds the proof that the CPU has it.
    #[cfg(target_arch = "x86_64")]
    Avx512(avx512::Avx512),
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

    /// The AVX-512 micro-kernel, if this CPU has AVX-512 F (checked at run
    /// time with `is_x86_feature_detected!`).
    pub fn avx512() -> Option<Kernel> {
        #[cfg(target_arch = "x86_64")]
        if let Some(proof) = avx512::Avx512::detect() {
            return Some(Kernel(Kind::Avx512(proof)));
        }
        None
    }

    /// The fastest kernel this CPU supports: AVX-512, else AVX2 + FMA, else
    /// portable. Detected once and remembered.
    pub fn best() -> Kernel {
        static BEST: std::sync::OnceLock<Kernel> = std::sync::OnceLock::new();
        *BEST.get_or_init(|| {
            Kernel::avx512().or_else(Kernel::avx2_fma).unwrap_or_else(Kernel::portable)
        })
    }

    /// The kernel the blocked path runs for work started on this thread:
    /// the one [`with_kernel`] set, else [`Kernel::best`].
    pub fn current() -> Kernel {
        CHOSEN.with(Cell::get).unwrap_or_else(Kernel::best)
    }

    /// Every kernel this CPU supports, the portable one first.
    pub fn available() -> Vec<Kernel> {
        std::iter::once(Kernel::portable())
            .chain(Kernel::avx2_fma())
            .chain(Kernel::avx512())
            .collect()
    }

    /// A short name: `"portable"`, `"avx2+fma"` or `"avx512"`.
    pub fn name(self) -> &'static str {
        match self.0 {
            Kind::Portable => "portable",
            #[cfg(target_arch = "x86_64")]
            Kind::Avx2Fma(_) => "avx2+fma",
            #[cfg(target_arch = "x86_64")]
            Kind::Avx512(_) => "avx512",
        }
    }

    /// The kernel's tile, `(MR, NR)`: rows and columns of `C` per call.
    pub fn tile_shape(self) -> (usize, usize) {
        match self.0 {
            Kind::Portable => (Portable::MR, Portable::NR),
            #[cfg(target_arch = "x86_64")]
            Kind::Avx2Fma(_) => (Avx2Fma::MR, Avx2Fma::NR),
            #[cfg(target_arch = "x86_64")]
            Kind::Avx512(_) => (Avx512::MR, Avx512::NR),
        }
    }
}

thread_local! {
    /// The kernel [`with_kernel`] set on this thread, if any.
    static CHOSEN: Cell<Option<Kernel>> = const { Cell::new(None) };
}

/// Runs `f` with the blocked path using `kernel` (instead of
/// [`Kernel::best`]) for the products `f` starts on this thread; the
/// previous choice is restored after, even if `f` panics.
///
/// For comparing like with like: in the browser (wasm32) the portable
/// kernel is the only one, so a native run under
/// `with_kernel(Kernel::portable(), …)` is the one that gives the
/// browser's bits (`crates/gan/tests/wasm_golden.rs`); the SIMD kernels
/// fuse each multiply-add (FMA), which rounds once where the portable
/// kernel rounds twice.
pub fn with_kernel<R>(kernel: Kernel, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Kernel>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CHOSEN.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CHOSEN.with(|c| c.replace(Some(kernel))));
    f()
}

/// The portable micro-kernel: a `[6, 16]` tile as plain loops over an
/// accumulator (which the compiler keeps in registers and vectorises with
/// whatever the target baseline offers). Without FMA it rounds each
/// product before adding it, so its bits differ from the SIMD kernels'.
#[derive(Clone, Copy, Debug)]
struct Portable;

impl MicroKernel for Portable {
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
        const MR: usize = Portable::MR;
        const NR: usize = Portable::NR;
        let full = |c: &mut [f32], ldc: usize, accumulate: bool| {
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
        };
        if (rows, cols) == (MR, NR) {
            full(c, ldc, accumulate);
        } else {
            edge_via_scratch::<MR, NR>(c, ldc, (rows, cols), accumulate, |s| full(s, NR, false));
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
    // A transpose of a matrix with a single row or column is the same
    // memory: drop such flags, so the plain loop takes its contiguous path
    // (an outer product `[64, 1]·[1, 256]ᵀ` of an output layer's backward).
    // The same products in the same order, so the same bits.
    let ta = ta && m > 1 && k > 1;
    let tb = tb && k > 1 && n > 1;
    if uses_narrow_path(m, k, n) {
        return narrow::matmul(a, ta, b, tb, c, (m, k, n));
    }
    match fast_path::<T>() {
        Some(fast) if uses_fast_path(m, k, n) => fast(a, ta, b, tb, c, m, k, n),
        _ => plain_matmul(a, ta, b, tb, c, m, k, n),
    }
}

/// Whether [`matmul`] sends a product of these sizes to the narrow path
/// (`narrow.rs`): an output 1 to [`narrow::MAX_N`] wide, a nonempty sum
/// (`k ≥ 1`), and below 256³ multiply-adds. Measured with `cargo bench
/// --bench matmul -- small` (`BENCHMARKS.md`), the narrow path beat the
/// one-thread blocked path on every such shape, from 4.6 against 1.3
/// GFLOP/s at `[500, 1]·[1, 5]` to 27 against 23 at `[2048, 128]·[128, 8]`.
/// Any element type: the narrow path gives the plain loop's bits.
pub fn uses_narrow_path(m: usize, k: usize, n: usize) -> bool {
    (1..=narrow::MAX_N).contains(&n) && k >= 1 && m * k * n < NARROW_MAX
}

/// Multiply-adds below which an output at most 8 wide takes the narrow path.
const NARROW_MAX: usize = 256 * 256 * 256;

/// Whether an `f32` product of these sizes is large enough for the blocked
/// path (unless [`uses_narrow_path`] takes it first): every dimension at
/// least 4 and at least 16³ multiply-adds. Below
/// that, packing and the mostly-empty tiles cost more than they
/// save, and the plain loop wins (measured with `cargo bench --bench matmul`,
/// small-shape table; see `BENCHMARKS.md`).
pub fn uses_fast_path(m: usize, k: usize, n: usize) -> bool {
    m.min(k).min(n) >= 4 && m * k * n >= 16 * 16 * 16
}

/// Multiply-adds per thread from which the blocked path splits a product:
/// handing a part to a waiting worker and waiting for it costs a few
/// microseconds (see `cpu/threads.rs`), about what 64³ multiply-adds take
/// (measured with `cargo bench --bench matmul -- threads`).
pub const THREADING_MIN: usize = 64 * 64 * 64;

/// How many threads [`matmul`] uses for an `m × k × n` product: up to
/// [`threads`](super::threads::threads) (`MINIMAX_THREADS`, default one
/// per core), one per [`THREADING_MIN`] multiply-adds, at most one per
/// panel of rows of `C`.
pub fn default_threads(m: usize, k: usize, n: usize) -> usize {
    let (mr, _) = Kernel::current().tile_shape();
    let by_size = (m * k * n / THREADING_MIN).max(1);
    super::threads::threads().min(by_size).min(m.div_ceil(mr))
}

/// [`matmul_f32`] with [`Kernel::current`] and [`default_threads`].
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
    matmul_f32(Kernel::current(), threads, a, ta, b, tb, c, m, k, n);
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
    match kernel.0 {
        Kind::Portable => ops.split(Portable, threads, c),
        #[cfg(target_arch = "x86_64")]
        Kind::Avx2Fma(proof) => ops.split(proof, threads, c),
        #[cfg(target_arch = "x86_64")]
        Kind::Avx512(proof) => ops.split(proof, threads, c),
    }
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
    /// All of `c` (`[m, n]`), its rows split into `threads` parts of whole
    /// `MR` panels (so only the last part has an edge panel).
    fn split<K: MicroKernel>(&self, kernel: K, threads: usize, c: &mut [f32]) {
        let m = c.len() / self.n;
        let panels = m.div_ceil(K::MR);
        let rows_per_part = panels.div_ceil(threads.clamp(1, panels)) * K::MR;
        if rows_per_part >= m {
            return self.rows(kernel, 0, c);
        }
        super::threads::run_parts_mut([c], rows_per_part * self.n, |start, [rows]| {
            self.rows(kernel, start / self.n, rows)
        });
    }

    /// Computes rows `first_row..first_row + c_rows.len() / n` of `C` into
    /// `c_rows` (the BLIS loop nest of the module docs).
    fn rows<K: MicroKernel>(&self, kernel: K, first_row: usize, c_rows: &mut [f32]) {
        let (k, n) = (self.k, self.n);
        let row_count = c_rows.len() / n;
        if k == 0 {
            c_rows.fill(0.0); // an empty sum
            return;
        }
        let mut a_buf = PackBuffer::take(MC.min(row_count.next_multiple_of(K::MR)) * KC.min(k));
        let mut b_buf = PackBuffer::take(KC.min(k) * NC.min(n.next_multiple_of(K::NR)));
        let (a_pack, b_pack) = (a_buf.as_mut_slice(), b_buf.as_mut_slice());
        for j0 in (0..n).step_by(NC) {
            let nc = NC.min(n - j0);
            for p0 in (0..k).step_by(KC) {
                let kc = KC.min(k - p0);
                kernel.simd(
                    #[inline(always)]
                    || pack_b(kernel, self.b, p0, kc, j0, nc, b_pack),
                );
                for i0 in (0..row_count).step_by(MC) {
                    let mc = MC.min(row_count - i0);
                    kernel.simd(
                        #[inline(always)]
                        || pack_a(kernel, self.a, first_row + i0, mc, p0, kc, a_pack),
                    );
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
    #[inline(always)]
    fn run<K: MicroKernel>(
        &self,
        kernel: K,
        a_pack: &[f32],
        b_pack: &[f32],
        c: &mut [f32],
        ldc: usize,
    ) {
        let kc = self.kc;
        for j in (0..self.nc).step_by(K::NR) {
            let b_panel = &b_pack[j * kc..(j + K::NR) * kc];
            for i in (0..self.mc).step_by(K::MR) {
                let a_panel = &a_pack[i * kc..(i + K::MR) * kc];
                let live = (K::MR.min(self.mc - i), K::NR.min(self.nc - j));
                kernel.tile(
                    kc,
                    a_panel,
                    b_panel,
                    &mut c[i * ldc + j..],
                    ldc,
                    live,
                    self.accumulate,
                );
            }
        }
    }
}
