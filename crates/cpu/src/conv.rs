//! The tuned 2-D convolution and its two gradients: im2col into the gemm.
//!
//! The reference (`minimax_autodiff::reference::conv`) sums each output
//! over `C_in·k·k` taps one multiply-add at a time. The same sums are a
//! matrix product once the input is **unfolded**: im2col ("image to
//! columns") copies, for every output position, the `C_in·k·k` input pixels
//! its filter covers into one column of a matrix (zeros where the tap falls
//! on the padding). For a block of `nb` images, `P = OH·OW` positions each:
//!
//! ```text
//! cols[(i·k + ky)·k + kx, j·P + oy·OW + ox] = x[j, i, oy·s + ky - p, ox·s + kx - p]   [taps, nb·P]
//! ```
//!
//! The weight `[C_out, taps]` is already the matrix of filters, so the
//! three kernels are three [`gemm::matmul`]s (the blocked SIMD path for
//! `f32`, threaded over rows of the product; the plain loop for `f64`),
//! with the transpose flags instead of copies:
//!
//! ```text
//! forward        Y' [C_out, nb·P] = W  [C_out, taps] · cols [taps, nb·P]
//! input grad  dcols [taps, nb·P]  = Wᵀ [taps, C_out] · dY'  [C_out, nb·P]   then col2im
//! weight grad    dW [C_out, taps] = dY' [C_out, nb·P] · colsᵀ [nb·P, taps]  summed over blocks
//! ```
//!
//! `Y'` and `dY'` are channel-major over the whole block (`Y'[o, j·P + p]`),
//! while the engine's images are rows (`y[j, o·P + p]`, see
//! `minimax_autodiff::conv`): a permutation of runs of `P` values moves
//! between the two. col2im is im2col's adjoint: it adds each column entry
//! back onto the pixel it was copied from, each pixel's terms in a fixed
//! order (`ky, kx, oy, ox`), each input channel by one thread, so the
//! result does not depend on the thread count.
//!
//! **No tests for the padding.** Both work one input channel at a time, on
//! every image of the block: each image's plane is copied into the middle
//! of a zero-bordered `(H + 2p) × (W + 2p)` plane, where every tap of every
//! window lands, and a table of where each output position's window starts
//! in it (`Offsets`, `P` entries, kept per thread) turns each row of `cols`
//! into one loop of loads: `cols[(i, ky, kx), j·P + q] = padded_j[ky·(W +
//! 2p) + kx + at[q]]`. Writing `cols` row by row this way, rather than
//! image by image, was 3× faster on the DCGAN's 64→128 layer.
//!
//! **Blocks.** The batch is worked [`block_images`] images at a time, so
//! that `cols` stays about [`COLS_TARGET`] elements (in L2/L3 between
//! im2col and the gemm) whatever the batch. The block size depends only on
//! the geometry and the batch, never on the threads, so the weight
//! gradient's sum over blocks is in the same order every time. A block of
//! one image needs no permutation: `Y'` is then the image's row itself.
//!
//! **1×1 kernels** with stride 1 and no padding unfold to the image itself
//! (`cols = x` as `[C_in, H·W]`), so the forward and the input gradient
//! skip im2col and multiply each image in place, when the image is large
//! enough to fill the gemm's tiles ([`DIRECT_MIN_PIXELS`]).
//!
//! **Memory.** `cols`, `Y'`/`dY'` and the weight gradient's partial sum
//! are taken from the tensor pool (`pool.rs`) and given back at the end,
//! so a training step in steady state allocates none of them.

use crate::{gemm, pool, threads};
use minimax_autodiff::{ConvGeometry, Real};
use std::cell::RefCell;
use std::sync::Arc;

/// Elements of `cols` per block of images: 256 Ki (1 MiB of `f32`, this
/// machine's L2 per core). Measured on the DCGAN layers (`cargo bench
/// --bench conv`): on the 64→128 layer, 5 images a block ran 75–85 GFLOP/s,
/// the whole batch of 64 at once 60–65, one image at a time 55–70.
pub const COLS_TARGET: usize = 1 << 18;

/// Pixels per image from which a 1×1 stride-1 unpadded convolution
/// multiplies each image directly (its gemm then has at least this many
/// columns); smaller images go through the blocked path.
pub const DIRECT_MIN_PIXELS: usize = 64;

/// Elements the copy loops (im2col, col2im, the permutations) must move
/// per thread before a second thread is worth waking.
pub const PARALLEL_MIN: usize = 1 << 15;

/// Images per block for a batch of `batch` images of geometry `g`: as many
/// as keep `cols` ([`COLS_TARGET`]) small, at least 1, then evened out over
/// the blocks that takes (64 images of 5 a block are 13 blocks of at most
/// 5). Depends on nothing but `g` and `batch`.
pub fn block_images(g: &ConvGeometry, batch: usize) -> usize {
    let per_image = g.taps() * g.out_height() * g.out_width();
    let most = (COLS_TARGET / per_image.max(1)).clamp(1, batch.max(1));
    batch.max(1).div_ceil(batch.max(1).div_ceil(most))
}

/// `y = conv2d(x, w)`: `x` `[batch, C_in·H·W]`, `w` `[C_out, taps]`, `y`
/// `[batch, C_out·P]` (overwritten): `Y' = W · cols` block by block.
pub fn conv2d<T: Real>(x: &[T], w: &[T], y: &mut [T], batch: usize, g: &ConvGeometry) {
    let (xc, yc, taps, co, p) = sizes(g);
    if is_direct(g) {
        for (xj, yj) in x.chunks_exact(xc).zip(y.chunks_exact_mut(yc)) {
            gemm::matmul(w, false, xj, false, yj, co, taps, p); // [C_out, P] = W · [C_in, P]
        }
        return;
    }
    let nb = block_images(g, batch);
    let mut cols = Scratch::<T>::take(taps * nb * p); // [taps, nb·P]
    let mut yt = Scratch::<T>::take(if nb > 1 { co * nb * p } else { 0 }); // [C_out, nb·P]
    for (xb, yb) in x.chunks(nb * xc).zip(y.chunks_mut(nb * yc)) {
        let n = xb.len() / xc; // images in this block
        let cols = &mut cols.slice()[..taps * n * p];
        im2col(xb, cols, n, g);
        if n == 1 {
            gemm::matmul(w, false, cols, false, yb, co, taps, p); // the image's row is Y'
        } else {
            let yt = &mut yt.slice()[..co * n * p];
            gemm::matmul(w, false, cols, false, yt, co, taps, n * p);
            from_channel_major(yt, yb, n, co, p); // [C_out, n·P] -> [n, C_out·P]
        }
    }
}

/// `dx`, the input gradient of [`conv2d`] (and a transposed convolution's
/// forward), given `dy` `[batch, C_out·P]`: `dcols = Wᵀ · dY'`, then
/// col2im onto `dx` `[batch, C_in·H·W]` (overwritten).
pub fn conv2d_backward_input<T: Real>(
    dy: &[T],
    w: &[T],
    dx: &mut [T],
    batch: usize,
    g: &ConvGeometry,
) {
    let (xc, yc, taps, co, p) = sizes(g);
    if is_direct(g) {
        for (dyj, dxj) in dy.chunks_exact(yc).zip(dx.chunks_exact_mut(xc)) {
            gemm::matmul(w, true, dyj, false, dxj, taps, co, p); // [C_in, P] = Wᵀ · [C_out, P]
        }
        return;
    }
    let nb = block_images(g, batch);
    let mut dcols = Scratch::<T>::take(taps * nb * p); // [taps, nb·P]
    let mut dyt = Scratch::<T>::take(if nb > 1 { co * nb * p } else { 0 }); // [C_out, nb·P]
    for (dyb, dxb) in dy.chunks(nb * yc).zip(dx.chunks_mut(nb * xc)) {
        let n = dyb.len() / yc;
        let dcols = &mut dcols.slice()[..taps * n * p];
        if n == 1 {
            gemm::matmul(w, true, dyb, false, dcols, taps, co, p); // the image's row is dY'
        } else {
            let dyt = &mut dyt.slice()[..co * n * p];
            to_channel_major(dyb, dyt, n, co, p); // [n, C_out·P] -> [C_out, n·P]
            gemm::matmul(w, true, dyt, false, dcols, taps, co, n * p);
        }
        col2im(dcols, dxb, n, g);
    }
}

/// `dw`, the weight gradient of [`conv2d`], given `x` and `dy`: `dY' ·
/// colsᵀ` of each block, the blocks' products added in block order
/// (overwritten; `[C_out, taps]`).
pub fn conv2d_backward_weight<T: Real>(
    x: &[T],
    dy: &[T],
    dw: &mut [T],
    batch: usize,
    g: &ConvGeometry,
) {
    let (xc, yc, taps, co, p) = sizes(g);
    if batch == 0 {
        return dw.fill(T::zero()); // an empty sum
    }
    let nb = block_images(g, batch);
    let mut cols = Scratch::<T>::take(taps * nb * p); // [taps, nb·P]
    let mut dyt = Scratch::<T>::take(if nb > 1 { co * nb * p } else { 0 }); // [C_out, nb·P]
    let mut part = Scratch::<T>::take(if nb < batch { co * taps } else { 0 }); // [C_out, taps]
    for (b, (xb, dyb)) in x.chunks(nb * xc).zip(dy.chunks(nb * yc)).enumerate() {
        let n = xb.len() / xc;
        let cols = &mut cols.slice()[..taps * n * p];
        im2col(xb, cols, n, g);
        let dyt: &[T] = if n == 1 {
            dyb // the image's row is dY'
        } else {
            let dyt = &mut dyt.slice()[..co * n * p];
            to_channel_major(dyb, dyt, n, co, p);
            dyt
        };
        // The first block writes dw; each later one is added to it.
        let out = if b == 0 { &mut *dw } else { part.slice() };
        gemm::matmul(dyt, false, cols, true, out, co, n * p, taps);
        if b > 0 {
            dw.iter_mut().zip(part.slice().iter()).for_each(|(s, &v)| *s += v);
        }
    }
}

/// `(C_in·H·W, C_out·P, taps, C_out, P)`.
fn sizes(g: &ConvGeometry) -> (usize, usize, usize, usize, usize) {
    (g.in_cols(), g.out_cols(), g.taps(), g.out_channels, g.out_height() * g.out_width())
}

/// Whether `g` is a 1×1, stride-1, unpadded convolution of images large
/// enough to multiply one at a time without im2col.
fn is_direct(g: &ConvGeometry) -> bool {
    (g.kernel, g.stride, g.padding) == (1, 1, 0) && g.height * g.width >= DIRECT_MIN_PIXELS
}

/// Unfolds `x` (`[n, C_in·H·W]`) into `cols` (`[taps, n·P]`, every element
/// written; the layout is in the module docs). Each (image, channel) plane
/// is first copied into the middle of a zero-bordered `(H + 2p) × (W + 2p)`
/// plane, so that every tap reads a pixel there, with no test for the
/// padding. Split over the threads by input channels (each owns `k·k`
/// rows of `cols`).
fn im2col<T: Real>(x: &[T], cols: &mut [T], n: usize, g: &ConvGeometry) {
    Offsets::with(g, |offsets| im2col_with(x, cols, n, g, offsets));
}

/// [`im2col`] with `g`'s [`Offsets`].
fn im2col_with<T: Real>(
    x: &[T],
    cols: &mut [T],
    n: usize,
    g: &ConvGeometry,
    (at, span): (&[usize], usize),
) {
    let (xc, _, _, _, p) = sizes(g);
    let (k, pad, h, w) = (g.kernel, g.padding, g.height, g.width);
    let wp = w + 2 * pad; // the padded plane's width
    let channel_rows = k * k * n * p; // the elements of cols that one input channel fills
    let part = part_len(cols.len(), channel_rows);
    let plane_len = (h + 2 * pad) * wp;
    threads::run_parts_mut([cols], part, |start, [rows]| {
        // This channel's plane of every image of the block, padded: [n, H + 2p, W + 2p].
        let mut padded = Scratch::<T>::take(if pad > 0 { n * plane_len } else { 0 });
        let padded = padded.slice();
        padded.fill(T::zero()); // the border stays 0; the middle is overwritten per channel
        for (c, block) in rows.chunks_exact_mut(channel_rows).enumerate() {
            let i = start / channel_rows + c; // input channel
            let planes = |j: usize| &x[j * xc + i * h * w..][..h * w]; // image j, channel i: [H, W]
            if pad > 0 {
                for (j, dst) in padded.chunks_exact_mut(plane_len).enumerate() {
                    for (y, row) in planes(j).chunks_exact(w).enumerate() {
                        dst[(y + pad) * wp + pad..][..w].copy_from_slice(row);
                    }
                }
            }
            // Row (ky, kx) of this channel's block, image j's part: output
            // q = (oy, ox) reads pixel (oy·s + ky, ox·s + kx) of the padded
            // plane, at ky·wp + kx + at[q].
            for (t, row) in block.chunks_exact_mut(n * p).enumerate() {
                for (j, out) in row.chunks_exact_mut(p).enumerate() {
                    let plane =
                        if pad > 0 { &padded[j * plane_len..][..plane_len] } else { planes(j) };
                    let src = &plane[(t / k) * wp + t % k..][..span];
                    for (o, &a) in out.iter_mut().zip(at) {
                        *o = src[a];
                    }
                }
            }
        }
    });
}

/// Folds `dcols` (`[taps, n·P]`) back onto `dx` (`[n, C_in·H·W]`,
/// overwritten): each pixel the sum of the column entries im2col copied it
/// to, added in the order `ky, kx, oy, ox` into a zeroed padded plane
/// (im2col's, whose border is then dropped). One input channel at a time,
/// all images of the block together (so `dcols` is read row by row), into
/// `[C_in, n·H·W]`, permuted to `dx` after (for `n > 1`). Split over the
/// threads by channels, each plane summed whole by one thread.
fn col2im<T: Real>(dcols: &[T], dx: &mut [T], n: usize, g: &ConvGeometry) {
    Offsets::with(g, |offsets| {
        if n == 1 {
            return col2im_channels(dcols, dx, 1, g, offsets); // one image is channel-major
        }
        let mut dxt = Scratch::<T>::take(dx.len()); // [C_in, n·H·W]
        col2im_channels(dcols, dxt.slice(), n, g, offsets);
        from_channel_major(dxt.slice(), dx, n, g.in_channels, g.height * g.width);
    });
}

/// [`col2im`] into `dxt` `[C_in, n·H·W]`, with `g`'s [`Offsets`].
fn col2im_channels<T: Real>(
    dcols: &[T],
    dxt: &mut [T],
    n: usize,
    g: &ConvGeometry,
    (at, span): (&[usize], usize),
) {
    let (_, _, _, _, p) = sizes(g);
    let (k, pad, h, w) = (g.kernel, g.padding, g.height, g.width);
    let (hw, wp, row_len) = (h * w, w + 2 * pad, n * p);
    let plane_len = (h + 2 * pad) * wp;
    let part = part_len(dxt.len(), n * hw);
    threads::run_parts_mut([dxt], part, |start, [rows]| {
        let mut sums = Scratch::<T>::take(n * plane_len); // [n, H + 2p, W + 2p]
        let sums = sums.slice();
        for (c, out) in rows.chunks_exact_mut(n * hw).enumerate() {
            let i = start / (n * hw) + c; // input channel
            sums.fill(T::zero());
            for t in 0..k * k {
                let row = &dcols[(i * k * k + t) * row_len..][..row_len]; // tap (i, ky, kx)
                for (j, src) in row.chunks_exact(p).enumerate() {
                    let dst = &mut sums[j * plane_len + (t / k) * wp + t % k..][..span];
                    for (&v, &a) in src.iter().zip(at) {
                        dst[a] += v;
                    }
                }
            }
            for (j, plane) in out.chunks_exact_mut(hw).enumerate() {
                for (y, row) in plane.chunks_exact_mut(w).enumerate() {
                    row.copy_from_slice(&sums[j * plane_len + (y + pad) * wp + pad..][..w]);
                }
            }
        }
    });
}

/// Where in the padded plane each output position's window starts:
/// `at[oy·OW + ox] = oy·s·(W + 2p) + ox·s`, and the span from there that
/// every window lies within, `at[P - 1] + (k - 1)·(W + 2p) + k - 1 + 1`
/// less the tap's own offset (so `ky·wp + kx + span` never passes the
/// plane's end). Kept per thread and rebuilt only when the geometry
/// changes, so it is not allocated every step.
struct Offsets {
    geometry: Option<ConvGeometry>,
    at: Vec<usize>,
}

thread_local! {
    static OFFSETS: RefCell<Offsets> = const { RefCell::new(Offsets { geometry: None, at: Vec::new() }) };
}

impl Offsets {
    /// Runs `f((at, span))` with `g`'s offsets.
    fn with<R>(g: &ConvGeometry, f: impl FnOnce((&[usize], usize)) -> R) -> R {
        let (s, wp, ow) = (g.stride, g.width + 2 * g.padding, g.out_width());
        let span = (g.out_height() - 1) * s * wp + (ow - 1) * s + 1;
        let build = |at: &mut Vec<usize>| {
            at.clear();
            at.extend((0..g.out_height() * ow).map(|q| (q / ow) * s * wp + (q % ow) * s));
        };
        OFFSETS.with(|cell| match cell.try_borrow_mut() {
            Ok(mut offsets) => {
                if offsets.geometry != Some(*g) {
                    build(&mut offsets.at);
                    offsets.geometry = Some(*g);
                }
                f((&offsets.at, span))
            }
            Err(_) => {
                let mut at = Vec::new(); // only if `f` itself came back here
                build(&mut at);
                f((&at, span))
            }
        })
    }
}

/// `dst[c, j·P + q] = src[j, c·P + q]`: `[n, C·P]` to `[C, n·P]`, split by
/// rows of `dst`.
fn to_channel_major<T: Real>(src: &[T], dst: &mut [T], n: usize, c: usize, p: usize) {
    threads::run_parts_mut([dst], part_len(n * c * p, n * p), |start, [rows]| {
        for (r, row) in rows.chunks_exact_mut(n * p).enumerate() {
            let ch = start / (n * p) + r;
            for (j, run) in row.chunks_exact_mut(p).enumerate() {
                run.copy_from_slice(&src[(j * c + ch) * p..][..p]);
            }
        }
    });
}

/// `dst[j, c·P + q] = src[c, j·P + q]`: `[C, n·P]` to `[n, C·P]`, split by
/// images (rows of `dst`).
fn from_channel_major<T: Real>(src: &[T], dst: &mut [T], n: usize, c: usize, p: usize) {
    threads::run_parts_mut([dst], part_len(n * c * p, c * p), |start, [images]| {
        for (r, image) in images.chunks_exact_mut(c * p).enumerate() {
            let j = start / (c * p) + r;
            for (ch, run) in image.chunks_exact_mut(p).enumerate() {
                run.copy_from_slice(&src[(ch * n + j) * p..][..p]);
            }
        }
    });
}

/// The part length, in whole units of `unit` elements, that splits `len`
/// elements over the threads, at least [`PARALLEL_MIN`] a part; 0 (one
/// part) when a second thread would not pay. The result of every loop
/// above is the same for any split.
fn part_len(len: usize, unit: usize) -> usize {
    let parts = threads::threads().min(len / PARALLEL_MIN);
    if parts <= 1 || unit == 0 {
        return 0;
    }
    (len / unit).div_ceil(parts) * unit
}

/// A buffer from the tensor pool, given back when dropped. Holds old
/// values: every user above writes what it reads.
struct Scratch<T: Real>(Option<Arc<Vec<T>>>);

impl<T: Real> Scratch<T> {
    /// `len` elements (none, without touching the pool, for `len` 0).
    fn take(len: usize) -> Self {
        Scratch((len > 0).then(|| pool::take(len)))
    }

    fn slice(&mut self) -> &mut [T] {
        match &mut self.0 {
            Some(buffer) => Arc::get_mut(buffer).expect("a pool buffer is unshared").as_mut_slice(),
            None => &mut [],
        }
    }
}

impl<T: Real> Drop for Scratch<T> {
    fn drop(&mut self) {
        if let Some(buffer) = self.0.take() {
            pool::give_back(buffer);
        }
    }
}
