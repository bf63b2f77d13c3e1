//! The 2-D convolution and its two gradients, as the seven loops that
//! define them: over the image `n`, the output channel `o`, the output
//! position `(oy, ox)`, the input channel `i` and the kernel tap `(ky, kx)`.
//!
//! These are the reference the tuned CPU backend's im2col-into-gemm path and
//! the GPU's kernels are tested against. The three share one walk,
//! [`for_each_tap`], so they agree on which input pixel each tap reads; each
//! then states its sum. The layout is in [`crate::conv`].

use crate::{ConvGeometry, Real};

/// Calls `f(n, out, inp, tap)` for every image `n < batch`, output
/// channel `o`, output position, input channel `i` and kernel tap whose
/// input pixel lies inside the image (taps on the padding read 0, so they
/// add nothing and are skipped). `out`, `inp` and `tap` are the flat
/// indices, within one image, of the output element `(o, oy, ox)`, the input
/// element `(i, y, x)` and the weight element `(o, i, ky, kx)`.
///
/// The order is fixed (`n, o, oy, ox, i, ky, kx`), so every sum below adds
/// its terms in the same order every time.
pub fn for_each_tap(batch: usize, g: &ConvGeometry, mut f: impl FnMut(usize, usize, usize, usize)) {
    let (oh, ow, k) = (g.out_height(), g.out_width(), g.kernel);
    for n in 0..batch {
        for o in 0..g.out_channels {
            for oy in 0..oh {
                for ox in 0..ow {
                    let out = (o * oh + oy) * ow + ox;
                    for i in 0..g.in_channels {
                        for ky in 0..k {
                            // y = oy·s + ky - p, skipped when it falls on the padding.
                            let Some(y) = (oy * g.stride + ky)
                                .checked_sub(g.padding)
                                .filter(|&y| y < g.height)
                            else {
                                continue;
                            };
                            for kx in 0..k {
                                let Some(x) = (ox * g.stride + kx)
                                    .checked_sub(g.padding)
                                    .filter(|&x| x < g.width)
                                else {
                                    continue;
                                };
                                let inp = (i * g.height + y) * g.width + x;
                                let tap = (o * g.in_channels + i) * k * k + ky * k + kx;
                                f(n, out, inp, tap);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `y = conv2d(x, w)`: `x` `[batch, C_in·H·W]`, `w` `[C_out, C_in·k·k]`, `y`
/// `[batch, C_out·OH·OW]` (overwritten).
///
/// ```text
/// y[n, o, oy, ox] = Σ_{i, ky, kx} w[o, i, ky, kx] · x[n, i, oy·s + ky - p, ox·s + kx - p]
/// ```
pub fn conv2d<T: Real>(x: &[T], w: &[T], y: &mut [T], batch: usize, g: &ConvGeometry) {
    let (xc, yc) = (g.in_cols(), g.out_cols());
    debug_assert_eq!(
        (x.len(), w.len(), y.len()),
        (batch * xc, g.weight_shape().numel(), batch * yc)
    );
    y.iter_mut().for_each(|v| *v = T::zero());
    for_each_tap(batch, g, |n, out, inp, tap| y[n * yc + out] += w[tap] * x[n * xc + inp]);
}

/// `dx`, the gradient of [`conv2d`] with respect to `x`, given `dy`
/// `[batch, C_out·OH·OW]`: each output's gradient sent back along every tap
/// that read an input pixel (overwritten; `[batch, C_in·H·W]`).
///
/// ```text
/// ∂y[n, o, oy, ox] / ∂x[n, i, y, x] = w[o, i, ky, kx]   where y = oy·s + ky - p, x = ox·s + kx - p
/// dx[n, i, y, x] = Σ_{o, oy, ox, ky, kx : …} dy[n, o, oy, ox] · w[o, i, ky, kx]
/// ```
pub fn conv2d_backward_input<T: Real>(
    dy: &[T],
    w: &[T],
    dx: &mut [T],
    batch: usize,
    g: &ConvGeometry,
) {
    let (xc, yc) = (g.in_cols(), g.out_cols());
    debug_assert_eq!(
        (dx.len(), w.len(), dy.len()),
        (batch * xc, g.weight_shape().numel(), batch * yc)
    );
    dx.iter_mut().for_each(|v| *v = T::zero());
    for_each_tap(batch, g, |n, out, inp, tap| dx[n * xc + inp] += dy[n * yc + out] * w[tap]);
}

/// `dw`, the gradient of [`conv2d`] with respect to `w`, given `x` and `dy`:
/// each weight summed over every image and output position it was used at
/// (overwritten; `[C_out, C_in·k·k]`).
///
/// ```text
/// ∂y[n, o, oy, ox] / ∂w[o, i, ky, kx] = x[n, i, oy·s + ky - p, ox·s + kx - p]
/// dw[o, i, ky, kx] = Σ_{n, oy, ox} dy[n, o, oy, ox] · x[n, i, oy·s + ky - p, ox·s + kx - p]
/// ```
pub fn conv2d_backward_weight<T: Real>(
    x: &[T],
    dy: &[T],
    dw: &mut [T],
    batch: usize,
    g: &ConvGeometry,
) {
    let (xc, yc) = (g.in_cols(), g.out_cols());
    debug_assert_eq!(
        (x.len(), dw.len(), dy.len()),
        (batch * xc, g.weight_shape().numel(), batch * yc)
    );
    dw.iter_mut().for_each(|v| *v = T::zero());
    for_each_tap(batch, g, |n, out, inp, tap| dw[tap] += dy[n * yc + out] * x[n * xc + inp]);
}
