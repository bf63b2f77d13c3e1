//! The fast paths of the GPU backend (`src/fused.rs`) against their
//! references: the small and large matmul kernels against the CPU (and the
//! naive kernel) for every transpose on awkward shapes; the fused layer,
//! its backward, the fused BCE loss and the multi-tensor Adam against the
//! plain GPU ops they replace (the `plain_*` defaults) and against the CPU;
//! and the cost of a whole GAN step written with them: its dispatches, and
//! no copy and no bind group created in steady state.
//!
//! Each test gets its GPU from `gpu_or_skip` (see `gpu_kernels.rs`).

use minimax_autodiff::backend::{
    plain_bce_with_logits, plain_bce_with_logits_backward, plain_bias_act_backward, plain_linear,
};
use minimax_autodiff::{
    AdamStep, AdamTensors, Backend, Dist, Product, Reference, Shape, Tape, TensorShape, Unary, Var,
};
use minimax_wgsl::testing::{assert_close, download, gpu_or_skip, pair, TRANSPOSES};
use minimax_wgsl::{MatmulKernel, Wgpu, WgpuTensor};

const CPU: Reference<f32> = Reference::new();

/// `op(a) · op(b)` of `[m, k] · [k, n]` with `kernel`, checked against the
/// CPU for every transpose combination.
fn check_kernel(gpu: &Wgpu, kernel: MatmulKernel, shapes: &[(usize, usize, usize)]) {
    for (seed, &(m, k, n)) in shapes.iter().enumerate() {
        for (ta, tb) in TRANSPOSES {
            let a_shape = if ta { Shape::new(k, m) } else { Shape::new(m, k) };
            let b_shape = if tb { Shape::new(n, k) } else { Shape::new(k, n) };
            let (a_cpu, a) = pair(&CPU, gpu, a_shape, -1.0, 1.0, 2 * seed as u64);
            let (b_cpu, b) = pair(&CPU, gpu, b_shape, -1.0, 1.0, 2 * seed as u64 + 1);
            let want = CPU.matmul(&a_cpu, ta, &b_cpu, tb).unwrap();
            let got = gpu.matmul_with(kernel, &a, ta, &b, tb).unwrap();
            assert_eq!(got.shape(), want.shape());
            let what = format!("{kernel:?} m={m} k={k} n={n} ta={ta} tb={tb}");
            // Sums of k products of numbers below 1: error ≲ k · 2⁻²⁴.
            assert_close(&what, &download(gpu, &got), want.data(), 1e-5, 1e-6 * k as f32);
        }
    }
}

#[test]
fn the_small_kernel_matches_the_cpu_for_every_transpose() {
    let Some(gpu) = gpu_or_skip("the_small_kernel_matches_the_cpu_for_every_transpose") else {
        return;
    };
    // Ones, primes, one either side of the 32-wide tile and the 16-deep k
    // step, a batch of 64 times a layer, non-square, and vectors.
    let shapes = [
        (1, 1, 1),
        (1, 7, 1),
        (7, 1, 7),
        (31, 33, 32),
        (32, 16, 32),
        (33, 17, 31),
        (64, 100, 257),
        (63, 65, 1),
        (1, 257, 64),
        (257, 15, 7),
        (130, 33, 129),
    ];
    check_kernel(&gpu, MatmulKernel::Small, &shapes);
}

#[test]
fn the_large_kernel_matches_the_cpu_for_every_transpose() {
    let Some(gpu) = gpu_or_skip("the_large_kernel_matches_the_cpu_for_every_transpose") else {
        return;
    };
    // Multiples of 4 (its vec4 accesses): one vec4, a whole tile, edge
    // tiles on either side of 128, k not a multiple of its 8-deep step,
    // and the layer shapes of an image GAN.
    let shapes = [
        (4, 4, 4),
        (128, 8, 128),
        (132, 12, 260),
        (124, 36, 4),
        (256, 64, 128),
        (64, 100, 784),
        (388, 20, 132),
    ];
    check_kernel(&gpu, MatmulKernel::Large, &shapes);
}

#[test]
fn the_large_kernel_refuses_shapes_that_are_not_multiples_of_4() {
    let Some(gpu) = gpu_or_skip("the_large_kernel_refuses_shapes_that_are_not_multiples_of_4")
    else {
        return;
    };
    let a = gpu.fill(Shape::new(8, 6), 1.0);
    let b = gpu.fill(Shape::new(6, 8), 1.0);
    let err = gpu.matmul_with(MatmulKernel::Large, &a, false, &b, false).unwrap_err();
    assert!(err.to_string().contains("multiples of 4"), "{err}");
    // Auto picks a kernel that can.
    let c = gpu.matmul(&a, false, &b, false).unwrap();
    assert_eq!(download(&gpu, &c), vec![6.0; 64]);
}

#[test]
fn auto_matches_the_cpu_on_training_shapes() {
    let Some(gpu) = gpu_or_skip("auto_matches_the_cpu_on_training_shapes") else {
        return;
    };
    // The products of an image GAN step (batch 64), forward and backward,
    // and one large enough for the large kernel (32 tiles of 128 × 128).
    let shapes = [(64, 100, 256), (64, 784, 512), (784, 64, 512), (64, 512, 784), (512, 64, 1024)];
    check_kernel(&gpu, MatmulKernel::Auto, &shapes);
}

#[test]
fn two_products_in_one_dispatch_match_the_cpu() {
    let Some(gpu) = gpu_or_skip("two_products_in_one_dispatch_match_the_cpu") else { return };
    // Pairs of different shapes (a layer's dx and dW, and odd ones), every
    // transpose of each; the last pair has a product for the large kernel,
    // so it is two dispatches.
    let pairs = [
        ((1, 1, 1), (7, 63, 65)),
        ((33, 17, 31), (1, 257, 64)),
        ((64, 512, 784), (512, 64, 784)),
        ((128, 32, 1), (32, 128, 1)),
        ((257, 15, 7), (7, 1, 7)),
        ((4, 8, 4), (1024, 64, 512)),
    ];
    for (seed, &((m0, k0, n0), (m1, k1, n1))) in pairs.iter().enumerate() {
        for (t0, t1) in TRANSPOSES.into_iter().zip(TRANSPOSES.into_iter().rev()) {
            let stored = |m, k, t: bool| if t { Shape::new(k, m) } else { Shape::new(m, k) };
            let s = 10 * seed as u64;
            let (a0c, a0) = pair(&CPU, &gpu, stored(m0, k0, t0.0), -1.0, 1.0, s);
            let (b0c, b0) = pair(&CPU, &gpu, stored(n0, k0, !t0.1), -1.0, 1.0, s + 1);
            let (a1c, a1) = pair(&CPU, &gpu, stored(m1, k1, t1.0), -1.0, 1.0, s + 2);
            let (b1c, b1) = pair(&CPU, &gpu, stored(n1, k1, !t1.1), -1.0, 1.0, s + 3);
            gpu.sync().unwrap();
            gpu.reset_stats();
            let (c0, c1) = gpu
                .matmul_pair(Product::new(&a0, t0.0, &b0, t0.1), Product::new(&a1, t1.0, &b1, t1.1))
                .unwrap();
            let dispatches = gpu.stats().dispatches;
            let want0 = CPU.matmul(&a0c, t0.0, &b0c, t0.1).unwrap();
            let want1 = CPU.matmul(&a1c, t1.0, &b1c, t1.1).unwrap();
            let what = format!("pair {:?} {t0:?}, {:?} {t1:?}", (m0, k0, n0), (m1, k1, n1));
            assert_eq!((c0.shape(), c1.shape()), (want0.shape(), want1.shape()), "{what}");
            assert_close(
                &format!("{what}: first"),
                &download(&gpu, &c0),
                want0.data(),
                1e-5,
                1e-6 * k0 as f32,
            );
            assert_close(
                &format!("{what}: second"),
                &download(&gpu, &c1),
                want1.data(),
                1e-5,
                1e-6 * k1 as f32,
            );
            let want_dispatches = if seed == pairs.len() - 1 { 2 } else { 1 };
            assert_eq!(dispatches, want_dispatches, "{what}");
        }
    }
}

#[test]
fn long_inner_dimensions_go_to_a_kernel_that_sums_them_all() {
    let Some(gpu) = gpu_or_skip("long_inner_dimensions_go_to_a_kernel_that_sums_them_all") else {
        return;
    };
    // llvmpipe (through Vulkan or OpenGL) stops a shader's loops after
    // 65 535 iterations; the fast kernels take k up to 1024 (as one
    // dispatch of the plain matmul does) and leave longer products to the
    // tiled kernel, which splits k over several dispatches. Ones: every element of
    // the product is exactly k.
    for k in [1024, 1025, 20_000] {
        let a = gpu.fill(Shape::new(4, k), 1.0);
        let b = gpu.fill(Shape::new(k, 4), 1.0);
        let want = vec![k as f32; 16];
        assert_eq!(
            download(&gpu, &gpu.matmul(&a, false, &b, false).unwrap()),
            want,
            "auto, k = {k}"
        );
        for kernel in [MatmulKernel::Small, MatmulKernel::Large] {
            match gpu.matmul_with(kernel, &a, false, &b, false) {
                Ok(c) => assert_eq!(download(&gpu, &c), want, "{kernel:?}, k = {k}"),
                Err(e) => {
                    assert!(k > 1024, "{kernel:?}, k = {k}: {e}");
                    assert!(e.to_string().contains("k at most 1024"), "{e}");
                }
            }
        }
        let (_, y) = gpu.linear(&a, &b, None, Some(Unary::Relu)).unwrap();
        assert_eq!(download(&gpu, &y), want, "linear, k = {k}");
        let (c0, c1) = gpu
            .matmul_pair(Product::new(&a, false, &b, false), Product::new(&b, true, &a, true))
            .unwrap();
        assert_eq!(
            (download(&gpu, &c0), download(&gpu, &c1)),
            (want.clone(), want),
            "pair, k = {k}"
        );
    }
}

/// Every activation a layer may have; `Softplus` is not one the fused
/// kernels have, so it checks the fallback on the plain ops.
const ACTS: [Option<Unary>; 7] = [
    None,
    Some(Unary::Tanh),
    Some(Unary::Sigmoid),
    Some(Unary::Relu),
    Some(Unary::LeakyRelu(0.2)),
    Some(Unary::Elu(1.0)),
    Some(Unary::Softplus),
];

/// `(batch, in, out)`: ones, primes, a layer either side of a tile, the
/// 1-D GAN's layers and the image GAN's.
const LAYERS: [(usize, usize, usize); 8] = [
    (1, 1, 1),
    (7, 3, 5),
    (33, 31, 65),
    (128, 4, 16),
    (128, 32, 1),
    (64, 100, 256),
    (64, 512, 784),
    (64, 784, 512),
];

#[test]
fn the_fused_layer_matches_the_plain_ops_and_the_cpu() {
    let Some(gpu) = gpu_or_skip("the_fused_layer_matches_the_plain_ops_and_the_cpu") else {
        return;
    };
    for (i, &(batch, fan_in, fan_out)) in LAYERS.iter().enumerate() {
        let s = 100 * i as u64;
        let (x_cpu, x) = pair(&CPU, &gpu, Shape::new(batch, fan_in), -2.0, 2.0, s);
        let (w_cpu, w) = pair(&CPU, &gpu, Shape::new(fan_in, fan_out), -0.5, 0.5, s + 1);
        let (b_cpu, b) = pair(&CPU, &gpu, Shape::new(1, fan_out), -1.0, 1.0, s + 2);
        let (dy_cpu, dy) = pair(&CPU, &gpu, Shape::new(batch, fan_out), -1.0, 1.0, s + 3);
        let tol = 1e-6 * fan_in as f32;
        for act in ACTS {
            for bias in [true, false] {
                let what = format!("[{batch}, {fan_in}] -> {fan_out}, {act:?}, bias {bias}");
                let (bg, bc) = (bias.then_some(&b), bias.then_some(&b_cpu));
                let (z, y) = gpu.linear(&x, &w, bg, act).unwrap();
                let (z_plain, y_plain) = plain_linear(&gpu, &x, &w, bg, act).unwrap();
                let (z_cpu, y_cpu) = CPU.linear(&x_cpu, &w_cpu, bc, act).unwrap();
                for (name, got, plain, cpu) in
                    [("z", &z, &z_plain, &z_cpu), ("y", &y, &y_plain, &y_cpu)]
                {
                    let got = download(&gpu, got);
                    assert_close(
                        &format!("{what}: {name} vs plain"),
                        &got,
                        &download(&gpu, plain),
                        1e-5,
                        tol,
                    );
                    assert_close(&format!("{what}: {name} vs cpu"), &got, cpu.data(), 1e-5, tol);
                }
                // Backward through the activation and the bias.
                let (dz, db) = gpu.bias_act_backward(act, &z, &y, &dy, bias).unwrap();
                let (dz_plain, db_plain) =
                    plain_bias_act_backward(&gpu, act, &z, &y, &dy, bias).unwrap();
                let (dz_cpu, db_cpu) =
                    CPU.bias_act_backward(act, &z_cpu, &y_cpu, &dy_cpu, bias).unwrap();
                let got = download(&gpu, &dz);
                assert_close(
                    &format!("{what}: dz vs plain"),
                    &got,
                    &download(&gpu, &dz_plain),
                    1e-5,
                    tol,
                );
                assert_close(&format!("{what}: dz vs cpu"), &got, dz_cpu.data(), 1e-4, tol);
                assert_eq!(db.is_some(), bias, "{what}");
                if let (Some(db), Some(db_plain), Some(db_cpu)) = (db, db_plain, db_cpu) {
                    let got = download(&gpu, &db);
                    let tol = tol * batch as f32;
                    assert_close(
                        &format!("{what}: db vs plain"),
                        &got,
                        &download(&gpu, &db_plain),
                        1e-5,
                        tol,
                    );
                    assert_close(&format!("{what}: db vs cpu"), &got, db_cpu.data(), 1e-4, tol);
                }
            }
        }
    }
}

/// A two-layer network through `Var::linear` and `Var::bce_logits`: the
/// loss and the gradients of its five leaves (input included), downloaded.
fn two_layers<B: Backend<Elem = f32>>(be: &B, data: &[Vec<f32>], act: Unary) -> Vec<Vec<f32>> {
    let shapes = [
        Shape::new(65, 33),
        Shape::new(33, 17),
        Shape::new(1, 17),
        Shape::new(17, 1),
        Shape::new(1, 1),
    ];
    let tape = Tape::new(be.clone());
    let leaves: Vec<Var<B>> =
        shapes.iter().zip(data).map(|(&s, d)| tape.leaf(be.upload(s, d).unwrap())).collect();
    let t = tape.constant(be.fill(Shape::scalar(), 1.0));
    let h = leaves[0].linear(&leaves[1], Some(&leaves[2]), Some(act)).unwrap();
    let logits = h.linear(&leaves[3], Some(&leaves[4]), None).unwrap();
    let loss = logits.bce_logits(&t).unwrap();
    let grads = tape.backward(&loss).unwrap();
    let mut out = vec![loss.to_vec().unwrap()];
    out.extend(leaves.iter().map(|v| be.download(grads.get(v).unwrap()).unwrap()));
    out
}

#[test]
fn gradients_through_fused_layers_match_the_cpu() {
    let Some(gpu) = gpu_or_skip("gradients_through_fused_layers_match_the_cpu") else { return };
    let sizes = [65 * 33, 33 * 17, 17, 17, 1];
    let data: Vec<Vec<f32>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let d = Dist::Uniform { lo: -1.0, hi: 1.0 };
            CPU.random(Shape::new(1, n), d, 40 + i as u64).data().to_vec()
        })
        .collect();
    for act in [Unary::Tanh, Unary::LeakyRelu(0.2), Unary::Sigmoid, Unary::Elu(0.5)] {
        let want = two_layers(&CPU, &data, act);
        let got = two_layers(&gpu, &data, act);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_close(&format!("{act:?}: output {i}"), g, w, 1e-4, 1e-5);
        }
    }
}

#[test]
fn the_fused_bce_matches_the_plain_ops_and_the_cpu() {
    let Some(gpu) = gpu_or_skip("the_fused_bce_matches_the_plain_ops_and_the_cpu") else { return };
    let (_, g) = pair(&CPU, &gpu, Shape::scalar(), 0.5, 2.0, 9);
    let g_cpu = CPU.upload(Shape::scalar(), &download(&gpu, &g)).unwrap();
    for (i, (rows, cols)) in
        [(1, 1), (1, 7), (7, 1), (128, 1), (64, 3), (300, 257)].into_iter().enumerate()
    {
        let (x_cpu, x) = pair(&CPU, &gpu, Shape::new(rows, cols), -8.0, 8.0, i as u64);
        for t_shape in
            [Shape::new(rows, cols), Shape::new(1, cols), Shape::new(rows, 1), Shape::scalar()]
        {
            let what = format!("[{rows}, {cols}] against {t_shape}");
            let (t_cpu, t) = pair(&CPU, &gpu, t_shape, 0.0, 1.0, 50 + i as u64);
            let loss = download(&gpu, &gpu.bce_with_logits(&x, &t).unwrap());
            let plain = download(&gpu, &plain_bce_with_logits(&gpu, &x, &t).unwrap());
            let cpu = CPU.bce_with_logits(&x_cpu, &t_cpu).unwrap();
            assert_close(&format!("{what}: loss vs plain"), &loss, &plain, 1e-5, 1e-6);
            assert_close(&format!("{what}: loss vs cpu"), &loss, cpu.data(), 1e-5, 1e-6);
            let dx = download(&gpu, &gpu.bce_with_logits_backward(&x, &t, &g).unwrap());
            let plain = download(&gpu, &plain_bce_with_logits_backward(&gpu, &x, &t, &g).unwrap());
            let cpu = CPU.bce_with_logits_backward(&x_cpu, &t_cpu, &g_cpu).unwrap();
            assert_close(&format!("{what}: dx vs plain"), &dx, &plain, 1e-5, 1e-9);
            assert_close(&format!("{what}: dx vs cpu"), &dx, cpu.data(), 1e-5, 1e-9);
        }
    }
}

#[test]
fn the_fused_bce_keeps_its_precision_for_confident_logits() {
    let Some(gpu) = gpu_or_skip("the_fused_bce_keeps_its_precision_for_confident_logits") else {
        return;
    };
    // ℓ(x, t) = softplus(x) - t·x = ln(1 + e^-x) for t = 1: 4.248e-18 at
    // x = 40, where softplus(40) - 40 rounds to 0 in f32; ln(1 + e^-16) =
    // 1.125e-7 at x = 16. Likewise for t = 0 at -x. And 1000 for x = ±1000
    // confidently wrong.
    let cases: [(f32, f32, f64); 6] = [
        (40.0, 1.0, (-40f64).exp().ln_1p()),
        (-40.0, 0.0, (-40f64).exp().ln_1p()),
        (16.0, 1.0, (-16f64).exp().ln_1p()),
        (-16.0, 0.0, (-16f64).exp().ln_1p()),
        (1000.0, 0.0, 1000.0),
        (-1000.0, 1.0, 1000.0),
    ];
    for (x, t, want) in cases {
        let xg = gpu.upload(Shape::scalar(), &[x]).unwrap();
        let tg = gpu.upload(Shape::scalar(), &[t]).unwrap();
        let got = download(&gpu, &gpu.bce_with_logits(&xg, &tg).unwrap())[0] as f64;
        assert!((got - want).abs() <= 1e-5 * want, "x = {x}, t = {t}: got {got:e}, want {want:e}");
    }
}

#[test]
fn adam_over_many_tensors_is_adam_on_each_bit_for_bit() {
    let Some(gpu) = gpu_or_skip("adam_over_many_tensors_is_adam_on_each_bit_for_bit") else {
        return;
    };
    // 1 to 13 tensors (more than the 6 of one dispatch), of awkward sizes.
    let shapes = [
        Shape::new(3, 5),
        Shape::scalar(),
        Shape::new(1, 257),
        Shape::new(65, 63),
        Shape::new(7, 1),
        Shape::new(300, 300),
        Shape::new(1, 256),
        Shape::new(2, 3),
        Shape::new(1, 1),
        Shape::new(5, 51),
        Shape::new(16, 16),
        Shape::new(1, 2),
        Shape::new(33, 9),
    ];
    let hp = AdamStep { lr: 0.01, beta1: 0.5, beta2: 0.999, eps: 1e-8, t: 7 };
    for count in 1..=shapes.len() {
        let fresh = || -> Vec<[WgpuTensor; 4]> {
            shapes[..count]
                .iter()
                .enumerate()
                .map(|(i, &s)| {
                    let i = 10 * i as u64;
                    let d = Dist::Uniform { lo: -1.0, hi: 1.0 };
                    let v = gpu.unary(Unary::Powi(2), &gpu.random(s, d, i + 3));
                    [gpu.random(s, d, i), gpu.random(s, d, i + 1), gpu.random(s, d, i + 2), v]
                })
                .collect()
        };
        let (mut single, mut many) = (fresh(), fresh());
        for [p, g, m, v] in &mut single {
            gpu.adam_step(p, g, m, v, hp).unwrap();
        }
        gpu.sync().unwrap();
        gpu.reset_stats();
        let tensors = many.iter_mut().map(|[p, g, m, v]| AdamTensors { param: p, grad: &*g, m, v });
        gpu.adam_step_many(tensors, hp).unwrap();
        let stats = gpu.stats();
        assert_eq!(stats.copies, 0, "{count} tensors: in place: {stats}");
        // 6 per dispatch, or one each where the device binds fewer than 24
        // storage buffers per kernel.
        let per_dispatch = gpu.adam_tensors_per_dispatch();
        assert!(per_dispatch == 6 || per_dispatch == 1, "{per_dispatch}");
        assert_eq!(
            stats.dispatches as usize,
            count.div_ceil(per_dispatch),
            "{count} tensors: {stats}"
        );
        for (i, (a, b)) in single.iter().zip(&many).enumerate() {
            for (j, (x, y)) in a.iter().zip(b).enumerate() {
                assert_eq!(
                    download(&gpu, x),
                    download(&gpu, y),
                    "{count} tensors: tensor {i}, state {j}"
                );
            }
        }
    }
}

#[test]
fn adam_over_many_tensors_copies_a_shared_parameter_first() {
    let Some(gpu) = gpu_or_skip("adam_over_many_tensors_copies_a_shared_parameter_first") else {
        return;
    };
    let p0 = gpu.upload(Shape::new(1, 3), &[1.0, 2.0, 3.0]).unwrap();
    let (mut p, shared) = (p0.clone(), p0);
    let g = gpu.fill(Shape::new(1, 3), 1.0);
    let (mut m, mut v) = (gpu.fill(Shape::new(1, 3), 0.0), gpu.fill(Shape::new(1, 3), 0.0));
    let hp = AdamStep { lr: 0.5, beta1: 0.9, beta2: 0.999, eps: 1e-8, t: 1 };
    let one = AdamTensors { param: &mut p, grad: &g, m: &mut m, v: &mut v };
    gpu.adam_step_many([one], hp).unwrap();
    // The first step moves every element by lr (m̂ / (√v̂ + ε) = 1, up to
    // f32 rounding): the copy held elsewhere (as a tape's leaf would) keeps
    // the old values.
    assert_eq!(download(&gpu, &shared), vec![1.0, 2.0, 3.0]);
    assert_close("updated", &download(&gpu, &p), &[0.5, 1.5, 2.5], 1e-5, 0.0);
}
