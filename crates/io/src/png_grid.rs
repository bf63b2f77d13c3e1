//! Sample grids as PNG: many small images (G's samples, or real ones) in
//! one picture, so a run's progress is seen at a glance.
//!
//! `n` images of `rows × cols` pixels in `[-1, 1]` (G's `tanh` range) are
//! laid out `per_row` to a row, left to right then top to bottom, with a
//! one-pixel gap between neighbours; then the whole grid is upscaled by an
//! integer factor, each pixel becoming a `scale × scale` block (an 8×8 digit
//! is too small to see otherwise). So a grid is
//! `(per_row·(cols + 1) − 1)·scale` pixels wide and
//! `(lines·(rows + 1) − 1)·scale` high, `lines = ⌈n / per_row⌉`.
//!
//! Colours: a pixel `v` is the grey `round((v + 1) · 127.5)` after clamping
//! to `[-1, 1]` (−1 black, 1 white); a non-finite pixel (NaN, ±∞) is pure
//! red, so a broken generator shows rather than hides; the gaps, and the
//! empty cells after the last image, are slate blue, a colour no image
//! pixel can take. The PNG is 8-bit RGB, written atomically.

use crate::fsutil;
use std::fmt;
use std::path::Path;

/// The gaps' colour: slate blue, never a grey, so never an image's pixel.
pub const GAP_RGB: [u8; 3] = [70, 90, 120];
/// A non-finite pixel's colour.
pub const NON_FINITE_RGB: [u8; 3] = [255, 0, 0];
/// The largest grid drawn, in output pixels (64 megapixels, 192 MB of RGB).
pub const MAX_GRID_PIXELS: usize = 1 << 26;

/// How images are laid out in a grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GridSpec {
    /// Image height in pixels.
    pub rows: usize,
    /// Image width in pixels.
    pub cols: usize,
    /// Images across each line of the grid.
    pub per_row: usize,
    /// Each pixel (gaps included) becomes a `scale × scale` block.
    pub scale: usize,
}

/// An 8-bit RGB picture, row-major, three bytes a pixel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `[height, width, 3]` bytes.
    pub pixels: Vec<u8>,
}

impl RgbImage {
    /// The colour at `(x, y)`. Panics outside the picture.
    pub fn at(&self, x: usize, y: usize) -> [u8; 3] {
        assert!(
            x < self.width && y < self.height,
            "({x}, {y}) outside {}×{}",
            self.width,
            self.height
        );
        let i = 3 * (y * self.width + x);
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }
}

/// Why a grid could not be drawn or written.
#[derive(Debug)]
pub enum GridError {
    /// The layout or the images make no grid: what was wrong.
    Invalid(String),
    /// The PNG encoder failed.
    Png(png::EncodingError),
    /// Writing the file failed.
    Io(std::io::Error),
}

impl fmt::Display for GridError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(m) => write!(f, "sample grid: {m}"),
            Self::Png(e) => write!(f, "sample grid: PNG encoding failed: {e}"),
            Self::Io(e) => write!(f, "sample grid: {e}"),
        }
    }
}

impl std::error::Error for GridError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Invalid(_) => None,
            Self::Png(e) => Some(e),
            Self::Io(e) => Some(e),
        }
    }
}

/// The grey of a pixel `v` in `[-1, 1]`, or red if it is not finite.
pub fn pixel_rgb(v: f32) -> [u8; 3] {
    if !v.is_finite() {
        return NON_FINITE_RGB;
    }
    let g = ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8;
    [g, g, g]
}

/// Draws `images` (`[n, rows * cols]` row-major, `n ≥ 1`) as a grid.
pub fn render_grid(images: &[f32], spec: &GridSpec) -> Result<RgbImage, GridError> {
    let GridSpec { rows, cols, per_row, scale } = *spec;
    let invalid = |m: String| Err(GridError::Invalid(m));
    if rows == 0 || cols == 0 || per_row == 0 || scale == 0 {
        return invalid(format!("rows, cols, per_row and scale must be positive, got {spec:?}"));
    }
    let pixels = rows * cols;
    if images.is_empty() || !images.len().is_multiple_of(pixels) {
        let n = images.len();
        return invalid(format!("{n} values are not a whole number (≥ 1) of {rows}×{cols} images"));
    }
    let n = images.len() / pixels;
    let lines = n.div_ceil(per_row);
    // The grid before upscaling, gaps included; checked for overflow.
    let small_w = per_row.checked_mul(cols + 1).map(|w| w - 1);
    let small_h = lines.checked_mul(rows + 1).map(|h| h - 1);
    let size = small_w.zip(small_h).and_then(|(w, h)| {
        let (w, h) = (w.checked_mul(scale)?, h.checked_mul(scale)?);
        Some((w, h)).filter(|_| w.checked_mul(h).is_some_and(|p| p <= MAX_GRID_PIXELS))
    });
    let Some((width, height)) = size else {
        return invalid(format!(
            "{n} images of {rows}×{cols}, {per_row} a line, scale {scale}: \
             over {MAX_GRID_PIXELS} pixels"
        ));
    };
    let (small_w, small_h) = (small_w.unwrap(), small_h.unwrap());

    // The colour of each pixel of the small grid, then each repeated.
    let mut small = vec![GAP_RGB; small_w * small_h];
    for (k, image) in images.chunks_exact(pixels).enumerate() {
        let (left, top) = ((k % per_row) * (cols + 1), (k / per_row) * (rows + 1));
        for (r, row) in image.chunks_exact(cols).enumerate() {
            for (c, &v) in row.iter().enumerate() {
                small[(top + r) * small_w + left + c] = pixel_rgb(v);
            }
        }
    }
    let mut out = Vec::with_capacity(3 * width * height);
    for y in 0..height {
        let line = &small[(y / scale) * small_w..][..small_w];
        for x in 0..width {
            out.extend_from_slice(&line[x / scale]);
        }
    }
    Ok(RgbImage { width, height, pixels: out })
}

/// Encodes a picture as PNG bytes (8-bit RGB).
pub fn encode_png(image: &RgbImage) -> Result<Vec<u8>, GridError> {
    let too_big =
        || GridError::Invalid(format!("{}×{} is too large for PNG", image.width, image.height));
    let width = u32::try_from(image.width).map_err(|_| too_big())?;
    let height = u32::try_from(image.height).map_err(|_| too_big())?;
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(GridError::Png)?;
    writer.write_image_data(&image.pixels).map_err(GridError::Png)?;
    writer.finish().map_err(GridError::Png)?;
    Ok(bytes)
}

/// Draws `images` with [`render_grid`] and writes the PNG to `path`
/// atomically (see [`fsutil::write_atomic`]).
pub fn save_grid(path: impl AsRef<Path>, images: &[f32], spec: &GridSpec) -> Result<(), GridError> {
    let png = encode_png(&render_grid(images, spec)?)?;
    fsutil::write_atomic(path, &png).map_err(GridError::Io)
}
