//! Every GPU kernel against the CPU reference, `Reference<f32>`, on random data
//! with awkward shapes: forward and backward, the optimizers, the random
//! draws, the shape errors, and the recording machinery (uploads and kernel
//! parameters must not race the commands recorded before them).
//!
//! The checks that also run in a browser (matmul, unary, binary, sums,
//! the optimizers, a tape's gradients) are written once, in `minimax_wgsl::testing::checks`, and
//! run here under `pollster`.
//!
//! Each test gets its GPU from `gpu_or_skip`: with no adapter it prints
//! `skipped <test>: <reason>` and passes, unless `MINIMAX_REQUIRE_GPU=1`
//! makes that a failure. Shapes are kept small: on lavapipe (a software
//! Vulkan) a dispatch costs ~20 µs and a matmul runs at ~1 GFLOP/s.

use minimax_autodiff::{
    AdamStep, Backend, Binary, Dist, Error, Reference, Shape, TensorShape, Unary,
};
use minimax_wgsl::testing::{assert_close_to, checks, download, gpu_or_skip, pair, TRANSPOSES};
use minimax_wgsl::MatmulKernel;

const CPU: Reference<f32> = Reference::new();

// ---------------------------------------------------------------------------
// matmul
// ---------------------------------------------------------------------------

#[test]
fn matmul_matches_the_cpu_for_every_kernel_and_transpose() {
    let Some(gpu) = gpu_or_skip("matmul_matches_the_cpu_for_every_kernel_and_transpose") else {
        return;
    };
    pollster::block_on(checks::matmul_every_kernel_and_transpose(&gpu));
}

#[test]
fn matmul_with_an_empty_inner_dimension_is_zero() {
    let Some(gpu) = gpu_or_skip("matmul_with_an_empty_inner_dimension_is_zero") else { return };
    let a = gpu.upload(Shape::new(3, 0), &[]).unwrap();
    let b = gpu.upload(Shape::new(0, 5), &[]).unwrap();
    for kernel in [MatmulKernel::Tiled, MatmulKernel::Naive] {
        // Start from a recycled buffer with garbage in it.
        drop(gpu.fill(Shape::new(3, 5), 7.0));
        let c = gpu.matmul_with(kernel, &a, false, &b, false).unwrap();
        assert_eq!(gpu.download(&c).unwrap(), vec![0.0; 15], "{kernel:?}");
    }
}

#[test]
fn a_long_inner_dimension_is_right() {
    let Some(gpu) = gpu_or_skip("a_long_inner_dimension_is_right") else { return };
    // llvmpipe (lavapipe, and wgpu's GL backend on Mesa) stops a shader's
    // loops after 65 535 iterations in all: one dispatch looping over all of
    // k = 70 000 returned 58 255 (tiled) or 65 535 (naive) there. The backend
    // splits k over several dispatches; every backend must get it right
    // (ones: every element is exactly k).
    for k in [20_000, 60_000, 70_000] {
        let a = gpu.fill(Shape::new(3, k), 1.0);
        let b = gpu.fill(Shape::new(k, 2), 1.0);
        for kernel in [MatmulKernel::Tiled, MatmulKernel::Naive] {
            let c = gpu.matmul_with(kernel, &a, false, &b, false).unwrap();
            assert_eq!(gpu.download(&c).unwrap(), vec![k as f32; 6], "{kernel:?}, k = {k}");
        }
    }
}

#[test]
fn shape_errors_are_the_cpus() {
    let Some(gpu) = gpu_or_skip("shape_errors_are_the_cpus") else { return };
    let (c34, g34) = pair(&CPU, &gpu, Shape::new(3, 4), 0.0, 1.0, 1);
    let (c52, g52) = pair(&CPU, &gpu, Shape::new(5, 2), 0.0, 1.0, 2);
    let (c14, g14) = pair(&CPU, &gpu, Shape::new(1, 4), 0.0, 1.0, 3);
    for (ta, tb) in TRANSPOSES {
        let want = CPU.matmul(&c34, ta, &c52, tb).unwrap_err();
        assert_eq!(gpu.matmul(&g34, ta, &g52, tb).unwrap_err(), want);
        let naive = gpu.matmul_with(MatmulKernel::Naive, &g34, ta, &g52, tb).unwrap_err();
        assert_eq!(naive, want);
    }
    for op in [Binary::Add, Binary::Sub, Binary::Mul, Binary::Div] {
        assert_eq!(
            gpu.binary(op, &g34, &g52).unwrap_err(),
            CPU.binary(op, &c34, &c52).unwrap_err()
        );
        // `a` never broadcasts.
        assert_eq!(
            gpu.binary(op, &g14, &g34).unwrap_err(),
            CPU.binary(op, &c14, &c34).unwrap_err()
        );
    }
    let to = Shape::new(3, 5);
    assert_eq!(gpu.broadcast(&g14, to).unwrap_err(), CPU.broadcast(&c14, to).unwrap_err());
    assert_eq!(
        gpu.concat_cols(&[&g34, &g52]).unwrap_err(),
        CPU.concat_cols(&[&c34, &c52]).unwrap_err()
    );
    assert_eq!(gpu.concat_cols(&[]).unwrap_err(), CPU.concat_cols(&[]).unwrap_err());
    assert_eq!(
        gpu.concat_rows(&[&g34, &g52]).unwrap_err(),
        CPU.concat_rows(&[&c34, &c52]).unwrap_err()
    );
    assert_eq!(gpu.slice_rows(&g34, 2, 2).unwrap_err(), CPU.slice_rows(&c34, 2, 2).unwrap_err());
    for (start, len) in [(0, 0), (2, 3), (4, 1)] {
        let want = CPU.slice_cols(&c34, start, len).unwrap_err();
        assert_eq!(gpu.slice_cols(&g34, start, len).unwrap_err(), want);
    }
    assert_eq!(
        gpu.upload(Shape::new(2, 2), &[1.0]).unwrap_err(),
        CPU.upload(Shape::new(2, 2), &[1.0]).unwrap_err()
    );
    let (mut p, mut v) = (g34.clone(), g34.clone());
    let (mut cp, mut cv) = (c34.clone(), c34.clone());
    assert_eq!(
        gpu.sgd_step(&mut p, &g52, &mut v, 0.1, 0.9).unwrap_err(),
        CPU.sgd_step(&mut cp, &c52, &mut cv, 0.1, 0.9).unwrap_err()
    );
    let hp = AdamStep { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, t: 1 };
    let mut m = g34.clone();
    let mut cm = c34.clone();
    assert_eq!(
        gpu.adam_step(&mut p, &g34, &mut m, &mut g14.clone(), hp).unwrap_err(),
        CPU.adam_step(&mut cp, &c34, &mut cm, &mut c14.clone(), hp).unwrap_err()
    );
}

// ---------------------------------------------------------------------------
// Elementwise maps, forward and backward
// ---------------------------------------------------------------------------

#[test]
fn unary_forward_and_backward_match_the_cpu_for_every_op() {
    let Some(gpu) = gpu_or_skip("unary_forward_and_backward_match_the_cpu_for_every_op") else {
        return;
    };
    pollster::block_on(checks::unary_forward_and_backward(&gpu));
}

#[test]
fn unary_ops_stay_finite_at_extreme_inputs() {
    let Some(gpu) = gpu_or_skip("unary_ops_stay_finite_at_extreme_inputs") else { return };
    let xs = [-1000.0, -100.0, -20.0, -1e-6, 0.0, 1e-6, 20.0, 100.0, 1000.0];
    let x_cpu = CPU.upload(Shape::new(1, xs.len()), &xs).unwrap();
    let x = gpu.upload(Shape::new(1, xs.len()), &xs).unwrap();
    let dy_cpu = CPU.fill(x.shape(), 1.0);
    let dy = gpu.fill(x.shape(), 1.0);
    for op in
        [Unary::Tanh, Unary::Sigmoid, Unary::Softplus, Unary::LeakyRelu(0.01), Unary::Elu(1.0)]
    {
        let y_cpu = CPU.unary(op, &x_cpu);
        let y = gpu.unary(op, &x);
        assert_close_to(&format!("{op:?} at extremes"), &gpu, &y, &CPU, &y_cpu, 1e-6, 1e-7);
        let dx_cpu = CPU.unary_backward(op, &x_cpu, &y_cpu, &dy_cpu);
        let dx = gpu.unary_backward(op, &x, &y, &dy);
        assert_close_to(&format!("{op:?}' at extremes"), &gpu, &dx, &CPU, &dx_cpu, 1e-6, 1e-7);
    }
}

#[test]
fn tanh_of_nan_is_nan_in_the_plain_and_the_fused_kernels() {
    let Some(gpu) = gpu_or_skip("tanh_of_nan_is_nan_in_the_plain_and_the_fused_kernels") else {
        return;
    };
    // The kernels clamp tanh's input to ±15, and a clamp of NaN may be the
    // lower bound: tanh(NaN) would come out -1, a finite number.
    let xs = [f32::NAN, -f32::NAN, 0.5, -20.0, f32::INFINITY, f32::NEG_INFINITY];
    let shape = Shape::new(xs.len(), 1);
    let (x_cpu, x) = (CPU.upload(shape, &xs).unwrap(), gpu.upload(shape, &xs).unwrap());
    let dy_cpu = CPU.fill(shape, 1.0);
    let dy = gpu.fill(shape, 1.0);
    let y_cpu = CPU.unary(Unary::Tanh, &x_cpu);
    let y = gpu.unary(Unary::Tanh, &x);
    let dx = gpu.unary_backward(Unary::Tanh, &x, &y, &dy);
    let dx_cpu = CPU.unary_backward(Unary::Tanh, &x_cpu, &y_cpu, &dy_cpu);
    // A layer [6, 1] · [1, 1] + 0 with tanh: its z is x, its y tanh(x).
    let (w_cpu, w) = (CPU.fill(Shape::new(1, 1), 1.0), gpu.fill(Shape::new(1, 1), 1.0));
    let (b_cpu, b) = (CPU.fill(Shape::new(1, 1), 0.0), gpu.fill(Shape::new(1, 1), 0.0));
    let (z, y_fused) = gpu.linear(&x, &w, Some(&b), Some(Unary::Tanh)).unwrap();
    let (z_cpu, y_fused_cpu) = CPU.linear(&x_cpu, &w_cpu, Some(&b_cpu), Some(Unary::Tanh)).unwrap();
    let (dz, _) = gpu.bias_act_backward(Some(Unary::Tanh), &z, &y_fused, &dy, true).unwrap();
    let (dz_cpu, _) =
        CPU.bias_act_backward(Some(Unary::Tanh), &z_cpu, &y_fused_cpu, &dy_cpu, true).unwrap();
    for (what, got, want) in [
        ("tanh", &y, &y_cpu),
        ("tanh'", &dx, &dx_cpu),
        ("fused tanh", &y_fused, &y_fused_cpu),
        ("fused tanh'", &dz, &dz_cpu),
    ] {
        let values = download(&gpu, got);
        assert!(values[0].is_nan() && values[1].is_nan(), "{what}: {values:?}");
        // The rest as on the CPU (a NaN matches only a NaN).
        assert_close_to(what, &gpu, got, &CPU, want, 1e-6, 1e-7);
    }
}

#[test]
fn binary_matches_the_cpu_with_every_broadcast() {
    let Some(gpu) = gpu_or_skip("binary_matches_the_cpu_with_every_broadcast") else { return };
    pollster::block_on(checks::binary_with_every_broadcast(&gpu));
}

// ---------------------------------------------------------------------------
// Reductions and data movement
// ---------------------------------------------------------------------------

#[test]
fn sums_match_the_cpu_on_every_axis() {
    let Some(gpu) = gpu_or_skip("sums_match_the_cpu_on_every_axis") else { return };
    pollster::block_on(checks::sums_on_every_axis(&gpu));
}

#[test]
fn sum_of_ones_is_exact() {
    let Some(gpu) = gpu_or_skip("sum_of_ones_is_exact") else { return };
    // Integers below 2²⁴ add exactly in f32 in any order.
    for n in [1, 255, 256, 257, 65_536, 65_537, 1_000_001] {
        let ones = gpu.fill(Shape::new(1, n), 1.0);
        assert_eq!(gpu.download(&gpu.sum(&ones, None)).unwrap(), vec![n as f32], "n = {n}");
    }
}

#[test]
fn broadcast_transpose_concat_and_slice_match_the_cpu() {
    let Some(gpu) = gpu_or_skip("broadcast_transpose_concat_and_slice_match_the_cpu") else {
        return;
    };
    for (rows, cols) in [(1, 1), (7, 65), (257, 3), (1, 64)] {
        let to = Shape::new(rows, cols);
        for (xr, xc) in [(1, cols), (rows, 1), (1, 1), (rows, cols)] {
            let (x_cpu, x) = pair(&CPU, &gpu, Shape::new(xr, xc), -1.0, 1.0, 5);
            let want = CPU.broadcast(&x_cpu, to).unwrap();
            assert_close_to(
                &format!("broadcast [{xr}, {xc}] to {to}"),
                &gpu,
                &gpu.broadcast(&x, to).unwrap(),
                &CPU,
                &want,
                0.0,
                0.0,
            );
        }
        let (x_cpu, x) = pair(&CPU, &gpu, Shape::new(rows, cols), -1.0, 1.0, 6);
        assert_close_to(
            &format!("transpose {to}"),
            &gpu,
            &gpu.transpose(&x),
            &CPU,
            &CPU.transpose(&x_cpu),
            0.0,
            0.0,
        );
        let (y_cpu, y) = pair(&CPU, &gpu, Shape::new(rows, 5), -1.0, 1.0, 7);
        let (z_cpu, z) = pair(&CPU, &gpu, Shape::new(rows, 1), -1.0, 1.0, 8);
        let want = CPU.concat_cols(&[&x_cpu, &y_cpu, &z_cpu, &x_cpu]).unwrap();
        let got = gpu.concat_cols(&[&x, &y, &z, &x]).unwrap();
        assert_close_to(&format!("concat_cols with {to}"), &gpu, &got, &CPU, &want, 0.0, 0.0);
        let (v_cpu, v) = pair(&CPU, &gpu, Shape::new(63, cols), -1.0, 1.0, 9);
        let want = CPU.concat_rows(&[&x_cpu, &v_cpu, &x_cpu]).unwrap();
        let got = gpu.concat_rows(&[&x, &v, &x]).unwrap();
        assert_close_to(&format!("concat_rows with {to}"), &gpu, &got, &CPU, &want, 0.0, 0.0);
        for (start, len) in [(0, 1), (rows - 1, 1), (0, rows), (rows / 2, rows - rows / 2)] {
            let want = CPU.slice_rows(&x_cpu, start, len).unwrap();
            let got = gpu.slice_rows(&x, start, len).unwrap();
            assert_close_to(
                &format!("slice_rows {start}+{len} of {to}"),
                &gpu,
                &got,
                &CPU,
                &want,
                0.0,
                0.0,
            );
        }
        for (start, len) in [(0, 1), (cols - 1, 1), (0, cols), (cols / 2, cols - cols / 2)] {
            let want = CPU.slice_cols(&x_cpu, start, len).unwrap();
            let got = gpu.slice_cols(&x, start, len).unwrap();
            assert_close_to(
                &format!("slice_cols {start}+{len} of {to}"),
                &gpu,
                &got,
                &CPU,
                &want,
                0.0,
                0.0,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// fill and random
// ---------------------------------------------------------------------------

#[test]
fn fill_and_random_draw_the_cpus_numbers() {
    let Some(gpu) = gpu_or_skip("fill_and_random_draw_the_cpus_numbers") else { return };
    let shape = Shape::new(129, 65);
    assert_close_to("fill", &gpu, &gpu.fill(shape, -0.1), &CPU, &CPU.fill(shape, -0.1), 0.0, 0.0);
    for seed in [0, 1, 42, u64::MAX, 0x1234_5678_9abc_def0] {
        // U[0, 1) is (24 random bits) · 2⁻²⁴ on both sides: exactly equal,
        // so the bits match exactly.
        let unit = Dist::Uniform { lo: 0.0, hi: 1.0 };
        let got = gpu.download(&gpu.random(shape, unit, seed)).unwrap();
        let want = CPU.random(shape, unit, seed);
        let bits = |xs: &[f32]| xs.iter().map(|&u| (u * 16_777_216.0) as u32).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(want.data()), "uniform bits, seed {seed}");
        // A Bernoulli mask compares those bits with p: exactly equal too.
        for p in [0.0, 0.1, 0.5, 0.77, 1.0] {
            let d = Dist::Bernoulli { p };
            assert_close_to(
                &format!("bernoulli {p}"),
                &gpu,
                &gpu.random(shape, d, seed),
                &CPU,
                &CPU.random(shape, d, seed),
                0.0,
                0.0,
            );
        }
        // Other ranges and the normal differ by f32 vs f64 rounding only.
        let d = Dist::Uniform { lo: -3.0, hi: 5.0 };
        assert_close_to(
            "uniform [-3, 5)",
            &gpu,
            &gpu.random(shape, d, seed),
            &CPU,
            &CPU.random(shape, d, seed),
            1e-6,
            1e-6,
        );
        let d = Dist::Normal { mean: 1.0, std: 2.0 };
        assert_close_to(
            "normal(1, 2)",
            &gpu,
            &gpu.random(shape, d, seed),
            &CPU,
            &CPU.random(shape, d, seed),
            1e-5,
            1e-5,
        );
    }
}

// ---------------------------------------------------------------------------
// Optimizers
// ---------------------------------------------------------------------------

#[test]
fn sgd_and_adam_steps_match_the_cpu() {
    let Some(gpu) = gpu_or_skip("sgd_and_adam_steps_match_the_cpu") else { return };
    pollster::block_on(checks::sgd_and_adam_steps(&gpu));
}

#[test]
fn in_place_updates_do_not_change_shared_copies() {
    let Some(gpu) = gpu_or_skip("in_place_updates_do_not_change_shared_copies") else { return };
    let p0 = gpu.fill(Shape::new(2, 3), 1.0);
    let (mut p, mut v) = (p0.clone(), gpu.fill(p0.shape(), 0.0));
    let g = gpu.fill(p0.shape(), 2.0);
    gpu.sgd_step(&mut p, &g, &mut v, 0.5, 0.0).unwrap();
    // p = 1 - 0.5 · 2 = 0; the clone taken before the step still holds 1.
    assert_eq!(gpu.download(&p).unwrap(), vec![0.0; 6]);
    assert_eq!(gpu.download(&p0).unwrap(), vec![1.0; 6]);
    // A gradient that *is* the parameter (shared buffer) reads the old value.
    let mut q = g.clone();
    gpu.sgd_step(&mut q, &g, &mut v, 0.5, 0.0).unwrap();
    assert_eq!(gpu.download(&q).unwrap(), vec![1.0; 6]);
    assert_eq!(gpu.download(&g).unwrap(), vec![2.0; 6]);
}

// ---------------------------------------------------------------------------
// Through the tape: the same expression's gradients on both backends
// ---------------------------------------------------------------------------

#[test]
fn tape_gradients_match_the_cpu() {
    let Some(gpu) = gpu_or_skip("tape_gradients_match_the_cpu") else { return };
    pollster::block_on(checks::tape_forward_and_backward(&gpu));
}

// ---------------------------------------------------------------------------
// Recording: uploads and parameters are ordered with the recorded commands
// ---------------------------------------------------------------------------

#[test]
fn uploads_never_overwrite_a_buffer_that_recorded_commands_still_read() {
    let Some(gpu) =
        gpu_or_skip("uploads_never_overwrite_a_buffer_that_recorded_commands_still_read")
    else {
        return;
    };
    // Each round uploads new data, records a kernel reading it, and drops
    // the upload, whose buffer goes back to the pool before anything has
    // run. A pool that handed that buffer to the next upload would have it
    // overwritten (queue writes run before the recorded commands) and every
    // result would read the last round's data.
    let shape = Shape::new(4, 16);
    let mut results = Vec::new();
    for round in 0..20 {
        let x = gpu.upload(shape, &vec![round as f32; shape.numel()]).unwrap();
        results.push(gpu.unary(Unary::MulScalar(2.0), &x));
    }
    let submits_before = gpu.stats().submits;
    for (round, y) in results.iter().enumerate() {
        assert_eq!(
            gpu.download(y).unwrap(),
            vec![2.0 * round as f32; shape.numel()],
            "round {round}"
        );
    }
    assert_eq!(gpu.stats().submits, submits_before + 20, "one submit per download");
}

#[test]
fn every_dispatch_sees_its_own_parameters() {
    let Some(gpu) = gpu_or_skip("every_dispatch_sees_its_own_parameters") else { return };
    // 600 dispatches before one submit: more than two 256-slot chunks of
    // uniforms. x ← x + i for i = 0..600 gives Σ i = 179 700 (exact in f32).
    let mut x = gpu.fill(Shape::new(3, 3), 0.0);
    for i in 0..600 {
        x = gpu.unary(Unary::AddScalar(i as f64), &x);
    }
    assert_eq!(gpu.download(&x).unwrap(), vec![179_700.0; 9]);
}

#[test]
fn device_errors_come_back_from_sync() {
    let Some(gpu) = gpu_or_skip("device_errors_come_back_from_sync") else { return };
    let x = gpu.fill(Shape::new(2, 3), 1.0);
    let dy = gpu.fill(Shape::new(3, 2), 1.0);
    // unary_backward cannot return an error; the mismatch is reported by sync.
    let _ = gpu.unary_backward(Unary::Tanh, &x, &x, &dy);
    let err = gpu.sync().unwrap_err();
    assert!(
        matches!(&err, Error::Device(m) if m.contains("unary_backward: [2, 3] and [3, 2]")),
        "{err}"
    );
    // Reported once: the backend carries on.
    gpu.sync().unwrap();
    assert_eq!(gpu.download(&x).unwrap(), vec![1.0; 6]);
}
