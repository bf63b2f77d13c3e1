//! The asynchronous paths, natively: `Wgpu::new_async`,
//! `Wgpu::download_async` and `Wgpu::download_many_async`, driven by
//! pollster, give what the blocking `Wgpu::new` and `download` give, bit for
//! bit, and keep the cost model: a step and its readback are one submit.
//! (The same futures run in the browser in `tests/browser.rs`.)
//!
//! GPU from `gpu_or_skip_async`: skipped without an adapter unless
//! `MINIMAX_REQUIRE_GPU=1`.

#![cfg(not(target_arch = "wasm32"))]

use minimax_autodiff::{Backend, Reference, Shape, Unary};
use minimax_wgsl::testing::{gpu_or_skip_async, pair};
use minimax_wgsl::Wgpu;

const CPU: Reference<f32> = Reference::new();

/// The GPU for `test`, opened by `new_async`, or `None` (skipped).
fn gpu(test: &str) -> Option<Wgpu> {
    pollster::block_on(gpu_or_skip_async(test))
}

/// The bits of `values`, to compare exactly (NaN included).
fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn new_async_opens_the_adapter_new_opens() {
    let Some(gpu) = gpu("new_async_opens_the_adapter_new_opens") else { return };
    let blocking = Wgpu::new().unwrap();
    assert_eq!(gpu.adapter_summary(), blocking.adapter_summary());
    assert_eq!(gpu.max_tensor_bytes(), blocking.max_tensor_bytes());
    assert_eq!(gpu.adam_tensors_per_dispatch(), blocking.adam_tensors_per_dispatch());
}

#[test]
fn download_async_gives_the_bits_download_gives_on_awkward_shapes() {
    let Some(gpu) = gpu("download_async_gives_the_bits_download_gives_on_awkward_shapes") else {
        return;
    };
    for (i, &(r, c)) in [(1, 1), (1, 7), (7, 63), (64, 65), (257, 3), (0, 5)].iter().enumerate() {
        let (_, x) = pair(&CPU, &gpu, Shape::new(r, c), -3.0, 3.0, i as u64);
        let y = gpu.unary(Unary::Tanh, &x); // recorded, not yet submitted
        let got = pollster::block_on(gpu.download_async(&y)).unwrap();
        let want = gpu.download(&y).unwrap();
        assert_eq!(got.len(), r * c, "[{r}, {c}]");
        assert_eq!(bits(&got), bits(&want), "tanh of [{r}, {c}]");
    }
}

#[test]
fn download_many_async_reads_every_tensor_in_one_submit() {
    let Some(gpu) = gpu("download_many_async_reads_every_tensor_in_one_submit") else { return };
    let shapes = [Shape::new(7, 65), Shape::scalar(), Shape::new(0, 3), Shape::new(64, 1)];
    let xs: Vec<_> = shapes
        .iter()
        .enumerate()
        .map(|(i, &s)| pair(&CPU, &gpu, s, -1.0, 1.0, 10 + i as u64).1)
        .collect();
    gpu.sync().unwrap();
    // A "step": ops recorded after the last submit, then its readback.
    let ys: Vec<_> = xs.iter().map(|x| gpu.unary(Unary::Exp, x)).collect();
    let refs: Vec<_> = ys.iter().collect();
    gpu.reset_stats();
    let got = pollster::block_on(gpu.download_many_async(&refs)).unwrap();
    let stats = gpu.stats();
    assert_eq!(stats.submits, 1, "the step and its readback in one submit: {stats}");
    assert_eq!(stats.readbacks, 3, "one readback per non-empty tensor: {stats}");
    assert_eq!(got.len(), ys.len());
    for (i, (got, y)) in got.iter().zip(&ys).enumerate() {
        assert_eq!(bits(got), bits(&gpu.download(y).unwrap()), "tensor {i} of {}", shapes[i]);
    }
    // Nothing at all asked for: nothing submitted, nothing read.
    gpu.reset_stats();
    assert!(pollster::block_on(gpu.download_many_async(&[])).unwrap().is_empty());
    assert_eq!((gpu.stats().submits, gpu.stats().readbacks), (0, 0));
}

#[test]
fn the_readback_buffers_go_back_to_the_pool_unmapped() {
    let Some(gpu) = gpu("the_readback_buffers_go_back_to_the_pool_unmapped") else { return };
    let (_, x) = pair(&CPU, &gpu, Shape::new(7, 7), 0.0, 1.0, 3);
    let first = pollster::block_on(gpu.download_many_async(&[&x, &x])).unwrap();
    gpu.reset_stats();
    // The same readbacks again reuse the two buffers (a buffer left mapped
    // could not be mapped again: the second round would be an error).
    for _ in 0..3 {
        let again = pollster::block_on(gpu.download_many_async(&[&x, &x])).unwrap();
        assert_eq!(bits(&again[0]), bits(&first[0]));
        assert_eq!(bits(&again[1]), bits(&first[0]));
    }
    assert_eq!(gpu.stats().buffers_allocated, 0, "{}", gpu.stats());
}

#[test]
fn download_async_returns_the_error_of_the_op_that_failed() {
    let Some(gpu) = gpu("download_async_returns_the_error_of_the_op_that_failed") else { return };
    let over = (gpu.max_tensor_bytes() / 4 + 1) as usize; // one f32 too many
    let x = gpu.fill(Shape::new(1, over), 1.0);
    let (_, ok) = pair(&CPU, &gpu, Shape::new(1, 3), 0.0, 1.0, 4);
    let err = pollster::block_on(gpu.download_many_async(&[&ok, &x])).unwrap_err().to_string();
    assert!(err.contains("fill") && err.contains(&format!("[1, {over}]")), "{err}");
    // Reported once; the tensor stays unusable and says so, as download does.
    let err = pollster::block_on(gpu.download_async(&x)).unwrap_err().to_string();
    assert!(err.contains("no storage"), "{err}");
    // And the backend still works.
    assert_eq!(pollster::block_on(gpu.download_async(&ok)).unwrap(), gpu.download(&ok).unwrap());
}
