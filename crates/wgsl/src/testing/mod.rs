//! Helpers for tests that need a GPU: getting one (or skipping), the same
//! random data on the GPU and on a reference backend, comparing results,
//! and checking what a training step costs.
//!
//! The reference is any `Backend<Elem = f32>`, in practice the plain
//! reference backend, `Reference<f32>`:
//!
//! ```no_run
//! use minimax_autodiff::{Backend, Reference, Shape, Unary};
//! use minimax_wgsl::testing::{assert_close_to, gpu_or_skip, pair};
//!
//! # fn tanh_matches_the_cpu() {
//! let Some(gpu) = gpu_or_skip("tanh_matches_the_cpu") else { return };
//! let cpu = Reference::<f32>::new();
//! let (x_cpu, x) = pair(&cpu, &gpu, Shape::new(7, 65), -4.0, 4.0, 1);
//! let (want, got) = (cpu.unary(Unary::Tanh, &x_cpu), gpu.unary(Unary::Tanh, &x));
//! assert_close_to("tanh", &gpu, &got, &cpu, &want, 1e-5, 1e-6);
//! # }
//! ```

pub mod checks;

use crate::{Stats, Wgpu, WgpuTensor};
use minimax_autodiff::{Backend, Dist, Shape, TensorShape};

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

/// [`gpu_or_skip`] through [`Wgpu::new_async`], for the tests of the
/// asynchronous paths: the same skip line, the same `MINIMAX_REQUIRE_GPU`.
/// (In a browser a missing WebGPU is always a failure: the browser tests
/// call [`Wgpu::new_async`] and panic on its error.)
pub async fn gpu_or_skip_async(test: &str) -> Option<Wgpu> {
    let value = std::env::var("MINIMAX_REQUIRE_GPU").ok();
    let required = require_gpu(value.as_deref()).unwrap_or_else(|e| panic!("{test}: {e}"));
    match Wgpu::new_async().await {
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

/// A `wgpu` device and queue of their own, on the adapter [`Wgpu::new`]
/// picks, for a test that builds a pipeline itself (a variant of a kernel,
/// see [`shader_source`]). Errors on it panic, wgpu's default. Call it
/// after [`gpu_or_skip`] found an adapter; panics if there is none.
pub fn raw_device() -> (wgpu::Device, wgpu::Queue) {
    let (device, queue, _) = crate::device::open().expect("an adapter (gpu_or_skip found one)");
    (device, queue)
}

/// The WGSL the backend compiles the kernels of shader `file` from (such as
/// `"random.wgsl"`): the file, any file appended to it, and the generated
/// declarations of the codes it uses by name. Panics if no kernel is
/// compiled from `file`.
pub fn shader_source(file: &str) -> String {
    crate::kernels::source_of(file).unwrap_or_else(|| panic!("no kernel is compiled from {file}"))
}

/// The same random `shape` data on `reference` and on `gpu`, uniform on
/// `[lo, hi)`: drawn by `reference`, then uploaded to the GPU.
pub fn pair<R: Backend<Elem = f32>>(
    reference: &R,
    gpu: &Wgpu,
    shape: Shape,
    lo: f64,
    hi: f64,
    seed: u64,
) -> (R::Tensor, WgpuTensor) {
    let r = reference.random(shape, Dist::Uniform { lo, hi }, seed);
    let g = gpu.upload(shape, &reference.download(&r).unwrap()).unwrap();
    (r, g)
}

/// Every combination of `(transpose_a, transpose_b)` of a product.
pub const TRANSPOSES: [(bool, bool); 4] =
    [(false, false), (true, false), (false, true), (true, true)];

/// Downloads a GPU tensor, panicking on an error.
pub fn download(gpu: &Wgpu, t: &WgpuTensor) -> Vec<f32> {
    gpu.download(t).unwrap()
}

/// Whether `x` passes for `y`: equal (infinities included), or
/// `|x - y| ≤ atol + rtol · |y|`, or, if `nan` is set, both NaN.
fn close(x: f32, y: f32, rtol: f32, atol: f32, nan: bool) -> bool {
    (nan && x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= atol + rtol * y.abs()
}

/// Asserts `got` is `want` elementwise up to `|got - want| ≤ atol + rtol ·
/// |want|`; equal values pass (equal infinities too), a NaN fails.
#[track_caller]
pub fn assert_close(what: &str, got: &[f32], want: &[f32], rtol: f32, atol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (&x, &y)) in got.iter().zip(want).enumerate() {
        assert!(close(x, y, rtol, atol, false), "{what}: element {i}: got {x}, want {y}");
    }
}

/// Asserts every value of `values`, a reference result, is finite: for a
/// test whose point is that the result stays finite, before comparing.
#[track_caller]
pub fn assert_finite(what: &str, values: &[f32]) {
    for (i, y) in values.iter().enumerate() {
        assert!(y.is_finite(), "{what}: element {i} is {y} on the reference");
    }
}

/// Asserts the GPU tensor `got` has the shape of `want`, computed by
/// `reference`, and its values as [`assert_close`] does, except that a NaN
/// passes where `want` has one.
#[track_caller]
pub fn assert_close_to<R: Backend<Elem = f32>>(
    what: &str,
    gpu: &Wgpu,
    got: &WgpuTensor,
    reference: &R,
    want: &R::Tensor,
    rtol: f32,
    atol: f32,
) {
    assert_eq!(got.shape(), want.shape(), "{what}: shapes");
    let (x, y) = (download(gpu, got), reference.download(want).unwrap());
    assert_values_close(what, want.shape(), &x, &y, rtol, atol);
}

/// The elementwise comparison of [`assert_close_to`] and
/// [`assert_close_to_async`]: GPU values `x` against reference values `y`.
#[track_caller]
fn assert_values_close(what: &str, shape: Shape, x: &[f32], y: &[f32], rtol: f32, atol: f32) {
    for (i, (&x, &y)) in x.iter().zip(y).enumerate() {
        let ok = close(x, y, rtol, atol, true);
        assert!(ok, "{what}: element {i} of {shape}: gpu {x} vs reference {y}");
    }
}

/// [`assert_close_to`] reading `got` back with [`Wgpu::download_async`]:
/// the comparison the browser tests make, where a blocking download is an
/// error. (A panic here names the comparison, `what`: `#[track_caller]`
/// does not reach through an `async fn`.)
pub async fn assert_close_to_async<R: Backend<Elem = f32>>(
    what: &str,
    gpu: &Wgpu,
    got: &WgpuTensor,
    reference: &R,
    want: &R::Tensor,
    rtol: f32,
    atol: f32,
) {
    assert_eq!(got.shape(), want.shape(), "{what}: shapes");
    let x = gpu.download_async(got).await.unwrap_or_else(|e| panic!("{what}: {e}"));
    let y = reference.download(want).unwrap();
    assert_values_close(what, want.shape(), &x, &y, rtol, atol);
}

/// Asserts the GPU tensor `got` is `want`, computed by `reference`, bit for
/// bit: the same shape and the same `f32` bits.
#[track_caller]
pub fn assert_same_bits<R: Backend<Elem = f32>>(
    what: &str,
    gpu: &Wgpu,
    got: &WgpuTensor,
    reference: &R,
    want: &R::Tensor,
) {
    assert_eq!(got.shape(), want.shape(), "{what}: shapes");
    let (x, y) = (download(gpu, got), reference.download(want).unwrap());
    for (i, (&x, &y)) in x.iter().zip(&y).enumerate() {
        let shape = want.shape();
        assert_eq!(x.to_bits(), y.to_bits(), "{what}: element {i} of {shape}: gpu {x} vs {y}");
    }
}

/// Asserts `step`, the counters of one training step in steady state, show
/// the cost model of the backend: one compute pass and one submit, no copy
/// (the updates are in place), no bind group created (the cache serves
/// them), no buffer created (the pool serves them), no readback.
#[track_caller]
pub fn assert_steady_step(what: &str, step: &Stats) {
    let counts = (step.passes, step.submits, step.copies, step.bind_groups_created);
    let (buffers, readbacks) = (step.buffers_allocated, step.readbacks);
    assert_eq!(counts, (1, 1, 0, 0), "{what}: passes, submits, copies, bind groups: {step}");
    assert_eq!((buffers, readbacks), (0, 0), "{what}: buffers allocated, readbacks: {step}");
}

/// The Adam dispatches a step on `gpu` takes beyond the budget's: budgets
/// count Adam as [`Backend::adam_step_many`] with six tensors a dispatch;
/// where the device cannot bind that many buffers (OpenGL on some drivers),
/// it takes `⌈n / per⌉ - ⌈n / 6⌉` more for each network of `n` parameter
/// tensors (`networks` lists them), `per` tensors a dispatch.
pub fn extra_adam_dispatches(gpu: &Wgpu, networks: &[usize]) -> u64 {
    let per = gpu.adam_tensors_per_dispatch();
    networks.iter().map(|&n| n.div_ceil(per).saturating_sub(n.div_ceil(6)) as u64).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn close_takes_equal_values_and_the_tolerance_and_nan_only_when_asked() {
        assert!(close(1.0, 1.0, 0.0, 0.0, false));
        assert!(close(f32::INFINITY, f32::INFINITY, 0.0, 0.0, false));
        assert!(close(1.0 + 1e-6, 1.0, 1e-5, 0.0, false));
        assert!(!close(1.1, 1.0, 1e-5, 1e-6, false));
        assert!(!close(f32::NAN, f32::NAN, 1.0, 1.0, false));
        assert!(close(f32::NAN, f32::NAN, 0.0, 0.0, true));
        assert!(!close(f32::NAN, 1.0, 1.0, 1.0, true));
    }
}
