//! The GPU-against-CPU checks that run both natively and in a browser,
//! written once: `tests/gpu_kernels.rs` runs each under `pollster`, and
//! `tests/browser.rs` awaits it inside headless Chromium on WebGPU. Every
//! read is [`Wgpu::download_async`], the one a browser allows (natively it
//! polls the device, then awaits: `tests/gpu_async.rs` checks it gives the
//! blocking read's bits).
//!
//! Each check compares the GPU with the plain reference backend on the
//! awkward shapes (1, 7, 63, 64, 65, 257), at the tolerances stated where
//! it asserts, and panics naming the op, the shape and the element.

use super::{assert_close_to_async, pair, TRANSPOSES};
use crate::{MatmulKernel, Wgpu};
use minimax_autodiff::{
    concat_cols, concat_rows, AdamStep, Axis, Backend, Binary, Dist, RefTensor, Reference, Shape,
    Tape, TensorShape, Unary, Var,
};

/// The reference every check compares with.
const CPU: Reference<f32> = Reference::new();

/// Every matmul kernel (the large one where m, k and n are multiples of
/// 4), with every transpose of its operands.
pub async fn matmul_every_kernel_and_transpose(gpu: &Wgpu) {
    // (m, k, n): ones, primes, one either side of the 64-wide tile and the
    // 16-deep k step, non-square, and vectors.
    let shapes = [
        (1, 1, 1),
        (1, 7, 1),
        (7, 1, 7),
        (7, 63, 65),
        (64, 64, 64),
        (65, 17, 63),
        (63, 65, 1),
        (1, 257, 64),
        (257, 15, 7),
        (130, 33, 129),
    ];
    for (seed, &(m, k, n)) in shapes.iter().enumerate() {
        for (ta, tb) in TRANSPOSES {
            // Stored shapes: [m, k] or [k, m]; [k, n] or [n, k].
            let (ar, ac) = if ta { (k, m) } else { (m, k) };
            let (br, bc) = if tb { (n, k) } else { (k, n) };
            let (a_cpu, a) = pair(&CPU, gpu, Shape::new(ar, ac), -1.0, 1.0, 2 * seed as u64);
            let (b_cpu, b) = pair(&CPU, gpu, Shape::new(br, bc), -1.0, 1.0, 2 * seed as u64 + 1);
            let want = CPU.matmul(&a_cpu, ta, &b_cpu, tb).unwrap();
            // Sums of k products of numbers below 1: error ≲ k · 2⁻²⁴.
            let atol = 1e-6 * k as f32;
            let mut kernels = vec![
                MatmulKernel::Auto,
                MatmulKernel::Small,
                MatmulKernel::Tiled,
                MatmulKernel::Naive,
            ];
            if [m, k, n].iter().all(|d| d % 4 == 0) {
                kernels.push(MatmulKernel::Large);
            }
            for kernel in kernels {
                let got = gpu.matmul_with(kernel, &a, ta, &b, tb).unwrap();
                let what = format!("{kernel:?} matmul m={m} k={k} n={n} ta={ta} tb={tb}");
                assert_close_to_async(&what, gpu, &got, &CPU, &want, 1e-5, atol).await;
            }
        }
    }
}

/// Every `Unary` variant, with the input range where it is defined.
pub fn every_unary() -> Vec<(Unary, f64, f64)> {
    vec![
        (Unary::Neg, -4.0, 4.0),
        (Unary::AddScalar(1.5), -4.0, 4.0),
        (Unary::MulScalar(-2.5), -4.0, 4.0),
        (Unary::Exp, -10.0, 10.0),
        (Unary::Log, 0.01, 10.0),
        (Unary::Sqrt, 0.01, 10.0),
        (Unary::Powi(3), -2.0, 2.0),
        (Unary::Powi(-2), 0.5, 2.0),
        (Unary::Powi(0), -2.0, 2.0),
        (Unary::Tanh, -4.0, 4.0),
        (Unary::Sigmoid, -10.0, 10.0),
        (Unary::Relu, -4.0, 4.0),
        (Unary::LeakyRelu(0.2), -4.0, 4.0),
        (Unary::Elu(0.7), -4.0, 4.0),
        (Unary::Softplus, -10.0, 10.0),
        (Unary::Clamp(-0.5, 0.8), -2.0, 2.0),
    ]
}

/// Every unary op, forward `y = f(x)` and backward `dx = f'(x) · dy`.
pub async fn unary_forward_and_backward(gpu: &Wgpu) {
    for (seed, (op, lo, hi)) in every_unary().into_iter().enumerate() {
        for (rows, cols) in [(1, 1), (7, 65), (1, 257), (64, 63)] {
            let seed = 10 * seed as u64 + rows as u64;
            let (x_cpu, x) = pair(&CPU, gpu, Shape::new(rows, cols), lo, hi, seed);
            let (dy_cpu, dy) = pair(&CPU, gpu, Shape::new(rows, cols), -1.0, 1.0, seed + 1000);
            let y_cpu = CPU.unary(op, &x_cpu);
            let y = gpu.unary(op, &x);
            // exp, log, tanh… may differ from the CPU's by a few ulps.
            let what = format!("{op:?} [{rows}, {cols}]");
            assert_close_to_async(&what, gpu, &y, &CPU, &y_cpu, 1e-5, 1e-6).await;
            let dx_cpu = CPU.unary_backward(op, &x_cpu, &y_cpu, &dy_cpu);
            let dx = gpu.unary_backward(op, &x, &y, &dy);
            let what = format!("{op:?}' [{rows}, {cols}]");
            assert_close_to_async(&what, gpu, &dx, &CPU, &dx_cpu, 1e-5, 1e-6).await;
        }
    }
}

/// The four binary ops with `b` of `a`'s shape, a row, a column and a
/// scalar (the broadcasts).
pub async fn binary_with_every_broadcast(gpu: &Wgpu) {
    for (rows, cols) in [(1, 1), (65, 7), (1, 257), (63, 1), (64, 64)] {
        let (a_cpu, a) = pair(&CPU, gpu, Shape::new(rows, cols), -2.0, 2.0, 1);
        // b: same shape, a row, a column, a scalar. Kept away from 0 for div.
        for (br, bc) in [(rows, cols), (1, cols), (rows, 1), (1, 1)] {
            let (b_cpu, b) = pair(&CPU, gpu, Shape::new(br, bc), 0.5, 2.0, 2);
            for op in [Binary::Add, Binary::Sub, Binary::Mul, Binary::Div] {
                let want = CPU.binary(op, &a_cpu, &b_cpu).unwrap();
                let got = gpu.binary(op, &a, &b).unwrap();
                let what = format!("{op:?} [{rows}, {cols}] with [{br}, {bc}]");
                assert_close_to_async(&what, gpu, &got, &CPU, &want, 1e-6, 0.0).await;
            }
        }
    }
}

/// Sums over everything, over rows and over columns, within the bound on
/// two orders of summation.
pub async fn sums_on_every_axis(gpu: &Wgpu) {
    // 257 × 257 and 1 × 70 000 take the two-pass path of the full sum
    // (more than one workgroup); 1 × 1 and 7 × 7 the one-pass path.
    for (rows, cols) in [(1, 1), (7, 7), (63, 65), (257, 257), (1, 70_000), (300, 1)] {
        let (x_cpu, x) = pair(&CPU, gpu, Shape::new(rows, cols), -1.0, 1.0, rows as u64);
        let abs: Vec<f32> = x_cpu.data().iter().map(|v| v.abs()).collect();
        let abs = RefTensor::new(x_cpu.shape(), abs).unwrap();
        for axis in [None, Some(Axis::Rows), Some(Axis::Cols)] {
            let want = CPU.sum(&x_cpu, axis);
            let got = gpu.download_async(&gpu.sum(&x, axis)).await.unwrap();
            // The orders of summation differ. Each order's error is at most
            // (n - 1) · 2⁻²⁴ · Σ|x| (Higham, Accuracy and Stability of
            // Numerical Algorithms, §4.2), so two differ by at most twice that.
            let n = match axis {
                None => rows * cols,
                Some(Axis::Rows) => rows,
                Some(Axis::Cols) => cols,
            };
            let bound = CPU.sum(&abs, axis);
            assert_eq!(got.len(), want.data().len(), "sum {axis:?} of [{rows}, {cols}]: lengths");
            for (i, (&g, &c)) in got.iter().zip(want.data()).enumerate() {
                let tol = 2.0 * n as f32 * 2f32.powi(-24) * bound.data()[i];
                assert!(
                    (g - c).abs() <= tol,
                    "sum {axis:?} of [{rows}, {cols}][{i}]: gpu {g} vs cpu {c}"
                );
            }
        }
    }
}

/// Three SGD-with-momentum steps and three Adam steps on one parameter.
pub async fn sgd_and_adam_steps(gpu: &Wgpu) {
    for (rows, cols) in [(1, 1), (63, 65), (1, 257), (64, 7)] {
        let (mut p_cpu, mut p) = pair(&CPU, gpu, Shape::new(rows, cols), -1.0, 1.0, 1);
        let (mut v_cpu, mut v) = pair(&CPU, gpu, Shape::new(rows, cols), 0.0, 0.0, 2); // zeros
        let (mut m_cpu, mut m) = (v_cpu.clone(), gpu.fill(p.shape(), 0.0));
        let (mut s_cpu, mut s) = (v_cpu.clone(), gpu.fill(p.shape(), 0.0));
        for t in 1..=3 {
            let (g_cpu, g) = pair(&CPU, gpu, Shape::new(rows, cols), -1.0, 1.0, 10 + t as u64);
            CPU.sgd_step(&mut p_cpu, &g_cpu, &mut v_cpu, 0.05, 0.9).unwrap();
            gpu.sgd_step(&mut p, &g, &mut v, 0.05, 0.9).unwrap();
            let hp = AdamStep { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, t };
            CPU.adam_step(&mut p_cpu, &g_cpu, &mut m_cpu, &mut s_cpu, hp).unwrap();
            gpu.adam_step(&mut p, &g, &mut m, &mut s, hp).unwrap();
        }
        for (name, got, want, atol) in [
            ("param", &p, &p_cpu, 1e-6),
            ("velocity", &v, &v_cpu, 1e-6),
            ("adam m", &m, &m_cpu, 1e-6),
            ("adam v", &s, &s_cpu, 1e-7),
        ] {
            let what = format!("{name} [{rows}, {cols}]");
            assert_close_to_async(&what, gpu, got, &CPU, want, 1e-5, atol).await;
        }
    }
}

/// A small model touching every primitive's backward: matmul (plain and
/// transposed), bias add, the activations, div, concat and slice (columns
/// and rows), reductions, the moments and the BCE loss. Returns the loss
/// and the gradients of the three leaves, on `be`.
fn expression<B: Backend<Elem = f32>>(be: &B, x: &[f32], w: &[f32], b: &[f32]) -> [B::Tensor; 4] {
    let tape = Tape::new(be.clone());
    let x = tape.leaf(be.upload(Shape::new(9, 5), x).unwrap()); // [batch, in]
    let w = tape.leaf(be.upload(Shape::new(5, 4), w).unwrap()); // [in, out]
    let b = tape.leaf(be.upload(Shape::new(1, 4), b).unwrap()); // [1, out]
    let h = x.matmul(&w).unwrap().add(&b).unwrap(); // [9, 4]
    let a = h.tanh().mul(&h.sigmoid()).unwrap().add(&h.leaky_relu(0.1)).unwrap(); // [9, 4]
    let e = a.elu(0.5).softplus().div(&a.square().add_scalar(1.0)).unwrap(); // [9, 4]
    let s = concat_cols(&[&e, &a.slice_cols(1, 2).unwrap(), &h.clamp(-1.5, 1.5)]).unwrap(); // [9, 8]
    let q = s.slice_cols(0, 4).unwrap().matmul_t(false, &w, true).unwrap(); // [9, 4] · wᵀ = [9, 5]
    let q = concat_rows(&[&q.slice_rows(4, 5).unwrap(), &q.slice_rows(0, 4).unwrap()]).unwrap(); // rows rotated, [9, 5]
    let r = q.mul(&x).unwrap().sum_axis(Axis::Cols).mul_scalar(0.1).exp(); // [9, 1]
    let r = r.square().add_scalar(1.0).log().sqrt(); // [9, 1]
    let moments = s.moments().unwrap(); // [1, 32]
    let targets: Var<B> = tape.constant(be.fill(Shape::new(9, 1), 1.0));
    let bce = r.sub(&r.mean_axis(Axis::Rows)).unwrap().bce_with_logits(&targets).unwrap();
    let loss = bce
        .add(&moments.powi(2).mean().mul_scalar(0.01))
        .unwrap()
        .add(&s.transpose().sum_axis(Axis::Rows).mean())
        .unwrap();
    let grads = tape.backward(&loss).unwrap();
    let grad = |leaf: &Var<B>| grads.get(leaf).unwrap().clone();
    [loss.value().clone(), grad(&x), grad(&w), grad(&b)]
}

/// A small model's loss and gradients through the tape (every primitive's
/// backward), on the GPU against the CPU, read back in one submit.
pub async fn tape_forward_and_backward(gpu: &Wgpu) {
    let draw = |n, seed| {
        CPU.random(Shape::new(1, n), Dist::Uniform { lo: -1.0, hi: 1.0 }, seed).data().to_vec()
    };
    let (x, w, b) = (draw(45, 1), draw(20, 2), draw(4, 3));
    let want = expression(&CPU, &x, &w, &b);
    let got = expression(gpu, &x, &w, &b);
    let got = gpu.download_many_async(&got.iter().collect::<Vec<_>>()).await.unwrap();
    for (name, (g, c)) in ["loss", "dx", "dw", "db"].iter().zip(got.iter().zip(&want)) {
        assert_eq!(g.len(), c.data().len(), "{name}");
        for (i, (&g, &c)) in g.iter().zip(c.data()).enumerate() {
            assert!(c.is_finite(), "{name}[{i}] is {c} on the CPU: fix the test expression");
            assert!((g - c).abs() <= 1e-5 + 1e-4 * c.abs(), "{name}[{i}]: gpu {g} vs cpu {c}");
        }
    }
}
