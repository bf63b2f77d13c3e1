//! The two environment variables the GPU backend reads, `WGPU_BACKEND` and
//! `MINIMAX_REQUIRE_GPU`: a value that is not understood is an error that
//! names it and lists the accepted ones, never silently ignored.
//!
//! One test function, in a test binary of its own: it sets environment
//! variables, which every other test of a binary running in parallel would
//! see.

use minimax_autodiff::Error;
use minimax_wgsl::testing::gpu_or_skip;
use minimax_wgsl::Wgpu;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The message of the panic of `f`, if it panicked (not printed).
fn panic_message(f: impl FnOnce()) -> Option<String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = catch_unwind(AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    let payload = result.err()?;
    Some(payload.downcast_ref::<String>().cloned().unwrap_or_default())
}

#[test]
fn environment_variables_are_understood_or_refused_by_name() {
    // SAFETY (edition 2021: set_var is safe to call, but not thread-safe):
    // this binary runs only this test, on one thread.
    std::env::set_var("WGPU_BACKEND", "bogus");
    let err = Wgpu::new().unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Device(_)), "{message}");
    // Not the bare "no GPU adapter found (backends Backends(0x0) …".
    for part in ["WGPU_BACKEND", "bogus", "vulkan", "gl", "metal", "dx12"] {
        assert!(message.contains(part), "{part}: {message}");
    }
    std::env::set_var("WGPU_BACKEND", "vulkan,nope");
    let message = Wgpu::new().unwrap_err().to_string();
    assert!(message.contains("nope") && !message.contains("`vulkan`"), "{message}");
    std::env::set_var("WGPU_BACKEND", "bogus");

    // With no adapter (WGPU_BACKEND=bogus), gpu_or_skip skips, unless
    // MINIMAX_REQUIRE_GPU asks for a GPU: 1, true or yes, in any case.
    for yes in ["1", "true", "TRUE", "yes", "Yes"] {
        std::env::set_var("MINIMAX_REQUIRE_GPU", yes);
        let message = panic_message(|| drop(gpu_or_skip("env_test")));
        let message = message.unwrap_or_else(|| panic!("MINIMAX_REQUIRE_GPU={yes} was ignored"));
        assert!(message.contains("bogus"), "{message}");
    }
    for no in ["0", "false", "no", "NO", ""] {
        std::env::set_var("MINIMAX_REQUIRE_GPU", no);
        assert!(gpu_or_skip("env_test").is_none(), "MINIMAX_REQUIRE_GPU={no:?}");
    }
    std::env::remove_var("MINIMAX_REQUIRE_GPU");
    assert!(gpu_or_skip("env_test").is_none(), "MINIMAX_REQUIRE_GPU unset");
    // Anything else is refused, named, with the accepted values.
    std::env::set_var("MINIMAX_REQUIRE_GPU", "maybe");
    let message = panic_message(|| drop(gpu_or_skip("env_test"))).expect("maybe was ignored");
    for part in ["MINIMAX_REQUIRE_GPU", "maybe", "true", "false"] {
        assert!(message.contains(part), "{part}: {message}");
    }
    std::env::remove_var("MINIMAX_REQUIRE_GPU");
    std::env::remove_var("WGPU_BACKEND");
}
