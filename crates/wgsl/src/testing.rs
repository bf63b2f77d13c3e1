//! Helpers for tests that need a GPU.

use crate::Wgpu;

/// The GPU backend for test `test`, or `None` when there is no adapter.
///
/// Without an adapter it prints one line, `skipped <test>: <reason>`, and
/// returns `None`, so the test can return early; but if the environment
/// sets `MINIMAX_REQUIRE_GPU` to `1`, `true` or `yes` (any case; CI sets
/// `1`) it panics with the adapter error instead: a missing GPU is then a
/// failure, never a silent pass. `0`, `false`, `no` or empty mean not
/// required; any other value panics, naming it (a typo must not turn the
/// requirement off).
///
/// ```no_run
/// # fn my_test() {
/// let Some(gpu) = minimax_wgsl::testing::gpu_or_skip("my_test") else { return };
/// # let _ = gpu; }
/// ```
pub fn gpu_or_skip(test: &str) -> Option<Wgpu> {
    let value = std::env::var("MINIMAX_REQUIRE_GPU").ok();
    let required = require_gpu(value.as_deref()).unwrap_or_else(|e| panic!("{test}: {e}"));
    match Wgpu::new() {
        Ok(gpu) => Some(gpu),
        Err(e) if required => {
            panic!("{test}: MINIMAX_REQUIRE_GPU={} but there is no usable GPU: {e}", value.unwrap())
        }
        Err(e) => {
            println!("skipped {test}: {e}");
            None
        }
    }
}

/// The WGSL the backend compiles the kernels of shader `file` from (such as
/// `"random.wgsl"`): the file, any file appended to it, and the generated
/// declarations of the codes it uses by name, for a test that builds a
/// variant of a kernel's pipeline itself. Panics if no kernel is compiled
/// from `file`.
pub fn shader_source(file: &str) -> String {
    crate::kernels::source_of(file).unwrap_or_else(|| panic!("no kernel is compiled from {file}"))
}

/// Whether `MINIMAX_REQUIRE_GPU`, set to `value`, requires a GPU.
fn require_gpu(value: Option<&str>) -> Result<bool, String> {
    let Some(value) = value else { return Ok(false) };
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Ok(true),
        "0" | "false" | "no" | "" => Ok(false),
        _ => Err(format!(
            "MINIMAX_REQUIRE_GPU={value:?} is not understood: 1, true or yes require a GPU; \
             0, false, no or empty do not"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::require_gpu;

    #[test]
    fn require_gpu_accepts_the_usual_spellings_and_refuses_others() {
        for yes in ["1", "true", "TRUE", "yes", " Yes "] {
            assert_eq!(require_gpu(Some(yes)), Ok(true), "{yes}");
        }
        for no in [None, Some("0"), Some("false"), Some("No"), Some("")] {
            assert_eq!(require_gpu(no), Ok(false), "{no:?}");
        }
        let err = require_gpu(Some("maybe")).unwrap_err();
        assert!(err.contains("\"maybe\"") && err.contains("true"), "{err}");
    }
}
