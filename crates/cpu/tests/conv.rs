//! The tuned CPU convolution (`crates/cpu/src/conv.rs`: im2col into the
//! gemm) against the reference's seven loops, its three kernels in `f32`
//! and `f64` on awkward geometries: 1, 3 and 7 channels, odd images (7×5,
//! 9×9, 1×1, 13×13), strides 1 and 2, padding 0 and 1, kernels 1, 3, 4 and
//! 5, batches 1, 3, 7 and 65, and the DCGAN's layers; then the same bits
//! for any thread count.

use minimax_autodiff::{
    Backend, ConvGeometry, Dist, Real, RefTensor, Reference, Shape, TensorShape,
};
use minimax_cpu::threads::with_threads;
use minimax_cpu::{conv, Cpu, CpuTensor};

/// `(geometry, batch)`: each line names what it exercises.
fn cases() -> Vec<(ConvGeometry, usize)> {
    let g = ConvGeometry::new;
    let t = |c_in, c_out, hw, k, s, p| ConvGeometry::transposed(c_in, c_out, hw, k, s, p).unwrap();
    vec![
        (g(1, 1, (1, 1), 1, 1, 0), 1),    // the smallest: one pixel, one tap
        (g(3, 7, (7, 5), 3, 1, 1), 3),    // "same" 3×3, odd sizes
        (g(7, 3, (9, 9), 1, 1, 0), 7),    // 1×1 on 81 pixels: the direct path
        (g(3, 3, (7, 5), 1, 1, 0), 3),    // 1×1 on 35 pixels: the blocked path
        (g(3, 7, (13, 13), 1, 2, 0), 3),  // 1×1 with stride 2
        (g(7, 1, (13, 13), 5, 2, 1), 3),  // kernel 5, stride 2
        (g(1, 7, (9, 9), 4, 2, 1), 65),   // kernel 4 > stride 2, batch 65
        (g(3, 3, (13, 13), 4, 2, 0), 7),  // stride 2 without padding: edge columns unread
        (g(1, 3, (7, 5), 5, 1, 0), 1),    // kernel as wide as the image, batch 1
        (g(7, 7, (9, 9), 3, 2, 1), 1),    // a block of one image (no permutation)
        (g(3, 1, (1, 1), 3, 1, 1), 3),    // a 1×1 image under a 3×3 kernel: 8 taps on padding
        (g(3, 1, (7, 5), 4, 1, 1), 3),    // even kernel, stride 1: OH·OW = 6·4
        (g(7, 3, (13, 13), 3, 1, 1), 65), // several blocks, the last one short
        (g(3, 2, (9, 7), 5, 2, 2), 3),    // padding 2: taps that skip more than a stride
        (g(2, 3, (9, 7), 3, 3, 2), 3),    // stride 3, as wide as the kernel
        // The DCGAN (batch 64 in training): D's two convolutions, and G's
        // two transposed ones, which are the same two geometries.
        (g(1, 64, (28, 28), 4, 2, 1), 3),
        (g(64, 128, (14, 14), 4, 2, 1), 2),
        (t(128, 64, (7, 7), 4, 2, 1), 2),
        (t(64, 1, (14, 14), 4, 2, 1), 3),
    ]
}

/// The same random values on both backends, uniform in `[-1, 1)`.
fn pair<T: Real>(shape: Shape, seed: u64) -> (RefTensor<T>, CpuTensor<T>) {
    let r = Reference::<T>::new().random(shape, Dist::Uniform { lo: -1.0, hi: 1.0 }, seed);
    (r.clone(), Cpu::<T>::new().upload(shape, r.data()).unwrap())
}

/// The tolerance, relative to `max(|want|, 1)`, for outputs that are sums
/// of at most `terms` products of values in `[-1, 1)` added in another
/// order than the reference's. `f32`: `4·terms·ε` (`ε = 2⁻²³`): each of the
/// `terms` additions rounds by at most `ε` times a partial sum, and the
/// partial sums of these random terms stay far below `terms` (about
/// `√terms`), so this bound is loose; it grows with the taps (forward),
/// `C_out·k·k` (input gradient) and `batch·OH·OW` (weight gradient).
/// `f64`: `1e-12` flat, which every case here meets.
fn tol<T: Real>(terms: usize) -> f64 {
    if T::NAME == "f32" {
        4.0 * terms as f64 * f32::EPSILON as f64
    } else {
        1e-12
    }
}

fn close<T: Real>(what: &str, want: &RefTensor<T>, got: &CpuTensor<T>, tol: f64) {
    assert_eq!(want.shape(), got.shape(), "{what}: shapes");
    for (i, (w, g)) in want.data().iter().zip(got.data()).enumerate() {
        let (w, g) = (w.to_f64(), g.to_f64());
        let err = (w - g).abs() / w.abs().max(1.0);
        assert!(err <= tol, "{what} [{}] element {i}: {g} vs reference {w} (tol {tol:e})", T::NAME);
    }
}

fn against_reference<T: Real>() {
    let (r, c) = (Reference::<T>::new(), Cpu::<T>::new());
    for (case, (g, batch)) in cases().into_iter().enumerate() {
        let seed = 10 * case as u64;
        let (xr, xc) = pair::<T>(Shape::new(batch, g.in_cols()), seed);
        let (wr, wc) = pair::<T>(g.weight_shape(), seed + 1);
        let (dyr, dyc) = pair::<T>(Shape::new(batch, g.out_cols()), seed + 2);
        let what = |op| format!("{op} batch {batch}, {g}");
        // Terms per output: taps; per input pixel at most C_out·k·k; per
        // weight batch·OH·OW.
        let p = g.out_height() * g.out_width();
        let terms = [g.taps(), g.out_channels * g.kernel * g.kernel, batch * p];
        let want = r.conv2d(&xr, &wr, &g).unwrap();
        close(&what("conv2d"), &want, &c.conv2d(&xc, &wc, &g).unwrap(), tol::<T>(terms[0]));
        let want = r.conv2d_backward_input(&dyr, &wr, &g).unwrap();
        let got = c.conv2d_backward_input(&dyc, &wc, &g).unwrap();
        close(&what("conv2d_backward_input"), &want, &got, tol::<T>(terms[1]));
        let want = r.conv2d_backward_weight(&xr, &dyr, &g).unwrap();
        let got = c.conv2d_backward_weight(&xc, &dyc, &g).unwrap();
        close(&what("conv2d_backward_weight"), &want, &got, tol::<T>(terms[2]));
    }
}

#[test]
fn conv_f32_matches_the_reference() {
    against_reference::<f32>();
}

#[test]
fn conv_f64_matches_the_reference() {
    against_reference::<f64>();
}

#[test]
fn a_batch_of_none_gives_empty_outputs_and_a_zero_weight_gradient() {
    let (r, c) = (Reference::<f32>::new(), Cpu::<f32>::new());
    let g = ConvGeometry::new(3, 2, (5, 5), 3, 1, 1);
    let (xr, xc) = pair::<f32>(Shape::new(0, g.in_cols()), 1);
    let (wr, wc) = pair::<f32>(g.weight_shape(), 2);
    let (dyr, dyc) = pair::<f32>(Shape::new(0, g.out_cols()), 3);
    close("conv2d", &r.conv2d(&xr, &wr, &g).unwrap(), &c.conv2d(&xc, &wc, &g).unwrap(), 0.0);
    let got = c.conv2d_backward_input(&dyc, &wc, &g).unwrap();
    close("backward_input", &r.conv2d_backward_input(&dyr, &wr, &g).unwrap(), &got, 0.0);
    // A recycled buffer of the weight's size first, so old values would show.
    drop(c.fill(g.weight_shape(), 7.0));
    let got = c.conv2d_backward_weight(&xc, &dyc, &g).unwrap();
    assert!(got.data().iter().all(|&v| v == 0.0), "{:?}", got.data());
}

/// The three kernels' outputs on `g` for a batch of `batch`, downloaded.
fn outputs(g: ConvGeometry, batch: usize) -> [Vec<f32>; 3] {
    let be = Cpu::<f32>::new();
    let u = Dist::Uniform { lo: -1.0, hi: 1.0 };
    let x = be.random(Shape::new(batch, g.in_cols()), u, 1);
    let w = be.random(g.weight_shape(), u, 2);
    let dy = be.random(Shape::new(batch, g.out_cols()), u, 3);
    [
        be.conv2d(&x, &w, &g).unwrap().data().to_vec(),
        be.conv2d_backward_input(&dy, &w, &g).unwrap().data().to_vec(),
        be.conv2d_backward_weight(&x, &dy, &g).unwrap().data().to_vec(),
    ]
}

#[test]
fn conv_gives_the_same_bits_for_any_thread_count() {
    // Sizes past the split thresholds: the DCGAN's big layer on 8 images
    // (cols [1024, 392], dx [8, 12544], both over 2·PARALLEL_MIN, and
    // products of 51 M multiply-adds), its first layer on 64 (cols
    // [16, 12544]), and an odd geometry in several blocks.
    let cases = [
        (ConvGeometry::new(64, 128, (14, 14), 4, 2, 1), 8),
        (ConvGeometry::new(1, 64, (28, 28), 4, 2, 1), 64),
        (ConvGeometry::new(7, 3, (13, 13), 3, 1, 1), 65),
    ];
    for (g, batch) in cases {
        let cols = g.taps() * conv::block_images(&g, batch) * g.out_height() * g.out_width();
        assert!(cols >= 2 * conv::PARALLEL_MIN, "{g}: cols {cols} is not split");
        let one = with_threads(1, || outputs(g, batch));
        for threads in [2, 3, 8] {
            let many = with_threads(threads, || outputs(g, batch));
            for (op, (a, b)) in one.iter().zip(&many).enumerate() {
                assert!(a == b, "{g}, kernel {op}: 1 and {threads} threads differ");
            }
        }
    }
}
