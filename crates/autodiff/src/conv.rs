//! The geometry of a 2-D convolution, and the layout of images in the
//! engine's 2-D tensors.
//!
//! # Images are rows, channel-major
//!
//! Tensors stay 2-D. A batch of images of `C` channels, `H` rows and `W`
//! columns is a tensor `[batch, C·H·W]`: one image per row, and in the row
//! channel after channel, each channel row after row (PyTorch's NCHW
//! flattened per sample). Element `(c, y, x)` of image `n` is
//!
//! ```text
//! x[n, (c·H + y)·W + x]
//! ```
//!
//! Worked index: in a batch of 3-channel 4×5 images (`[batch, 60]`), pixel
//! `(c = 2, y = 1, x = 3)` of image 0 sits at column `(2·4 + 1)·5 + 3 = 48`.
//!
//! A convolution's weight is `[C_out, C_in·k·k]`, row `o` holding filter `o`
//! channel-major in the same way: tap `(i, ky, kx)` of filter `o` is
//! `w[o, (i·k + ky)·k + kx]` (PyTorch's `[C_out, C_in, k, k]` flattened), so a
//! PyTorch weight can be copied in as it is.
//!
//! # The convolution
//!
//! With stride `s` and zero padding `p` (and dilation 1, the only one):
//!
//! ```text
//! y[n, o, oy, ox] = Σ_{i, ky, kx} w[o, i, ky, kx] · x[n, i, oy·s + ky - p, ox·s + kx - p]
//! ```
//!
//! where taps falling outside the image read 0. The output is
//! `OH = (H + 2p - k) / s + 1` by `OW = (W + 2p - k) / s + 1` (rounded down, as
//! PyTorch does). A transposed convolution is described by the geometry of
//! the convolution it is the transpose of (see `ops/conv.rs`).

use crate::{shape_error, Error, Result, Shape};

/// The geometry of a 2-D convolution: what it maps (`in_channels` images of
/// `height × width`) to what (`out_channels` images of
/// [`ConvGeometry::out_height`] `×` [`ConvGeometry::out_width`]), with a
/// square `kernel`, a `stride` and zero `padding` on every side.
///
/// See the module's documentation for the layout of the tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConvGeometry {
    /// Channels of the input image, `C_in`.
    pub in_channels: usize,
    /// Channels of the output image, `C_out` (the number of filters).
    pub out_channels: usize,
    /// Rows of the input image, `H`.
    pub height: usize,
    /// Columns of the input image, `W`.
    pub width: usize,
    /// The side of the square kernel, `k`.
    pub kernel: usize,
    /// The step between two output positions, `s ≥ 1`.
    pub stride: usize,
    /// Zeros added on each side of the input, `p`.
    pub padding: usize,
}

impl ConvGeometry {
    /// A geometry; check it with [`ConvGeometry::validate`] (every op does).
    pub const fn new(
        in_channels: usize,
        out_channels: usize,
        (height, width): (usize, usize),
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Self {
        ConvGeometry { in_channels, out_channels, height, width, kernel, stride, padding }
    }

    /// Rows of the output image, `(H + 2p - k) / s + 1`.
    pub const fn out_height(&self) -> usize {
        (self.height + 2 * self.padding - self.kernel) / self.stride + 1
    }

    /// Columns of the output image, `(W + 2p - k) / s + 1`.
    pub const fn out_width(&self) -> usize {
        (self.width + 2 * self.padding - self.kernel) / self.stride + 1
    }

    /// Columns of an input batch, `C_in·H·W`.
    pub const fn in_cols(&self) -> usize {
        self.in_channels * self.height * self.width
    }

    /// Columns of an output batch, `C_out·OH·OW`.
    pub const fn out_cols(&self) -> usize {
        self.out_channels * self.out_height() * self.out_width()
    }

    /// Taps of one filter, `C_in·k·k`: the columns of the weight.
    pub const fn taps(&self) -> usize {
        self.in_channels * self.kernel * self.kernel
    }

    /// The weight's shape, `[C_out, C_in·k·k]`.
    pub const fn weight_shape(&self) -> Shape {
        Shape::new(self.out_channels, self.taps())
    }

    /// The geometry of the transposed convolution's output of `height × width`
    /// for an input of `in_channels × in_h × in_w`: the one convolution of
    /// `out_channels` (the transpose's output channels) images of
    /// `(in_h - 1)·s - 2p + k` by `(in_w - 1)·s - 2p + k` that maps back onto
    /// `in_h × in_w` (PyTorch's `ConvTranspose2d` with `output_padding = 0`).
    /// `None` if that size is not positive.
    pub fn transposed(
        in_channels: usize,
        out_channels: usize,
        (in_h, in_w): (usize, usize),
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Option<Self> {
        let side = |n: usize| {
            ((n.checked_sub(1)? * stride + kernel).checked_sub(2 * padding)).filter(|&s| s > 0)
        };
        let g = ConvGeometry::new(
            out_channels,
            in_channels,
            (side(in_h)?, side(in_w)?),
            kernel,
            stride,
            padding,
        );
        (g.out_height() == in_h && g.out_width() == in_w).then_some(g)
    }

    /// Checks that the geometry describes a convolution: every count at
    /// least 1 (padding may be 0), the kernel fitting in the padded image,
    /// and the padding smaller than the kernel (else some outputs would see
    /// padding only). The error names `op` and the geometry.
    pub fn validate(&self, op: &'static str) -> Result<()> {
        let g = self;
        let why = if g.in_channels == 0 || g.out_channels == 0 {
            "channels must be at least 1"
        } else if g.height == 0 || g.width == 0 {
            "the image must be at least 1 × 1"
        } else if g.kernel == 0 || g.stride == 0 {
            "kernel and stride must be at least 1"
        } else if g.padding >= g.kernel {
            "padding must be smaller than the kernel"
        } else if g.kernel > g.height + 2 * g.padding || g.kernel > g.width + 2 * g.padding {
            "the kernel is larger than the padded image"
        } else if !g.sizes_fit() {
            "the geometry is too large"
        } else {
            return Ok(());
        };
        Err(Error::Invalid { op, why: format!("{why}: {g}") })
    }

    /// Checks `x` (`[batch, C_in·H·W]`) and `w` (`[C_out, C_in·k·k]`) against
    /// the geometry; the error names `op` and both shapes.
    pub fn check_input(&self, op: &'static str, x: Shape, w: Shape) -> Result<()> {
        self.validate(op)?;
        if x.cols != self.in_cols() {
            return Err(shape_error(
                op,
                x,
                w,
                format!("the input must be [batch, {}] for {self}", self.in_cols()),
            ));
        }
        self.check_weight(op, x, w)
    }

    /// Checks `dy` (`[batch, C_out·OH·OW]`) and `w` against the geometry.
    pub fn check_output(&self, op: &'static str, dy: Shape, w: Shape) -> Result<()> {
        self.validate(op)?;
        if dy.cols != self.out_cols() {
            return Err(shape_error(
                op,
                dy,
                w,
                format!("the output must be [batch, {}] for {self}", self.out_cols()),
            ));
        }
        self.check_weight(op, dy, w)
    }

    /// Checks that `w` is the geometry's weight shape.
    fn check_weight(&self, op: &'static str, x: Shape, w: Shape) -> Result<()> {
        if w != self.weight_shape() {
            return Err(shape_error(
                op,
                x,
                w,
                format!("the weight must be {} for {self}", self.weight_shape()),
            ));
        }
        Ok(())
    }
}

impl std::fmt::Display for ConvGeometry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = self;
        write!(
            f,
            "conv {}×{}×{} -> {} channels, kernel {}, stride {}, padding {}",
            g.in_channels, g.height, g.width, g.out_channels, g.kernel, g.stride, g.padding
        )?;
        if g.validate_quiet() {
            write!(f, " (output {}×{})", g.out_height(), g.out_width())?;
        }
        Ok(())
    }
}

impl ConvGeometry {
    /// Whether the input, output and weight each have at most
    /// [`Shape::MAX_NUMEL`] elements per image (no count overflows).
    // On 32-bit targets (wasm32) `usize::MAX` is `MAX_NUMEL`: there the
    // bound is `checked_mul`'s and the comparison always holds.
    #[allow(clippy::absurd_extreme_comparisons)]
    fn sizes_fit(&self) -> bool {
        let fits = |a: usize, b: usize, c: usize| {
            a.checked_mul(b).and_then(|ab| ab.checked_mul(c)).is_some_and(|n| n <= Shape::MAX_NUMEL)
        };
        fits(self.in_channels, self.height, self.width)
            && fits(self.out_channels, self.out_height(), self.out_width())
            && fits(self.in_channels, self.kernel, self.kernel)
            && fits(self.out_channels, self.in_channels, self.kernel.saturating_mul(self.kernel))
    }

    /// Whether the output size is defined (no panic in `Display`).
    fn validate_quiet(&self) -> bool {
        self.stride > 0
            && self.kernel <= self.height + 2 * self.padding
            && self.kernel <= self.width + 2 * self.padding
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dcgan_sizes() {
        // D's first layer: 1×28×28, k4 s2 p1 -> 64×14×14.
        let g = ConvGeometry::new(1, 64, (28, 28), 4, 2, 1);
        assert_eq!((g.out_height(), g.out_width(), g.out_cols()), (14, 14, 64 * 196));
        assert_eq!(g.weight_shape(), Shape::new(64, 16));
        // G's ConvTranspose(128 -> 64, k4 s2 p1) on 7×7 gives 14×14: the
        // transpose of a conv 64×14×14 -> 128×7×7.
        let t = ConvGeometry::transposed(128, 64, (7, 7), 4, 2, 1).unwrap();
        assert_eq!(t, ConvGeometry::new(64, 128, (14, 14), 4, 2, 1));
    }

    #[test]
    fn bad_geometry_is_named() {
        let g = ConvGeometry::new(1, 2, (3, 3), 5, 1, 0);
        let e = g.validate("conv2d").unwrap_err().to_string();
        assert!(e.contains("conv2d") && e.contains("larger than the padded image"), "{e}");
        let e =
            ConvGeometry::new(1, 2, (3, 3), 3, 0, 0).validate("conv2d").unwrap_err().to_string();
        assert!(e.contains("stride must be at least 1"), "{e}");
        let e =
            ConvGeometry::new(1, 2, (3, 3), 3, 1, 3).validate("conv2d").unwrap_err().to_string();
        assert!(e.contains("padding must be smaller"), "{e}");
    }
}
