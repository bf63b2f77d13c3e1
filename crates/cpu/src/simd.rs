//! The elementwise loops, compiled again with AVX-512 and with AVX2 + FMA,
//! and chosen at run time.
//!
//! The CPU kernels are plain loops written so the compiler vectorises them,
//! but it can only use the instructions of the target's baseline: on x86-64
//! that is SSE2, four `f32` lanes. [`vectorized`] runs a closure through a
//! function compiled with AVX-512 enabled, so the loops inlined into it use
//! sixteen lanes, when the CPU has it; else through one compiled with AVX2
//! and FMA (eight lanes) when the CPU has both (checked per call by
//! `is_x86_feature_detected!`, a cached flag). On any other CPU the closure
//! simply runs as it is.
//!
//! The results are the same bits either way: Rust never fuses a multiply
//! and an add into one FMA by itself (that would change the rounding), and
//! without fast-math the vectoriser may not reorder floating-point
//! operations, so the AVX-512 and AVX2 copies do the same operations in the
//! same order, sixteen or eight elements at a time. (The fast matmul's micro-kernel, which does use
//! FMA, is a separate, explicit kernel: see `gemm/`.)

/// Runs `f` with AVX-512 (else AVX2 and FMA) enabled for the code inlined
/// into it, if this CPU has it; otherwise runs it as compiled for the
/// baseline.
///
/// Only code *inlined* into the AVX2 function gets the wider instructions,
/// and the compiler does not always inline a closure with a large body. So
/// callers mark the closure `#[inline(always)]` (and the functions it calls
/// with loops in them too): `vectorized(#[inline(always)] || loop_here())`.
#[inline]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if let Some(proof) = super::gemm::Avx512::detect() {
        return proof.vectorized(f);
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(proof) = super::gemm::Avx2Fma::detect() {
        return proof.vectorized(f);
    }
    f()
}
