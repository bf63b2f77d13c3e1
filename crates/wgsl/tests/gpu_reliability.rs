//! Nothing silently wrong on the GPU: results that could come back wrong
//! without an error, on some backend or driver, must be right or an error
//! that says why.
//!
//! - products and sums whose loops are longer than llvmpipe runs (it stops
//!   every shader loop after 65 535 iterations in all, on Vulkan and GL);
//! - relative precision of softplus, log σ and BCE at confident logits;
//! - tensors too large for the device: a clear error, up front.
//!
//! As in `gpu_kernels.rs`, each test gets its GPU from `gpu_or_skip`.

use minimax_autodiff::{rng, Axis, Backend, Dist, Reference, Shape, Tape, TensorShape, Unary};
use minimax_wgsl::testing::{gpu_or_skip, raw_device, shader_source};
use minimax_wgsl::MatmulKernel;

const CPU: Reference<f32> = Reference::new();

// ---------------------------------------------------------------------------
// Precision at confident logits
// ---------------------------------------------------------------------------

/// ln(1 + e^x) for x ≤ 0, in f64 (no cancellation there).
fn softplus_neg(x: f64) -> f64 {
    assert!(x <= 0.0);
    x.exp().ln_1p()
}

#[track_caller]
fn assert_rel(what: &str, got: f32, want: f64, rtol: f64) {
    let err = ((got as f64 - want) / want).abs();
    assert!(err <= rtol, "{what}: got {got:e}, want {want:e} (relative error {err:e})");
}

#[test]
fn softplus_and_log_sigmoid_keep_relative_precision() {
    let Some(gpu) = gpu_or_skip("softplus_and_log_sigmoid_keep_relative_precision") else {
        return;
    };
    // softplus(x) = ln(1 + e^x) ≈ e^x for x ≪ 0: a tiny number that must
    // not lose its digits to a log of a number near 1. (The shader's old
    // log1p, Goldberg's correction ln(u)·t/(u - 1), was folded to ln(u) by
    // the compiler: 6% off at -16.) Also its derivative σ(x) there.
    let xs = [-80.0, -40.0, -20.0, -17.0, -16.0, -15.0, -10.0, -5.0, -1.0, -0.1];
    let x = gpu.upload(Shape::new(1, xs.len()), &xs).unwrap();
    let y = gpu.download(&gpu.unary(Unary::Softplus, &x)).unwrap();
    let ones = gpu.fill(x.shape(), 1.0);
    let y_t = gpu.unary(Unary::Softplus, &x);
    let dy = gpu.download(&gpu.unary_backward(Unary::Softplus, &x, &y_t, &ones)).unwrap();
    for (i, &x) in xs.iter().enumerate() {
        let x = x as f64;
        // Vulkan allows exp 3 + 2|x| ulps: 1e-5 relative at x = -80.
        let rtol = 1e-6 + 2.0 * x.abs() * 6e-8;
        assert_rel(&format!("softplus({x})"), y[i], softplus_neg(x), rtol);
        assert_rel(&format!("softplus'({x})"), dy[i], 1.0 / (1.0 + (-x).exp()), rtol);
    }
    // ln σ(x) = -softplus(-x), through the tape.
    let tape = Tape::new(gpu.clone());
    let pos: Vec<f32> = xs.iter().map(|x| -x).collect();
    let v = tape.leaf(gpu.upload(Shape::new(1, pos.len()), &pos).unwrap());
    let got = v.log_sigmoid().to_vec().unwrap();
    for (i, &x) in pos.iter().enumerate() {
        let rtol = 1e-6 + 2.0 * (x as f64) * 6e-8;
        assert_rel(&format!("log_sigmoid({x})"), got[i], -softplus_neg(-x as f64), rtol);
    }
}

#[test]
fn bce_with_logits_keeps_relative_precision_for_confident_logits() {
    let Some(gpu) = gpu_or_skip("bce_with_logits_keeps_relative_precision_for_confident_logits")
    else {
        return;
    };
    // A right and confident logit x with target 1 (or -x with target 0):
    // ℓ = softplus(-x) ≈ e^-x, dℓ/dx = σ(x) - 1 = -σ(-x). The same on the
    // CPU (crates/autodiff/tests/precision.rs).
    for x in [5.0f32, 16.0, 20.0, 30.0, 40.0, 80.0] {
        for (t, logit) in [(1.0f32, x), (0.0, -x)] {
            let tape = Tape::new(gpu.clone());
            let v = tape.leaf(gpu.upload(Shape::scalar(), &[logit]).unwrap());
            let t_v = tape.constant(gpu.upload(Shape::scalar(), &[t]).unwrap());
            let loss = v.bce_with_logits(&t_v).unwrap();
            let grads = tape.backward(&loss).unwrap();
            let dx = gpu.download(grads.get(&v).unwrap()).unwrap()[0];
            let want = softplus_neg(-x as f64);
            let sign = if t == 1.0 { -1.0 } else { 1.0 };
            let rtol = 1e-6 + 2.0 * (x as f64) * 6e-8;
            assert_rel(&format!("bce({logit}, {t})"), loss.item().unwrap() as f32, want, rtol);
            assert_rel(&format!("bce'({logit}, {t})"), dx, sign / (1.0 + (x as f64).exp()), rtol);
        }
    }
}

// ---------------------------------------------------------------------------
// Long loops: llvmpipe stops every loop of a shader invocation after 65 535
// iterations in all (its "loop limiter", shared by all the loops of the
// shader, nested or not), silently, on wgpu's Vulkan and GL backends alike.
// Products and sums longer than that must be split by the backend.
// ---------------------------------------------------------------------------

#[test]
fn matmul_is_right_across_the_splits_of_a_long_inner_dimension() {
    let Some(gpu) = gpu_or_skip("matmul_is_right_across_the_splits_of_a_long_inner_dimension")
    else {
        return;
    };
    // k on either side of a multiple of the split, for every transpose, both
    // kernels, against the CPU. Random data in [-1, 1): sums of k products,
    // error ≲ k · 2⁻²⁴ (the splits continue the same sum, in the same order).
    for (seed, (m, k, n)) in
        [(5, 1023, 3), (3, 1024, 65), (65, 1025, 2), (2, 3001, 7)].into_iter().enumerate()
    {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let (ar, ac) = if ta { (k, m) } else { (m, k) };
            let (br, bc) = if tb { (n, k) } else { (k, n) };
            let a_cpu = CPU.random(
                Shape::new(ar, ac),
                Dist::Uniform { lo: -1.0, hi: 1.0 },
                2 * seed as u64,
            );
            let b_cpu = CPU.random(
                Shape::new(br, bc),
                Dist::Uniform { lo: -1.0, hi: 1.0 },
                2 * seed as u64 + 1,
            );
            let a = gpu.upload(a_cpu.shape(), a_cpu.data()).unwrap();
            let b = gpu.upload(b_cpu.shape(), b_cpu.data()).unwrap();
            let want = CPU.matmul(&a_cpu, ta, &b_cpu, tb).unwrap();
            for kernel in [MatmulKernel::Tiled, MatmulKernel::Naive] {
                let got = gpu.download(&gpu.matmul_with(kernel, &a, ta, &b, tb).unwrap()).unwrap();
                for (i, (&g, &c)) in got.iter().zip(want.data()).enumerate() {
                    assert!(
                        (g - c).abs() <= 2e-6 * k as f32,
                        "{kernel:?} m={m} k={k} n={n} ta={ta} tb={tb} [{i}]: gpu {g} vs cpu {c}"
                    );
                }
            }
        }
    }
}

#[test]
fn sums_over_a_long_axis_are_right() {
    let Some(gpu) = gpu_or_skip("sums_over_a_long_axis_are_right") else { return };
    // A column of 17 million rows: one workgroup of 256 invocations per
    // column looped 66 407 times each, past llvmpipe's limit (the sum came
    // out near 65 535 · 256 = 16.8 million). Ones sum to integers, exact in
    // f32 up to 2²⁴ = 16.8 million; beyond, within a few ulps.
    let n = 17_000_000;
    for (shape, axis) in [
        (Shape::new(n, 1), Some(Axis::Rows)),
        (Shape::new(1, n), Some(Axis::Cols)),
        (Shape::new(n, 1), None),
    ] {
        let ones = gpu.fill(shape, 1.0);
        let got = gpu.download(&gpu.sum(&ones, axis)).unwrap();
        assert_eq!(got.len(), 1);
        assert!((got[0] - n as f32).abs() <= 4.0, "sum {axis:?} of ones {shape}: {}", got[0]);
    }
    // Two columns, and the sum over rows of a long matrix, against the CPU.
    let (rows, cols) = (4_200_000, 3);
    let x_cpu = CPU.random(Shape::new(rows, cols), Dist::Uniform { lo: 0.0, hi: 1.0 }, 9);
    let x = gpu.upload(x_cpu.shape(), x_cpu.data()).unwrap();
    let want = CPU.sum(&x_cpu, Some(Axis::Rows));
    let got = gpu.download(&gpu.sum(&x, Some(Axis::Rows))).unwrap();
    for (j, (&g, &c)) in got.iter().zip(want.data()).enumerate() {
        // Positive numbers, orders of summation differ: ≤ 2 n 2⁻²⁴ Σx.
        assert!((g - c).abs() <= 2.0 * rows as f32 * 2f32.powi(-24) * c, "column {j}: {g} vs {c}");
    }
}

// ---------------------------------------------------------------------------
// Gaussian draws: √(-2 ln u₁) must not become √(negative) = NaN
// ---------------------------------------------------------------------------

#[test]
fn millions_of_normal_draws_are_finite_with_the_right_moments() {
    let Some(gpu) = gpu_or_skip("millions_of_normal_draws_are_finite_with_the_right_moments")
    else {
        return;
    };
    let n = 4_000_000;
    for seed in [1, 2] {
        let z =
            gpu.download(&gpu.random(Shape::new(1, n), Dist::Normal { mean: 0.0, std: 1.0 }, seed));
        let z = z.unwrap();
        let bad = z.iter().filter(|v| !v.is_finite()).count();
        assert_eq!(bad, 0, "seed {seed}: {bad} of {n} draws are not finite");
        let mean = z.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        let var = z.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
        // Standard errors: 1/√n = 5e-4 for the mean, √(2/n) = 7e-4 for the variance.
        assert!(mean.abs() < 3e-3, "seed {seed}: mean {mean}");
        assert!((var - 1.0).abs() < 4e-3, "seed {seed}: variance {var}");
    }
}

/// WGSL lets `log` be off by 2⁻²¹ in absolute terms on [0.5, 2] (and by 3
/// ulps elsewhere). `random.wgsl` with every `log` replaced by the worst
/// such log: 2⁻²¹ too high near 1, where the true ln u₁ of a draw u₁ within
/// 8 · 2⁻²⁴ of 1 is smaller than that, so -2 ln u₁ comes out negative.
fn random_wgsl_with_the_worst_log() -> String {
    let source = shader_source("random.wgsl");
    assert!(source.contains("log(u1)"), "random.wgsl no longer takes log(u1): update this test");
    source.replace("log(", "worst_log(")
        + "\nfn worst_log(x: f32) -> f32 {\n    \
           return select(log(x), log(x) + 4.76837158203125e-7, x >= 0.5 && x <= 2.0);\n}\n"
}

/// Runs `source` (a `random.wgsl`) for `n` standard normal draws under `key`.
fn normals_from(source: &str, key: u32, n: u32) -> Vec<f32> {
    use wgpu::util::DeviceExt;
    let (device, queue) = raw_device();
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: None,
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: None,
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    // Params: n, dist = NORMAL (the code the source declares), key,
    // threshold, a = mean 0, b = std 1 (and padding).
    let normal: u32 = source
        .split("const NORMAL: u32 = ")
        .nth(1)
        .and_then(|s| s.split('u').next())
        .and_then(|code| code.parse().ok())
        .expect("random.wgsl's source declares NORMAL");
    let mut params = [0u8; 32];
    for (k, word) in [n, normal, key, 0, 0f32.to_bits(), 1f32.to_bits()].into_iter().enumerate() {
        params[4 * k..4 * k + 4].copy_from_slice(&word.to_le_bytes());
    }
    let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: None,
        contents: &params,
        usage: wgpu::BufferUsages::UNIFORM,
    });
    let bytes = n as u64 * 4;
    let out = device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let readback = device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 1, resource: out.as_entire_binding() },
        ],
    });
    let mut encoder = device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(n.div_ceil(256), 1, 1); // 256 = WORKGROUP_SIZE
    }
    encoder.copy_buffer_to_buffer(&out, 0, &readback, 0, bytes);
    queue.submit([encoder.finish()]);
    readback.slice(..).map_async(wgpu::MapMode::Read, |r| r.unwrap());
    device.poll(wgpu::PollType::wait_indefinitely()).unwrap();
    let view = readback.slice(..).get_mapped_range().unwrap();
    bytemuck::pod_collect_to_vec(&view)
}

#[test]
fn normal_draws_stay_finite_with_the_least_accurate_log_wgsl_allows() {
    let Some(_gpu) =
        gpu_or_skip("normal_draws_stay_finite_with_the_least_accurate_log_wgsl_allows")
    else {
        return;
    };
    // The first draw whose u₁ = 1 - bits24 · 2⁻²⁴ is within 8 · 2⁻²⁴ of 1
    // (1 in 2²¹ draws): there the worst log makes -2 ln u₁ negative.
    let key = rng::seed_key(12);
    let i = (0u32..).find(|&i| rng::bits(key, 2 * i) >> 8 < 8).unwrap();
    let n = i + 1;
    let z = normals_from(&random_wgsl_with_the_worst_log(), key, n);
    assert!(z[i as usize].is_finite(), "draw {i}: {}", z[i as usize]);
    let bad = z.iter().filter(|v| !v.is_finite()).count();
    assert_eq!(bad, 0, "{bad} of {n} draws are not finite");
    // There u₁ ≈ 1, so the draw is about 0: √(-2 ln u₁) ≤ √(2 · 8 · 2⁻²⁴) = 2⁻¹⁰,
    // with the worst log (clamped to 0) and with the shader's own.
    let own = normals_from(&shader_source("random.wgsl"), key, n);
    for (which, v) in [("worst log", z[i as usize]), ("own log", own[i as usize])] {
        assert!(v.abs() <= 1.0 / 1024.0, "draw {i} with the {which}: {v}");
    }
}

// ---------------------------------------------------------------------------
// Tensors too large for the device
// ---------------------------------------------------------------------------

#[test]
fn a_tensor_too_large_for_the_device_is_a_clear_error_up_front() {
    let Some(gpu) = gpu_or_skip("a_tensor_too_large_for_the_device_is_a_clear_error_up_front")
    else {
        return;
    };
    let limit = gpu.max_tensor_bytes();
    let limit_text = limit.to_string();
    let over = (limit / 4 + 1) as usize; // one f32 too many
                                         // fill cannot return an error: the next download returns it, naming the
                                         // op, the shape and the limit (not as "mapping the readback buffer",
                                         // with the real error only at the sync after).
    let x = gpu.fill(Shape::new(1, over), 1.0);
    let err = gpu.download(&x).unwrap_err().to_string();
    let shape = format!("[1, {over}]");
    for part in ["fill", shape.as_str(), limit_text.as_str()] {
        assert!(err.contains(part), "{err}");
    }
    assert!(!err.contains("mapping"), "{err}");
    // Reported once; the tensor stays unusable, and says so.
    let err = gpu.download(&x).unwrap_err().to_string();
    assert!(err.contains("download") && err.contains(&shape), "{err}");
    gpu.sync().unwrap();
    // matmul can return the error: it does, at once, for an output too large.
    let side = ((limit / 4) as f64).sqrt() as usize + 1;
    let (a, b) = (gpu.fill(Shape::new(side, 1), 1.0), gpu.fill(Shape::new(1, side), 1.0));
    let err = gpu.matmul(&a, false, &b, false).unwrap_err().to_string();
    assert!(err.contains("matmul") && err.contains(&limit_text), "{err}");
    let err = gpu.broadcast(&gpu.fill(Shape::scalar(), 1.0), Shape::new(1, over)).unwrap_err();
    assert!(err.to_string().contains("broadcast"), "{err}");
    gpu.sync().unwrap(); // nothing was left pending by those
                         // Shapes past Shape::MAX_NUMEL, or whose rows × cols overflows, never
                         // wrap: [2³², 2³²] must not upload as 0 elements.
    let err = gpu.upload(Shape::new(1 << 32, 1 << 32), &[]).unwrap_err().to_string();
    assert!(err.contains("upload") && err.contains("[4294967296, 4294967296]"), "{err}");
    let huge = gpu.fill(Shape::new(1 << 31, 1 << 31), 0.0);
    let err = gpu.sync().unwrap_err().to_string();
    assert!(err.contains("fill") && err.contains("at most 4294967295"), "{err}");
    drop(huge);
    // And a tensor within the limit still works.
    let ok = gpu.fill(Shape::new(1, 1000), 2.0);
    assert_eq!(gpu.download(&ok).unwrap(), vec![2.0; 1000]);
}
