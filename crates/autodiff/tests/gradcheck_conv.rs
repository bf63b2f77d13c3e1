//! The image ops: `conv2d`, `conv_transpose2d`, the per-channel ops and
//! `batch_norm2d` (`batch_norm2d_eval`), each
//!
//! - gradchecked on `Reference<f64>` at PyTorch's tolerances (ε = 1e-6,
//!   atol = 1e-5, rtol = 1e-3), every input at once, on awkward geometries;
//! - and, forward, against a naive definition written here from the
//!   formula alone, independently of `reference/conv.rs`: the transposed
//!   convolution as a *scatter* (each input pixel spreading `x · w` over a
//!   k×k patch of the output), batch norm as a loop per channel.
//!
//! The backend's own seven loops (`reference/conv.rs`) are the reference
//! the tuned CPU and the GPU kernels are tested against; here the ops built
//! on them are checked against the math. The hand-computed 3×3 cases are in
//! `tests/hand_computed/conv.rs`, on every backend.

use minimax_autodiff::gradcheck::random_input;
use minimax_autodiff::{gradcheck, ConvGeometry, RefTensor, Reference, Shape, Tape, Var};

type F64 = Reference<f64>;

/// Awkward geometries `(C_in, C_out, (H, W), k, s, p)` with a batch each:
/// 1, 3 and 7 channels, odd and non-square sizes, stride 2 with padding 1,
/// a kernel larger than the stride, a 1×1 kernel, a kernel covering the
/// whole padded image.
/// `(batch, C_in, C_out, (H, W), k, s, p)`.
type Case = (usize, usize, usize, (usize, usize), usize, usize, usize);

const GEOMETRIES: [Case; 8] = [
    // (batch, C_in, C_out, (H, W), k, s, p)
    (1, 1, 1, (3, 3), 3, 1, 0),
    (2, 1, 3, (5, 7), 3, 1, 1),
    (3, 3, 2, (7, 5), 4, 2, 1),
    (2, 7, 3, (5, 5), 3, 2, 1),
    (1, 3, 7, (6, 6), 1, 1, 0),
    (2, 2, 2, (9, 9), 5, 2, 2),
    (3, 1, 2, (4, 4), 4, 2, 1),
    (1, 2, 1, (2, 3), 3, 1, 1),
];

fn geometry(i: usize) -> (usize, ConvGeometry) {
    let (n, ci, co, hw, k, s, p) = GEOMETRIES[i];
    (n, ConvGeometry::new(ci, co, hw, k, s, p))
}

fn check(
    what: &str,
    inputs: &[RefTensor<f64>],
    f: impl Fn(&[Var<F64>]) -> minimax_autodiff::Result<Var<F64>>,
) {
    if let Err(e) = gradcheck(f, inputs) {
        panic!("{what}: {e}");
    }
}

#[test]
fn conv2d_gradcheck_input_and_weight() {
    for i in 0..GEOMETRIES.len() {
        let (n, g) = geometry(i);
        let x = random_input(n, g.in_cols(), -1.0, 1.0, 10 + i as u64);
        let w = random_input(g.out_channels, g.taps(), -1.0, 1.0, 20 + i as u64);
        check(&format!("conv2d {g}, batch {n}"), &[x, w], |v| v[0].conv2d(&v[1], g));
    }
}

#[test]
fn conv_transpose2d_gradcheck_input_and_weight() {
    for i in 0..GEOMETRIES.len() {
        let (n, g) = geometry(i);
        // The transpose maps g's output back onto g's input.
        let x = random_input(n, g.out_cols(), -1.0, 1.0, 30 + i as u64);
        let w = random_input(g.out_channels, g.taps(), -1.0, 1.0, 40 + i as u64);
        check(&format!("conv_transpose2d of {g}, batch {n}"), &[x, w], |v| {
            v[0].conv_transpose2d(&v[1], g)
        });
    }
}

#[test]
fn conv_with_channel_bias_gradcheck() {
    // A layer: conv2d(x, w) + b per channel, then the transpose with its bias.
    let (n, g) = geometry(2);
    let x = random_input(n, g.in_cols(), -1.0, 1.0, 1);
    let w = random_input(g.out_channels, g.taps(), -1.0, 1.0, 2);
    let b = random_input(1, g.out_channels, -1.0, 1.0, 3);
    let b2 = random_input(1, g.in_channels, -1.0, 1.0, 4);
    check("conv2d + bias, then conv_transpose2d + bias", &[x, w, b, b2], |v| {
        let y = v[0].conv2d(&v[1], g)?.add_channels(&v[2])?; // [n, C_out·OH·OW]
        y.tanh().conv_transpose2d(&v[1], g)?.add_channels(&v[3]) // [n, C_in·H·W]
    });
}

#[test]
fn per_channel_ops_gradcheck() {
    // [3, 2·5]: 3 images of 2 channels of 5 positions.
    let x = random_input(3, 10, -1.0, 1.0, 5);
    let s = random_input(1, 2, 0.5, 2.0, 6);
    check("mul_channels, add_channels", &[x.clone(), s.clone(), s.clone()], |v| {
        v[0].mul_channels(&v[1])?.add_channels(&v[2])
    });
    check("mean_channels", &[x], |v| v[0].mean_channels(2));
}

#[test]
fn batch_norm2d_gradcheck_every_output() {
    // Training mode: the gradient flows through the batch's mean and variance.
    for (seed, (n, c, p)) in [(2, 1, 1), (1, 3, 4), (3, 2, 9), (4, 7, 1)].into_iter().enumerate() {
        let x = random_input(n, c * p, -1.0, 1.0, 50 + seed as u64);
        let what = format!("batch_norm2d of {n} images of {c} channels of {p} positions");
        check(&format!("{what}: normalised"), std::slice::from_ref(&x), |v| {
            Ok(v[0].batch_norm2d(c, 1e-5)?.normalised)
        });
        check(&format!("{what}: mean"), std::slice::from_ref(&x), |v| {
            Ok(v[0].batch_norm2d(c, 1e-5)?.mean)
        });
        check(&format!("{what}: var"), std::slice::from_ref(&x), |v| {
            Ok(v[0].batch_norm2d(c, 1e-5)?.var)
        });
        let (m, s) = (random_input(1, c, -1.0, 1.0, 7), random_input(1, c, 0.5, 2.0, 8));
        check(&format!("{what}: eval"), &[x, m, s], |v| v[0].batch_norm2d_eval(&v[1], &v[2], 1e-5));
    }
}

#[test]
fn batch_norm2d_of_a_conv_layer_gradcheck() {
    // As BatchNorm2d follows a conv in D: γ·BN(conv(x, w)) + β, all inputs.
    let (n, g) = geometry(3);
    let x = random_input(n, g.in_cols(), -1.0, 1.0, 60);
    let w = random_input(g.out_channels, g.taps(), -1.0, 1.0, 61);
    let gamma = random_input(1, g.out_channels, 0.5, 2.0, 62);
    let beta = random_input(1, g.out_channels, -1.0, 1.0, 63);
    check("affine batch_norm2d of a conv", &[x, w, gamma, beta], |v| {
        let z = v[0].conv2d(&v[1], g)?;
        z.batch_norm2d(g.out_channels, 1e-5)?.normalised.mul_channels(&v[2])?.add_channels(&v[3])
    });
}

/// The transposed convolution from its definition as a scatter: each input
/// pixel `x[n, o, oy, ox]` adds `x · w[o, i, ky, kx]` to output pixel
/// `(i, oy·s + ky - p, ox·s + kx - p)` when that lies inside the output.
fn naive_conv_transpose(x: &[f64], w: &[f64], n: usize, g: &ConvGeometry) -> Vec<f64> {
    let (oh, ow, k) = (g.out_height(), g.out_width(), g.kernel);
    let mut y = vec![0.0; n * g.in_cols()];
    for b in 0..n {
        for o in 0..g.out_channels {
            for oy in 0..oh {
                for ox in 0..ow {
                    let v = x[b * g.out_cols() + (o * oh + oy) * ow + ox];
                    for i in 0..g.in_channels {
                        for ky in 0..k {
                            for kx in 0..k {
                                let (yy, xx) = (
                                    (oy * g.stride + ky) as isize - g.padding as isize,
                                    (ox * g.stride + kx) as isize - g.padding as isize,
                                );
                                if yy < 0
                                    || xx < 0
                                    || yy >= g.height as isize
                                    || xx >= g.width as isize
                                {
                                    continue;
                                }
                                let wv = w[((o * g.in_channels + i) * k + ky) * k + kx];
                                y[b * g.in_cols()
                                    + (i * g.height + yy as usize) * g.width
                                    + xx as usize] += v * wv;
                            }
                        }
                    }
                }
            }
        }
    }
    y
}

#[test]
fn conv_transpose2d_is_the_scatter_of_its_definition() {
    let be = F64::new();
    for i in 0..GEOMETRIES.len() {
        let (n, g) = geometry(i);
        let x = random_input(n, g.out_cols(), -1.0, 1.0, 70 + i as u64);
        let w = random_input(g.out_channels, g.taps(), -1.0, 1.0, 80 + i as u64);
        let tape = Tape::new(be);
        let y = tape.constant(x.clone()).conv_transpose2d(&tape.constant(w.clone()), g).unwrap();
        let want = naive_conv_transpose(x.data(), w.data(), n, &g);
        assert_eq!(y.shape(), Shape::new(n, g.in_cols()), "{g}");
        for (j, (a, b)) in y.to_vec().unwrap().iter().zip(&want).enumerate() {
            assert!(
                (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
                "conv_transpose2d of {g}, element {j}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn batch_norm2d_is_a_loop_per_channel() {
    // PyTorch's BatchNorm2d in training mode, one channel at a time.
    let be = F64::new();
    let (n, c, p) = (3, 4, 5);
    let x = random_input(n, c * p, -2.0, 2.0, 90);
    let tape = Tape::new(be);
    let out = tape.constant(x.clone()).batch_norm2d(c, 1e-5).unwrap();
    let (y, mean, var) =
        (out.normalised.to_vec().unwrap(), out.mean.to_vec().unwrap(), out.var.to_vec().unwrap());
    let unbiased = out.unbiased_var().to_vec().unwrap();
    for ch in 0..c {
        let vals: Vec<f64> = (0..n)
            .flat_map(|b| (0..p).map(move |q| (b, q)))
            .map(|(b, q)| x.at(b, ch * p + q))
            .collect();
        let m = vals.iter().sum::<f64>() / vals.len() as f64;
        let v = vals.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / vals.len() as f64;
        assert!((mean[ch] - m).abs() < 1e-14 && (var[ch] - v).abs() < 1e-14, "channel {ch}");
        assert!(
            (unbiased[ch] - v * 15.0 / 14.0).abs() < 1e-14,
            "channel {ch}: unbiased over n·P = 15"
        );
        for b in 0..n {
            for q in 0..p {
                let want = (x.at(b, ch * p + q) - m) / (v + 1e-5).sqrt();
                assert!(
                    (y[b * c * p + ch * p + q] - want).abs() < 1e-12,
                    "channel {ch}, image {b}, position {q}"
                );
            }
        }
    }
}

#[test]
fn bad_shapes_name_the_op_and_both_shapes() {
    let be = F64::new();
    let tape = Tape::new(be);
    let g = ConvGeometry::new(3, 2, (5, 5), 3, 1, 1);
    let x = tape.constant(random_input(2, 75, -1.0, 1.0, 1));
    let bad_w = tape.constant(random_input(2, 26, -1.0, 1.0, 2));
    let e = x.conv2d(&bad_w, g).unwrap_err().to_string();
    assert!(
        e.contains("conv2d")
            && e.contains("[2, 75]")
            && e.contains("[2, 26]")
            && e.contains("[2, 27]"),
        "{e}"
    );
    let bad_x = tape.constant(random_input(2, 74, -1.0, 1.0, 1));
    let w = tape.constant(random_input(2, 27, -1.0, 1.0, 2));
    let e = bad_x.conv2d(&w, g).unwrap_err().to_string();
    assert!(e.contains("conv2d") && e.contains("[2, 74]") && e.contains("[batch, 75]"), "{e}");
    let e = x.conv_transpose2d(&w, g).unwrap_err().to_string();
    assert!(
        e.contains("conv2d_backward_input") && e.contains("[2, 75]") && e.contains("[batch, 50]"),
        "{e}"
    );
    let e = x.batch_norm2d(4, 1e-5).map(|_| ()).unwrap_err().to_string();
    assert!(e.contains("channel_rows") && e.contains("4 channels"), "{e}");
    let one = tape.constant(random_input(1, 3, -1.0, 1.0, 1));
    let e = one.batch_norm2d(3, 1e-5).map(|_| ()).unwrap_err().to_string();
    assert!(e.contains("batch_norm2d") && e.contains("at least 2"), "{e}");
}
