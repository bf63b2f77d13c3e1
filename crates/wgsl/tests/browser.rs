//! The GPU kernels inside a browser, on WebGPU: the same checks as the
//! native GPU tests (`gpu_kernels.rs`, `gpu_conv.rs`, `gpu_rows.rs`), each
//! against `Reference<f32>` on the same inputs and at the same tolerances,
//! on the awkward shapes (1, 7, 63, 64, 65, 257), forward and backward.
//!
//! Run by `scripts/browser-tests.sh`: the test is compiled to
//! `wasm32-unknown-unknown` and `wasm-bindgen-test-runner` runs it in
//! headless Chromium through chromedriver (WebGPU there on SwiftShader, a
//! CPU implementation of Vulkan). Every readback is
//! [`Wgpu::download_async`]: in a browser the blocking one is an error (the
//! first test checks it says so). A browser without WebGPU fails every
//! test: there is no skip here.

#![cfg(target_arch = "wasm32")]

use minimax_autodiff::{
    AdamStep, AdamTensors, Backend, ConvGeometry, Dist, RefTensor, Reference, Shape, Tape,
    TensorShape, Unary,
};
use minimax_wgsl::testing::{assert_close, assert_close_to_async, checks, pair};
use minimax_wgsl::{ConvKernel, Wgpu, WgpuTensor};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const CPU: Reference<f32> = Reference::new();

/// The page's WebGPU device; a browser without one fails the test, naming
/// why (`navigator.gpu` missing, no adapter).
async fn gpu() -> Wgpu {
    Wgpu::new_async().await.unwrap_or_else(|e| panic!("WebGPU is required here: {e}"))
}

/// A GPU tensor's values, read back the browser's way.
async fn get(gpu: &Wgpu, t: &WgpuTensor) -> Vec<f32> {
    gpu.download_async(t).await.unwrap()
}

// ---------------------------------------------------------------------------
// The device, and the blocking calls a browser cannot make
// ---------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn the_blocking_calls_are_clear_errors_and_the_async_ones_work() {
    let err = Wgpu::new().unwrap_err().to_string();
    assert!(err.contains("new_async"), "{err}");
    let gpu = gpu().await;
    let x = gpu.upload(Shape::new(1, 3), &[1.0, -2.0, 3.5]).unwrap();
    let y = gpu.unary(Unary::Neg, &x);
    let err = gpu.download(&y).unwrap_err().to_string();
    assert!(
        err.contains("cannot complete in a browser") && err.contains("download_async"),
        "{err}"
    );
    let err = gpu.sync().unwrap_err().to_string();
    assert!(err.contains("download_async"), "{err}");
    // The work recorded before the failed calls is still there to read.
    assert_eq!(get(&gpu, &y).await, [-1.0, 2.0, -3.5]);
    // Several tensors: one submit (the step and its readback), one readback
    // each (none for an empty one).
    let e = gpu.upload(Shape::new(0, 4), &[]).unwrap();
    let z = gpu.unary(Unary::Exp, &x);
    gpu.reset_stats();
    let got = gpu.download_many_async(&[&y, &e, &z]).await.unwrap();
    let stats = gpu.stats();
    assert_eq!((stats.submits, stats.readbacks), (1, 2), "{stats}");
    assert_eq!(got[0], [-1.0, 2.0, -3.5]);
    assert!(got[1].is_empty());
    assert_eq!(got[2].len(), 3);
    assert!(gpu.adapter_summary().contains("BrowserWebGpu"), "{}", gpu.adapter_summary());
    let (summary, per) = (gpu.adapter_summary(), gpu.adam_tensors_per_dispatch());
    wasm_bindgen_test::console_log!("adapter {summary}: Adam updates {per} tensors a dispatch");
}

// ---------------------------------------------------------------------------
// matmul
// ---------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn matmul_matches_the_cpu_for_every_kernel_and_transpose() {
    checks::matmul_every_kernel_and_transpose(&gpu().await).await;
}

// ---------------------------------------------------------------------------
// Elementwise maps, forward and backward; binary ops with broadcasts
// ---------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn unary_forward_and_backward_match_the_cpu_for_every_op() {
    checks::unary_forward_and_backward(&gpu().await).await;
}

#[wasm_bindgen_test]
async fn binary_matches_the_cpu_with_every_broadcast() {
    checks::binary_with_every_broadcast(&gpu().await).await;
}

// ---------------------------------------------------------------------------
// A layer's fused forward and backward, with and without bias and activation
// ---------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn the_fused_layer_forward_and_backward_match_the_cpu() {
    // Without a bias or an activation these kernels leave a writable
    // binding unused; what is bound there must not alias an output (WebGPU
    // refuses that, native wgpu does not check).
    let gpu = gpu().await;
    for (batch, inputs, outputs) in [(1, 1, 1), (7, 63, 65), (64, 5, 1), (65, 257, 7)] {
        let (x_cpu, x) = pair(&CPU, &gpu, Shape::new(batch, inputs), -1.0, 1.0, 1);
        let (w_cpu, w) = pair(&CPU, &gpu, Shape::new(inputs, outputs), -1.0, 1.0, 2);
        let (b_cpu, b) = pair(&CPU, &gpu, Shape::new(1, outputs), -1.0, 1.0, 3);
        let (dy_cpu, dy) = pair(&CPU, &gpu, Shape::new(batch, outputs), -1.0, 1.0, 4);
        for act in [None, Some(Unary::Tanh), Some(Unary::LeakyRelu(0.2))] {
            for bias in [false, true] {
                let what = |part: &str| {
                    format!("linear {part} [{batch}, {inputs}] · [{inputs}, {outputs}] bias {bias} {act:?}")
                };
                let b_cpu = bias.then_some(&b_cpu);
                let (z_cpu, y_cpu) = CPU.linear(&x_cpu, &w_cpu, b_cpu, act).unwrap();
                let (z, y) = gpu.linear(&x, &w, bias.then_some(&b), act).unwrap();
                let atol = 1e-6 * inputs as f32;
                assert_close_to_async(&what("z"), &gpu, &z, &CPU, &z_cpu, 1e-5, atol).await;
                assert_close_to_async(&what("y"), &gpu, &y, &CPU, &y_cpu, 1e-5, atol).await;
                let (dz_cpu, db_cpu) =
                    CPU.bias_act_backward(act, &z_cpu, &y_cpu, &dy_cpu, bias).unwrap();
                let (dz, db) = gpu.bias_act_backward(act, &z, &y, &dy, bias).unwrap();
                assert_close_to_async(&what("dz"), &gpu, &dz, &CPU, &dz_cpu, 1e-5, 1e-6).await;
                assert_eq!(db.is_some(), bias, "{}", what("db"));
                if let (Some(db), Some(db_cpu)) = (db, db_cpu) {
                    let atol = 1e-6 * batch as f32;
                    assert_close_to_async(&what("db"), &gpu, &db, &CPU, &db_cpu, 1e-5, atol).await;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Reductions: sums, log-sum-exp, softmax
// ---------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn sums_match_the_cpu_on_every_axis() {
    checks::sums_on_every_axis(&gpu().await).await;
}

#[wasm_bindgen_test]
async fn logsumexp_and_softmax_match_the_cpu_forward_and_backward() {
    let gpu = gpu().await;
    for rows in [1, 7, 64, 65] {
        for cols in [1, 10, 63, 255, 256, 257] {
            for scale in [3.0, 1000.0] {
                let shape = Shape::new(rows, cols);
                let (x_cpu, x) = pair(&CPU, &gpu, shape, -scale, scale, (rows * cols) as u64);
                let want = CPU.logsumexp_rows(&x_cpu);
                let got = get(&gpu, &gpu.logsumexp_rows(&x)).await;
                let what = format!("logsumexp_rows [{rows}, {cols}] of ±{scale}");
                assert_close(&what, &got, want.data(), 1e-5, 1e-5);
            }
            // softmax through the tape: forward, and the gradient of a
            // weighted sum of it (through logsumexp's backward).
            let (x_cpu, x) = pair(&CPU, &gpu, Shape::new(rows, cols), -3.0, 3.0, 7);
            let (w_cpu, w) = pair(&CPU, &gpu, Shape::new(rows, cols), -1.0, 1.0, 8);
            let (want_y, want_dx) = softmax_and_grad(&CPU, x_cpu, w_cpu);
            let (y, dx) = softmax_and_grad(&gpu, x, w);
            let what = format!("softmax_rows [{rows}, {cols}]");
            assert_close_to_async(&what, &gpu, &y, &CPU, &want_y, 1e-5, 1e-6).await;
            let what = format!("softmax_rows' [{rows}, {cols}]");
            assert_close_to_async(&what, &gpu, &dx, &CPU, &want_dx, 1e-4, 1e-5).await;
        }
    }
}

/// `softmax_rows(x)` and the gradient of `Σ w ⊙ softmax_rows(x)` for `x`.
fn softmax_and_grad<B: Backend<Elem = f32>>(
    be: &B,
    x: B::Tensor,
    w: B::Tensor,
) -> (B::Tensor, B::Tensor) {
    let tape = Tape::new(be.clone());
    let x = tape.leaf(x);
    let y = x.softmax_rows().unwrap(); // [rows, cols]
    let loss = y.mul(&tape.constant(w)).unwrap().sum(); // [1, 1]
    let grads = tape.backward(&loss).unwrap();
    (y.value().clone(), grads.get(&x).unwrap().clone())
}

// ---------------------------------------------------------------------------
// Convolutions: the forward and its two backwards, both kernels
// ---------------------------------------------------------------------------

/// The tolerance of a sum of `terms` products of numbers in [-1, 1).
fn atol(terms: usize) -> f32 {
    1e-6 * terms.max(1) as f32
}

#[wasm_bindgen_test]
async fn conv2d_and_its_gradients_match_the_cpu() {
    let gpu = gpu().await;
    let g = ConvGeometry::new;
    // (batch, geometry): 1 × 1 images, odd and non-square ones, strides 1
    // and 2, padding 0 and 1, kernels 1, 3, 4, 5, channels either side of
    // the GEMM's 64-wide tiles, a batch of 65.
    let cases = [
        (1, g(1, 1, (1, 1), 1, 1, 0)),
        (3, g(1, 1, (1, 1), 3, 1, 1)),
        (3, g(3, 7, (7, 5), 3, 1, 1)),
        (7, g(7, 3, (9, 9), 3, 2, 0)),
        (3, g(1, 3, (7, 5), 4, 2, 1)),
        (2, g(3, 1, (13, 13), 5, 2, 1)),
        (65, g(1, 2, (5, 5), 3, 1, 1)),
        (3, g(2, 3, (7, 5), 1, 2, 0)),
        (2, g(63, 65, (4, 4), 3, 1, 1)),
        (1, g(65, 64, (3, 3), 4, 2, 1)),
    ];
    for (seed, (batch, g)) in cases.into_iter().enumerate() {
        let seed = 3 * seed as u64;
        let (x_cpu, x) = pair(&CPU, &gpu, Shape::new(batch, g.in_cols()), -1.0, 1.0, seed);
        let (w_cpu, w) = pair(&CPU, &gpu, g.weight_shape(), -1.0, 1.0, seed + 1);
        let (dy_cpu, dy) = pair(&CPU, &gpu, Shape::new(batch, g.out_cols()), -1.0, 1.0, seed + 2);
        let y_cpu = CPU.conv2d(&x_cpu, &w_cpu, &g).unwrap();
        let dx_cpu = CPU.conv2d_backward_input(&dy_cpu, &w_cpu, &g).unwrap();
        let dw_cpu = CPU.conv2d_backward_weight(&x_cpu, &dy_cpu, &g).unwrap();
        let dx_terms = g.out_channels * g.kernel * g.kernel;
        let dw_terms = batch * g.out_height() * g.out_width();
        for kernel in [ConvKernel::Gemm, ConvKernel::Naive] {
            let what = |op: &str| format!("{kernel:?} {op}, batch {batch}, {g}");
            let y = gpu.conv2d_with(kernel, &x, &w, &g).unwrap();
            let dx = gpu.conv2d_backward_input_with(kernel, &dy, &w, &g).unwrap();
            let dw = gpu.conv2d_backward_weight_with(kernel, &x, &dy, &g).unwrap();
            let tol = atol(g.taps());
            assert_close_to_async(&what("conv2d"), &gpu, &y, &CPU, &y_cpu, 1e-5, tol).await;
            let (what_dx, tol) = (what("conv2d_backward_input"), atol(dx_terms));
            assert_close_to_async(&what_dx, &gpu, &dx, &CPU, &dx_cpu, 1e-5, tol).await;
            let (what_dw, tol) = (what("conv2d_backward_weight"), atol(dw_terms));
            assert_close_to_async(&what_dw, &gpu, &dw, &CPU, &dw_cpu, 1e-5, tol).await;
        }
    }
}

// ---------------------------------------------------------------------------
// Optimizers
// ---------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn sgd_and_adam_steps_match_the_cpu() {
    checks::sgd_and_adam_steps(&gpu().await).await;
}

#[wasm_bindgen_test]
async fn adam_over_many_tensors_matches_the_cpu() {
    // The fused kernel binds 24 storage buffers where the device allows
    // (`web_limits` asks for the adapter's count): six tensors a dispatch.
    let gpu = gpu().await;
    let shapes = [Shape::new(7, 65), Shape::new(1, 1), Shape::new(64, 3), Shape::new(1, 257)];
    let hp = AdamStep { lr: 0.01, beta1: 0.5, beta2: 0.999, eps: 1e-8, t: 7 };
    let d = Dist::Uniform { lo: -1.0, hi: 1.0 };
    let mut cpu: Vec<[RefTensor<f32>; 4]> = shapes
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let i = 10 * i as u64;
            let v = CPU.unary(Unary::Powi(2), &CPU.random(s, d, i + 3));
            [CPU.random(s, d, i), CPU.random(s, d, i + 1), CPU.random(s, d, i + 2), v]
        })
        .collect();
    let up = |t: &RefTensor<f32>| gpu.upload(t.shape(), t.data()).unwrap();
    let mut on_gpu: Vec<[WgpuTensor; 4]> =
        cpu.iter().map(|[p, g, m, v]| [up(p), up(g), up(m), up(v)]).collect();
    let tensors = cpu.iter_mut().map(|[p, g, m, v]| AdamTensors { param: p, grad: &*g, m, v });
    CPU.adam_step_many(tensors, hp).unwrap();
    let tensors = on_gpu.iter_mut().map(|[p, g, m, v]| AdamTensors { param: p, grad: &*g, m, v });
    gpu.adam_step_many(tensors, hp).unwrap();
    for (i, (c, g)) in cpu.iter().zip(&on_gpu).enumerate() {
        for (j, (c, g)) in c.iter().zip(g).enumerate() {
            let what = format!("adam_step_many tensor {i} ({}), state {j}", shapes[i]);
            assert_close_to_async(&what, &gpu, g, &CPU, c, 1e-5, 1e-6).await;
        }
    }
}

// ---------------------------------------------------------------------------
// Through the tape: a small MLP, forward and backward
// ---------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn a_tape_forward_and_backward_of_a_small_mlp_matches_the_cpu() {
    checks::tape_forward_and_backward(&gpu().await).await;
}
