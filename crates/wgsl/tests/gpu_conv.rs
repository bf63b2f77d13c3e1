//! The GPU's convolution kernels, naive and implicit GEMM, each against the
//! plain loops of `Reference<f32>`: the forward, the input gradient and the
//! weight gradient on awkward geometries (1, 3, 7 channels and 63 / 64 / 65
//! either side of the GEMM's 64-wide tiles, odd and 1 × 1 images, strides 1
//! and 2, padding 0 and 1, kernels 1, 3, 4, 5, batches 1 to 65), the DCGAN's
//! four, sums past llvmpipe's loop limit, the shape errors, what a step of
//! convolutions costs, and gradients through the tape.
//!
//! Each test gets its GPU from `gpu_or_skip`: with no adapter it prints
//! `skipped <test>: <reason>` and passes, unless `MINIMAX_REQUIRE_GPU=1`
//! makes that a failure. Sizes are small: these run on lavapipe and on GL.

use minimax_autodiff::{Backend, ConvGeometry, Dist, Reference, Shape, Tape, TensorShape};
use minimax_wgsl::testing::{assert_close_to, assert_steady_step, download, gpu_or_skip, pair};
use minimax_wgsl::{ConvKernel, Wgpu};

const CPU: Reference<f32> = Reference::new();
const KERNELS: [ConvKernel; 2] = [ConvKernel::Gemm, ConvKernel::Naive];

/// `ConvGeometry::new`, shorter.
const fn g(
    c_in: usize,
    c_out: usize,
    hw: (usize, usize),
    k: usize,
    s: usize,
    p: usize,
) -> ConvGeometry {
    ConvGeometry::new(c_in, c_out, hw, k, s, p)
}

/// The tolerance of a sum of `terms` products of numbers in [-1, 1): each
/// rounding is at most 2⁻²⁴ of a partial sum, and the two sides add in
/// different orders.
fn atol(terms: usize) -> f32 {
    1e-6 * terms.max(1) as f32
}

/// Runs the three ops with `kernel` on random data of `batch` images for
/// `g` and compares each with the reference's.
fn check(gpu: &Wgpu, kernel: ConvKernel, batch: usize, g: ConvGeometry, seed: u64) {
    let (x_cpu, x) = pair(&CPU, gpu, Shape::new(batch, g.in_cols()), -1.0, 1.0, seed);
    let (w_cpu, w) = pair(&CPU, gpu, g.weight_shape(), -1.0, 1.0, seed + 1);
    let (dy_cpu, dy) = pair(&CPU, gpu, Shape::new(batch, g.out_cols()), -1.0, 1.0, seed + 2);
    let what = |op: &str| format!("{kernel:?} {op}, batch {batch}, {g}");
    let k2 = g.kernel * g.kernel;

    let want = CPU.conv2d(&x_cpu, &w_cpu, &g).unwrap();
    let got = gpu.conv2d_with(kernel, &x, &w, &g).unwrap();
    assert_close_to(&what("conv2d"), gpu, &got, &CPU, &want, 1e-5, atol(g.taps()));

    let want = CPU.conv2d_backward_input(&dy_cpu, &w_cpu, &g).unwrap();
    let got = gpu.conv2d_backward_input_with(kernel, &dy, &w, &g).unwrap();
    let terms = g.out_channels * k2;
    assert_close_to(&what("conv2d_backward_input"), gpu, &got, &CPU, &want, 1e-5, atol(terms));

    let want = CPU.conv2d_backward_weight(&x_cpu, &dy_cpu, &g).unwrap();
    let got = gpu.conv2d_backward_weight_with(kernel, &x, &dy, &g).unwrap();
    let terms = batch * g.out_height() * g.out_width();
    assert_close_to(&what("conv2d_backward_weight"), gpu, &got, &CPU, &want, 1e-5, atol(terms));
}

/// `(batch, geometry)`: every channel count, image size, kernel, stride and
/// padding the module's documentation lists, and batches of 1, 3, 7, 65.
const AWKWARD: &[(usize, ConvGeometry)] = &[
    (1, g(1, 1, (1, 1), 1, 1, 0)),   // a 1 × 1 image
    (3, g(1, 1, (1, 1), 3, 1, 1)),   // 1 × 1 with a 3 × 3 kernel on padding
    (3, g(3, 7, (7, 5), 3, 1, 1)),   // odd, non-square
    (7, g(7, 3, (9, 9), 3, 2, 0)),   // stride 2, no padding
    (3, g(1, 3, (7, 5), 4, 2, 1)),   // kernel 4 > stride 2
    (2, g(3, 1, (13, 13), 5, 2, 1)), // kernel 5, one output channel
    (65, g(1, 2, (5, 5), 3, 1, 1)),  // a batch past a 64-wide tile
    (1, g(7, 7, (9, 9), 5, 1, 0)),
    (3, g(2, 3, (7, 5), 1, 2, 0)),   // kernel 1, stride 2: skips pixels
    (3, g(3, 2, (13, 13), 4, 1, 0)), // even kernel, stride 1
    (2, g(3, 3, (6, 7), 4, 2, 1)),   // even and odd sides, stride 2
];

/// Channels either side of the GEMM's 64-row and 64-column tiles, and taps
/// past its 1024-value parts (65·4·4 = 1040: two parts, two naive passes).
const TILE_EDGES: &[(usize, ConvGeometry)] = &[
    (2, g(63, 65, (5, 5), 3, 1, 1)),
    (2, g(65, 64, (3, 3), 3, 2, 1)),
    (1, g(64, 63, (4, 4), 1, 1, 0)),
    (2, g(65, 3, (4, 4), 4, 1, 0)),
    (3, g(3, 129, (3, 3), 3, 1, 1)),
];

#[test]
fn naive_kernels_match_the_reference() {
    let Some(gpu) = gpu_or_skip("naive_kernels_match_the_reference") else { return };
    for (seed, &(batch, g)) in AWKWARD.iter().chain(TILE_EDGES).enumerate() {
        check(&gpu, ConvKernel::Naive, batch, g, 3 * seed as u64);
    }
}

#[test]
fn gemm_kernels_match_the_reference() {
    let Some(gpu) = gpu_or_skip("gemm_kernels_match_the_reference") else { return };
    for (seed, &(batch, g)) in AWKWARD.iter().chain(TILE_EDGES).enumerate() {
        check(&gpu, ConvKernel::Gemm, batch, g, 3 * seed as u64);
    }
}

#[test]
fn the_dcgan_geometries_match_the_reference() {
    let Some(gpu) = gpu_or_skip("the_dcgan_geometries_match_the_reference") else { return };
    // D: 1×28×28 -> 64×14×14 -> 128×7×7; G's transposes 128×7×7 -> 64×14×14
    // -> 1×28×28 are the input gradients of the same two convolutions.
    let d1 = g(1, 64, (28, 28), 4, 2, 1);
    let d2 = g(64, 128, (14, 14), 4, 2, 1);
    let g1 = ConvGeometry::transposed(128, 64, (7, 7), 4, 2, 1).unwrap();
    let g2 = ConvGeometry::transposed(64, 1, (14, 14), 4, 2, 1).unwrap();
    assert_eq!((g1, g2), (d2, d1));
    for kernel in KERNELS {
        check(&gpu, kernel, 3, d1, 1);
        check(&gpu, kernel, 2, d2, 4);
    }
}

#[test]
fn sums_past_the_loop_limit_are_right() {
    let Some(gpu) = gpu_or_skip("sums_past_the_loop_limit_are_right") else { return };
    // The weight gradient of a 1 × 1 kernel over 65 images of 33 × 33 sums
    // 70 785 terms per weight: past llvmpipe's 65 535 loop iterations per
    // invocation in one loop, so 70 naive passes or 70 GEMM parts.
    let g = g(1, 2, (33, 33), 1, 1, 0);
    for kernel in KERNELS {
        check(&gpu, kernel, 65, g, 7);
    }
}

#[test]
fn an_empty_batch_gives_empty_outputs_and_a_zero_weight_gradient() {
    let Some(gpu) = gpu_or_skip("an_empty_batch_gives_empty_outputs_and_a_zero_weight_gradient")
    else {
        return;
    };
    let g = g(2, 3, (5, 5), 3, 1, 1);
    let x = gpu.upload(Shape::new(0, g.in_cols()), &[]).unwrap();
    let dy = gpu.upload(Shape::new(0, g.out_cols()), &[]).unwrap();
    let w = gpu.fill(g.weight_shape(), 1.0);
    for kernel in KERNELS {
        let y = gpu.conv2d_with(kernel, &x, &w, &g).unwrap();
        assert_eq!(y.shape(), Shape::new(0, g.out_cols()), "{kernel:?}");
        let dx = gpu.conv2d_backward_input_with(kernel, &dy, &w, &g).unwrap();
        assert_eq!(dx.shape(), Shape::new(0, g.in_cols()), "{kernel:?}");
        // From a recycled buffer with garbage in it.
        drop(gpu.fill(g.weight_shape(), 7.0));
        let dw = gpu.conv2d_backward_weight_with(kernel, &x, &dy, &g).unwrap();
        assert_eq!(download(&gpu, &dw), vec![0.0; g.weight_shape().numel()], "{kernel:?}");
    }
}

#[test]
fn wrong_shapes_are_errors_naming_the_op_and_both_shapes() {
    let Some(gpu) = gpu_or_skip("wrong_shapes_are_errors_naming_the_op_and_both_shapes") else {
        return;
    };
    let g = g(3, 4, (5, 5), 3, 1, 1);
    let x = gpu.fill(Shape::new(2, g.in_cols()), 1.0); // [2, 75]
    let dy = gpu.fill(Shape::new(2, g.out_cols()), 1.0); // [2, 100]
    let bad_w = gpu.fill(Shape::new(4, 26), 1.0); // not [4, 27]
    let short_dy = gpu.fill(Shape::new(3, g.out_cols()), 1.0); // another batch
    for kernel in KERNELS {
        let cases = [
            ("conv2d", gpu.conv2d_with(kernel, &x, &bad_w, &g).err(), x.shape(), bad_w.shape()),
            (
                "conv2d_backward_input",
                gpu.conv2d_backward_input_with(kernel, &dy, &bad_w, &g).err(),
                dy.shape(),
                bad_w.shape(),
            ),
            (
                "conv2d_backward_weight",
                gpu.conv2d_backward_weight_with(kernel, &x, &short_dy, &g).err(),
                x.shape(),
                short_dy.shape(),
            ),
            ("conv2d", gpu.conv2d_with(kernel, &dy, &bad_w, &g).err(), dy.shape(), bad_w.shape()),
        ];
        for (op, err, a, b) in cases {
            let e = err.unwrap_or_else(|| panic!("{kernel:?} {op}: no error")).to_string();
            let named = e.contains(op) && e.contains(&a.to_string()) && e.contains(&b.to_string());
            assert!(named, "{kernel:?}: {op}, {a} and {b} not all named: {e}");
        }
    }
    // What the Backend methods run says the same.
    let e = gpu.conv2d(&x, &bad_w, &g).unwrap_err().to_string();
    assert!(e.contains("conv2d") && e.contains("[4, 26]") && e.contains("[4, 27]"), "{e}");
}

#[test]
fn a_step_of_convolutions_reuses_everything_and_counts_its_dispatches() {
    let Some(gpu) =
        gpu_or_skip("a_step_of_convolutions_reuses_everything_and_counts_its_dispatches")
    else {
        return;
    };
    // 65·4·4 = 1040 taps: the forward's sum in two parts (the GEMM and
    // sum_parts; two naive passes); the input gradient's 3·16 = 48 terms
    // and the weight gradient's 2·1·1 one pass each.
    let g = g(65, 3, (4, 4), 4, 1, 0);
    let x = gpu.fill(Shape::new(2, g.in_cols()), 0.5);
    let w = gpu.fill(g.weight_shape(), 0.25);
    let dy = gpu.fill(Shape::new(2, g.out_cols()), 1.0);
    for kernel in KERNELS {
        let step = || {
            let y = gpu.conv2d_with(kernel, &x, &w, &g).unwrap();
            let dx = gpu.conv2d_backward_input_with(kernel, &dy, &w, &g).unwrap();
            let dw = gpu.conv2d_backward_weight_with(kernel, &x, &dy, &g).unwrap();
            gpu.flush().unwrap();
            drop((y, dx, dw));
        };
        step();
        step();
        gpu.reset_stats();
        step();
        let stats = gpu.stats();
        assert_steady_step(&format!("{kernel:?}"), &stats);
        assert_eq!(stats.dispatches, 4, "{kernel:?}: {stats}");
    }
}

/// A convolution, a transposed convolution and a loss on `be`; returns the
/// loss and the gradients of the input and both weights, downloaded.
fn through_the_tape<B: Backend<Elem = f32>>(be: &B, data: &[Vec<f32>; 4]) -> Vec<Vec<f32>> {
    // 3×7×7 -> 4×4×4 (k3 s2 p1), then the transpose 4×4×4 -> 2×7×7.
    let conv = g(3, 4, (7, 7), 3, 2, 1);
    let up = ConvGeometry::transposed(4, 2, (4, 4), 3, 2, 1).unwrap();
    let tape = Tape::new(be.clone());
    let x = tape.leaf(be.upload(Shape::new(2, conv.in_cols()), &data[0]).unwrap()); // [2, 3·7·7]
    let w1 = tape.leaf(be.upload(conv.weight_shape(), &data[1]).unwrap()); // [4, 3·3·3]
    let w2 = tape.leaf(be.upload(up.weight_shape(), &data[2]).unwrap()); // [4, 2·3·3]
    let t = tape.constant(be.upload(Shape::new(2, up.in_cols()), &data[3]).unwrap()); // [2, 2·7·7]
    let h = x.conv2d(&w1, conv).unwrap().tanh(); // [2, 4·4·4]
    let y = h.conv_transpose2d(&w2, up).unwrap(); // [2, 2·7·7]
    let loss = y.mul(&t).unwrap().sum().add(&y.square().mean()).unwrap();
    let grads = tape.backward(&loss).unwrap();
    let mut out = vec![loss.to_vec().unwrap()];
    for leaf in [&x, &w1, &w2] {
        out.push(be.download(grads.get(leaf).unwrap()).unwrap());
    }
    out
}

#[test]
fn tape_gradients_through_conv2d_and_conv_transpose2d_match_the_reference() {
    let Some(gpu) =
        gpu_or_skip("tape_gradients_through_conv2d_and_conv_transpose2d_match_the_reference")
    else {
        return;
    };
    let draw = |n: usize, seed| {
        let t = CPU.random(Shape::new(1, n), Dist::Uniform { lo: -1.0, hi: 1.0 }, seed);
        CPU.download(&t).unwrap()
    };
    let data = [draw(2 * 147, 1), draw(4 * 27, 2), draw(4 * 18, 3), draw(2 * 98, 4)];
    let want = through_the_tape(&CPU, &data);
    let got = through_the_tape(&gpu, &data);
    for (name, (g, c)) in ["loss", "dx", "dw1", "dw2"].iter().zip(got.iter().zip(&want)) {
        assert_eq!(g.len(), c.len(), "{name}");
        for (i, (&g, &c)) in g.iter().zip(c).enumerate() {
            assert!(c.is_finite(), "{name}[{i}] is {c} on the reference");
            assert!(
                (g - c).abs() <= 1e-4 + 1e-4 * c.abs(),
                "{name}[{i}]: gpu {g} vs reference {c}"
            );
        }
    }
}
