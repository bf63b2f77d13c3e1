//! Gradients of the image ops worked out by hand, as in `ops.rs`: one
//! channel of 3×3 (or 2×2) images you can follow on paper, integer data,
//! so every sum is exact in binary floating point and every assert is
//! `assert_eq!`. Images are rows `[batch, C·H·W]`, read row by row (the
//! layout of `minimax::autodiff::conv`); a 3×3 image `[[1, 2, 3], [4, 5, 6],
//! [7, 8, 9]]` is the row `[1, 2, …, 9]`.

use crate::common::run;
use minimax::autodiff::{Backend, ConvGeometry};

/// The 3×3 image [[1, 2, 3], [4, 5, 6], [7, 8, 9]].
const X3: [f64; 9] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
/// The seed G = dL/dy of a 2×2 output, [[1, 0], [2, -1]].
const G2: [f64; 4] = [1.0, 0.0, 2.0, -1.0];

fn conv2d_3x3_kernel_2<B: Backend>(be: &B) {
    // y[oy, ox] = Σ_{ky, kx} w[ky, kx] · x[oy + ky, ox + kx], k = 2, s = 1, p = 0:
    // a 2×2 output. With w = [[1, 2], [0, -1]]:
    //   y00 = 1·1 + 2·2 + 0·4 - 1·5 = 0      y01 = 1·2 + 2·3 + 0·5 - 1·6 = 2
    //   y10 = 1·4 + 2·5 + 0·7 - 1·8 = 6      y11 = 1·5 + 2·6 + 0·8 - 1·9 = 8
    // dw[ky, kx] = Σ_{oy, ox} G[oy, ox] · x[oy + ky, ox + kx], G = [[1, 0], [2, -1]]:
    //   dw00 = 1·1 + 0·2 + 2·4 - 1·5 = 4     dw01 = 1·2 + 0·3 + 2·5 - 1·6 = 6
    //   dw10 = 1·4 + 0·5 + 2·7 - 1·8 = 10    dw11 = 1·5 + 0·6 + 2·8 - 1·9 = 12
    // dx[y, x] = Σ G[oy, ox] · w[y - oy, x - ox] (the taps that read (y, x)):
    //   dx00 = G00·w00 = 1                   dx01 = G00·w01 + G01·w00 = 2
    //   dx02 = G01·w01 = 0                   dx10 = G00·w10 + G10·w00 = 2
    //   dx11 = G00·w11 + G01·w10 + G10·w01 + G11·w00 = -1 + 0 + 4 - 1 = 2
    //   dx12 = G01·w11 + G11·w01 = -2        dx20 = G10·w10 = 0
    //   dx21 = G10·w11 + G11·w10 = -2        dx22 = G11·w11 = 1
    let g = ConvGeometry::new(1, 1, (3, 3), 2, 1, 0);
    let w = [1.0, 2.0, 0.0, -1.0];
    let (y, d) = run(be, &[(1, 9, &X3), (1, 4, &w)], Some(&G2), |v| v[0].conv2d(&v[1], g));
    assert_eq!(y, [0.0, 2.0, 6.0, 8.0]);
    assert_eq!(d[0], [1.0, 2.0, 0.0, 2.0, 2.0, -2.0, 0.0, -2.0, 1.0]);
    assert_eq!(d[1], [4.0, 6.0, 10.0, 12.0]);
}

fn conv2d_3x3_stride_2_padding_1<B: Backend>(be: &B) {
    // k = 3, s = 2, p = 1 on 3×3: output (3 + 2 - 3)/2 + 1 = 2 by 2, and
    // y[oy, ox] = Σ w[ky, kx] · x[2oy + ky - 1, 2ox + kx - 1], padding read as 0.
    // With w all ones, each output sums the pixels of its window:
    //   y00 = x[0..2, 0..2] = 1 + 2 + 4 + 5 = 12    y01 = x[0..2, 1..3] = 2 + 3 + 5 + 6 = 16
    //   y10 = x[1..3, 0..2] = 4 + 5 + 7 + 8 = 24    y11 = x[1..3, 1..3] = 5 + 6 + 8 + 9 = 28
    // dx[y, x] = the sum of G over the windows holding (y, x), G = [[1, 0], [2, -1]]:
    //   dx = [[1, 1, 0], [3, 2, -1], [2, 1, -1]]
    // dw[ky, kx] = Σ_{oy, ox} G[oy, ox] · x[2oy + ky - 1, 2ox + kx - 1]: row ky = 0 sees
    // only oy = 1 (at y = 1), ky = 1 sees oy = 0, 1 (y = 0, 2), ky = 2 only oy = 0
    // (y = 1); the same for columns. So
    //   dw00 = G11·x11 = -5                 dw01 = G10·x10 + G11·x12 = 8 - 6 = 2
    //   dw02 = G10·x11 = 10                 dw10 = G01·x01 + G11·x21 = 0 - 8 = -8
    //   dw11 = G00·x00 + G01·x02 + G10·x20 + G11·x22 = 1 + 0 + 14 - 9 = 6
    //   dw12 = G00·x01 + G10·x21 = 2 + 16 = 18   dw20 = G01·x11 = 0
    //   dw21 = G00·x10 + G01·x12 = 4         dw22 = G00·x11 = 5
    let g = ConvGeometry::new(1, 1, (3, 3), 3, 2, 1);
    let w = [1.0; 9];
    let (y, d) = run(be, &[(1, 9, &X3), (1, 9, &w)], Some(&G2), |v| v[0].conv2d(&v[1], g));
    assert_eq!(y, [12.0, 16.0, 24.0, 28.0]);
    assert_eq!(d[0], [1.0, 1.0, 0.0, 3.0, 2.0, -1.0, 2.0, 1.0, -1.0]);
    assert_eq!(d[1], [-5.0, 2.0, 10.0, -8.0, 6.0, 18.0, 0.0, 4.0, 5.0]);
}

fn conv_transpose2d_2x2_to_4x4<B: Backend>(be: &B) {
    // The transpose of a k = 2, s = 2 conv from 4×4 to 2×2: each input pixel
    // x[oy, ox] spreads x · w over the 2×2 block (2oy.., 2ox..) of the output.
    // x = [[1, 2], [3, 4]], w = [[1, 2], [3, 4]]: the blocks are 1w, 2w, 3w, 4w:
    //   y = [[1, 2, 2, 4], [3, 4, 6, 8], [3, 6, 4, 8], [9, 12, 12, 16]]
    // dx[oy, ox] = Σ_{ky, kx} G[2oy + ky, 2ox + kx] · w[ky, kx] (its block of G, ⊙ w), with
    // G = [[1, 0, 0, 1], [0, 1, 1, 0], [1, 1, 0, 0], [0, 0, 1, 1]], blocks
    // [[1, 0], [0, 1]], [[0, 1], [1, 0]], [[1, 1], [0, 0]], [[0, 0], [1, 1]]:
    //   dx = [1 + 4, 2 + 3, 1 + 2, 3 + 4] = [5, 5, 3, 7]
    // dw[ky, kx] = Σ_{oy, ox} x[oy, ox] · G[2oy + ky, 2ox + kx]:
    //   dw00 = 1·1 + 2·0 + 3·1 + 4·0 = 4    dw01 = 1·0 + 2·1 + 3·1 + 4·0 = 5
    //   dw10 = 1·0 + 2·1 + 3·0 + 4·1 = 6    dw11 = 1·1 + 2·0 + 3·0 + 4·1 = 5
    let g = ConvGeometry::transposed(1, 1, (2, 2), 2, 2, 0).unwrap();
    let (x, w) = ([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]);
    let seed = [1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0];
    let (y, d) =
        run(be, &[(1, 4, &x), (1, 4, &w)], Some(&seed), |v| v[0].conv_transpose2d(&v[1], g));
    let want = [1.0, 2.0, 2.0, 4.0, 3.0, 4.0, 6.0, 8.0, 3.0, 6.0, 4.0, 8.0, 9.0, 12.0, 12.0, 16.0];
    assert_eq!(y, want);
    assert_eq!(d[0], [5.0, 5.0, 3.0, 7.0]);
    assert_eq!(d[1], [4.0, 5.0, 6.0, 5.0]);
}

fn add_channels_bias<B: Backend>(be: &B) {
    // 2 images of 2 channels of 2 positions, [2, 4]; b = [10, 20] added to
    // every position of its channel: y[n, c, p] = x[n, c, p] + b_c.
    // db_c = Σ_{n, p} G[n, c, p]: with G = [[1, 2, 3, 4], [5, 6, 7, 8]],
    //   db = [1 + 2 + 5 + 6, 3 + 4 + 7 + 8] = [14, 22]; dx = G.
    let x = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
    let seed = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    let (y, d) =
        run(be, &[(2, 4, &x), (1, 2, &[10.0, 20.0])], Some(&seed), |v| v[0].add_channels(&v[1]));
    assert_eq!(y, [10.0, 11.0, 22.0, 23.0, 14.0, 15.0, 26.0, 27.0]);
    assert_eq!(d[0], seed);
    assert_eq!(d[1], [14.0, 22.0]);
}

fn batch_norm2d_two_channels<B: Backend>(be: &B) {
    // 2 images of 2 channels of 2 positions (ε = 0). Channel 0 holds
    // [1, 3 | 3, 1] over (image, position): mean 2, variance 1, so
    // y = x - 2 = [-1, 1 | 1, -1]. Channel 1 holds [0, 4 | 4, 0]: mean 2,
    // variance 4, σ = 2, y = [-1, 1 | 1, -1].
    // The batch-norm gradient per channel, over its n = 4 elements:
    //   dx = (g - mean(g) - y · mean(g · y)) / σ
    // Channel 0, g = [1, 0 | 0, 0]: mean(g) = 1/4, mean(g·y) = -1/4,
    //   dx = g - 1/4 + y/4 = [1/2, 0 | 0, -1/2].
    // Channel 1, g = [2, 0 | 0, 0]: mean(g) = 1/2, mean(g·y) = -1/2,
    //   dx = (g - 1/2 + y/2) / 2 = [1/2, 0 | 0, -1/2].
    let x = [1.0, 3.0, 0.0, 4.0, 3.0, 1.0, 4.0, 0.0]; // [image][channel][position]
    let seed = [1.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    let (y, d) = run(be, &[(2, 4, &x)], Some(&seed), |v| Ok(v[0].batch_norm2d(2, 0.0)?.normalised));
    assert_eq!(y, [-1.0, 1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0]);
    assert_eq!(d[0], [0.5, 0.0, 0.5, 0.0, 0.0, -0.5, 0.0, -0.5]);
}

on_every_backend!(
    conv2d_3x3_kernel_2,
    conv2d_3x3_stride_2_padding_1,
    conv_transpose2d_2x2_to_4x4,
    add_channels_bias,
    batch_norm2d_two_channels,
);
