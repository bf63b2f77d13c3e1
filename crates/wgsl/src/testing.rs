//! Helpers for tests that need a GPU.

use crate::Wgpu;

/// The GPU backend for test `test`, or `None` when there is no adapter.
///
/// Without an adapter it prints one line, `skipped <test>: <reason>`, and
/// returns `None`, so the test can return early; but if the environment
/// sets `MINIMAX_REQUIRE_GPU=1` (as CI does) it panics with the adapter
/// error instead: a missing GPU is then a failure, never a silent pass.
///
/// ```no_run
/// # fn my_test() {
/// let Some(gpu) = minimax_wgsl::testing::gpu_or_skip("my_test") else { return };
/// # let _ = gpu; }
/// ```
pub fn gpu_or_skip(test: &str) -> Option<Wgpu> {
    match Wgpu::new() {
        Ok(gpu) => Some(gpu),
        Err(e) if std::env::var("MINIMAX_REQUIRE_GPU").as_deref() == Ok("1") => {
            panic!("{test}: MINIMAX_REQUIRE_GPU=1 but there is no usable GPU: {e}")
        }
        Err(e) => {
            println!("skipped {test}: {e}");
            None
        }
    }
}
