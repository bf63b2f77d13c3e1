//! A benchmark, not a test: what one dispatch costs on the browser's
//! WebGPU device, by kernel and size. Run by `benches/browser_dispatch.sh`
//! (never by the test suite); it prints `RESULT` lines and asserts only
//! that every kernel ran.
//!
//! On this project's CI machines WebGPU is SwiftShader (Vulkan on the CPU),
//! where these figures explain the page's WebGPU speed (BENCHMARKS.md).
//! Each case records `ROUNDS` dispatches back to back (as a training step
//! records its work), submits them with one readback, and divides.

#![cfg(target_arch = "wasm32")]

use minimax_autodiff::{Backend, Shape, Unary};
use minimax_wgsl::{MatmulKernel, Wgpu, WgpuTensor};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// Dispatches per timed case.
const ROUNDS: usize = 200;

/// Milliseconds since the page opened.
fn now() -> f64 {
    js_sys::Date::now()
}

/// The mean milliseconds per dispatch of `ROUNDS` calls of `op`.
async fn per_dispatch(gpu: &Wgpu, op: impl Fn() -> WgpuTensor) -> f64 {
    gpu.download_async(&op()).await.unwrap(); // warm: the pipeline compiles here
    let t0 = now();
    let mut last = None;
    for _ in 0..ROUNDS {
        last = Some(op());
    }
    let out = gpu.download_async(&last.unwrap()).await.unwrap();
    assert!(out.iter().all(|v| v.is_finite()));
    (now() - t0) / ROUNDS as f64
}

#[wasm_bindgen_test]
async fn dispatch_costs() {
    let gpu = Wgpu::new_async().await.unwrap_or_else(|e| panic!("WebGPU is required here: {e}"));
    let ones = |r: usize, c: usize| gpu.upload(Shape::new(r, c), &vec![0.5f32; r * c]).unwrap();
    console_log!("adapter: {}", gpu.adapter_summary());
    for (rows, cols) in [(1, 1), (128, 32), (256, 64)] {
        let x = ones(rows, cols);
        let ms = per_dispatch(&gpu, || gpu.unary(Unary::Tanh, &x)).await;
        console_log!(
            "RESULT bench=browser_dispatch op=tanh shape={rows}x{cols} ms_per_dispatch={ms:.3}"
        );
    }
    // The products of a 2-D GAN's hidden layer: [batch, width] · [width, width].
    for (m, k) in [(128, 32), (256, 64)] {
        let (a, b) = (ones(m, k), ones(k, k));
        for (name, kernel) in [
            ("naive", MatmulKernel::Naive),
            ("tiled", MatmulKernel::Tiled),
            ("small", MatmulKernel::Small),
        ] {
            let ms =
                per_dispatch(&gpu, || gpu.matmul_with(kernel, &a, false, &b, false).unwrap()).await;
            console_log!(
                "RESULT bench=browser_dispatch op=matmul kernel={name} m={m} k={k} n={k} ms_per_dispatch={ms:.3} mflops={:.0}",
                2.0 * (m * k * k) as f64 / (ms * 1e3)
            );
        }
    }
}
