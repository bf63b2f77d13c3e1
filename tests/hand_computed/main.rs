//! Gradients worked out by hand, on every backend.
//!
//! Each case is a generic function `fn case<B: Backend>(be: &B)` in
//! [`ops`] (one or more per op) or [`rows`] (the row-wise ops): it writes
//! the function and its derivative in a comment, works the numbers at a
//! point chosen so the arithmetic is exact in binary floating point, and
//! asserts the tape gives exactly those numbers (see `ops.rs`'s opening).
//!
//! [`on_every_backend!`] turns each case into one `#[test]` per backend, in
//! a module named after it (the idea of candle's `test_device!`):
//!
//! - `reference_f64`, `reference_f32`: the plain reference backend;
//! - `cpu_f64`, `cpu_f32`: the tuned CPU backend;
//! - `gpu` (feature `gpu`): the WGSL backend (`f32`). Skipped with one
//!   printed line where there is no adapter, unless `MINIMAX_REQUIRE_GPU=1`,
//!   which turns a missing GPU into a failure.
//!
//! So `cargo test --release --test hand_computed gpu::` runs the GPU's, and
//! `… matmul_2x2` one case on all five. The asserts are the same on every
//! backend; where a value rounds in `f32` (a transcendental function, a
//! value such as 1/6 or ln 2 that `f32` cannot hold) the tolerance is
//! chosen per element type ([`common::tol`], [`common::assert_eq_in_f64`]):
//! an `f64` backend is held to the `f64` tolerance, never a looser one.

/// One `#[test] fn case()` per backend for each generic `case` named, in
/// modules `reference_f64`, `reference_f32`, `cpu_f64`, `cpu_f32` and (with
/// feature `gpu`) `gpu`, next to the cases.
macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        on_every_backend!(@on reference_f64, minimax::autodiff::Reference<f64>; $($case),*);
        on_every_backend!(@on reference_f32, minimax::autodiff::Reference<f32>; $($case),*);
        on_every_backend!(@on cpu_f64, minimax::cpu::Cpu<f64>; $($case),*);
        on_every_backend!(@on cpu_f32, minimax::cpu::Cpu<f32>; $($case),*);
        /// The GPU backend (`f32`).
        #[cfg(feature = "gpu")]
        mod gpu {
            $(
                #[test]
                fn $case() {
                    let name = concat!(module_path!(), "::", stringify!($case));
                    let Some(gpu) = minimax::wgsl::testing::gpu_or_skip(name) else { return };
                    super::$case(&gpu);
                }
            )*
        }
    };
    (@on $backend:ident, $backend_type:ty; $($case:ident),*) => {
        #[doc = concat!("On `", stringify!($backend_type), "`.")]
        mod $backend {
            $(
                #[test]
                fn $case() {
                    super::$case(&<$backend_type>::new());
                }
            )*
        }
    };
}

mod common;
mod conv;
mod ops;
mod rows;
