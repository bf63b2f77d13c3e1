//! G's samples as NumPy `.npy` files, for judges outside this project
//! (pytorch-fid, a notebook): `np.load("samples.npy")`.
//!
//! - images: `float32`, shape `[n, rows, cols]`, C order, the pixels as G
//!   draws them (its tanh output, in `[-1, 1]`; `(x + 1) / 2` gives the
//!   `[0, 1]` images most tools expect);
//! - labels: `int64` (NumPy's and PyTorch's default integer), shape `[n]`:
//!   the class each image was asked for (a conditional G).
//!
//! Written by the `npyz` crate (the NumPy format, nothing else; no
//! `ndarray`), into memory and then through [`fsutil::write_atomic`], so a
//! file is whole or absent.

use crate::fsutil;
use npyz::WriterBuilder;
use std::io;
use std::path::Path;

/// The `.npy` bytes of `images` (`n` images of `rows × cols`, row-major,
/// `n · rows · cols` values): `float32`, shape `[n, rows, cols]`.
pub fn images_npy(images: &[f32], rows: usize, cols: usize) -> io::Result<Vec<u8>> {
    let pixels = rows * cols;
    if pixels == 0 || !images.len().is_multiple_of(pixels) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} values are not images of {rows}×{cols}", images.len()),
        ));
    }
    let n = images.len() / pixels;
    let shape = [n as u64, rows as u64, cols as u64];
    let mut bytes = Vec::with_capacity(128 + 4 * images.len());
    let mut w =
        npyz::WriteOptions::new().default_dtype().shape(&shape).writer(&mut bytes).begin_nd()?;
    w.extend(images.iter().copied())?;
    w.finish()?;
    Ok(bytes)
}

/// The `.npy` bytes of `labels`: `int64`, shape `[n]`.
pub fn labels_npy(labels: &[usize]) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(128 + 8 * labels.len());
    let shape = [labels.len() as u64];
    let mut w =
        npyz::WriteOptions::new().default_dtype().shape(&shape).writer(&mut bytes).begin_nd()?;
    w.extend(labels.iter().map(|&l| l as i64))?;
    w.finish()?;
    Ok(bytes)
}

/// Writes [`images_npy`] to `path`, whole or not at all.
pub fn save_images(path: &Path, images: &[f32], rows: usize, cols: usize) -> io::Result<()> {
    fsutil::write_atomic(path, &images_npy(images, rows, cols)?)
}

/// Writes [`labels_npy`] to `path`, whole or not at all.
pub fn save_labels(path: &Path, labels: &[usize]) -> io::Result<()> {
    fsutil::write_atomic(path, &labels_npy(labels)?)
}

/// A `.npy` file read back: its shape, its dtype as NumPy writes it
/// (`<f4`, `<i8`, …) and its values widened to f64 (for checks and tests).
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// The shape, outermost first.
    pub shape: Vec<u64>,
    /// NumPy's type string, such as `<f4`.
    pub dtype: String,
    /// Every value, in C order.
    pub values: Vec<f64>,
}

/// Reads a `.npy` file of `float32`, `float64` or `int64` values.
pub fn read(path: &Path) -> io::Result<NpyArray> {
    let bytes = std::fs::read(path)?;
    let file = npyz::NpyFile::new(&bytes[..])?;
    let shape = file.shape().to_vec();
    let dtype = file.dtype().descr().trim_matches('\'').to_string();
    let values = match dtype.as_str() {
        "<f4" => file.into_vec::<f32>()?.into_iter().map(f64::from).collect(),
        "<f8" => file.into_vec::<f64>()?,
        "<i8" => file.into_vec::<i64>()?.into_iter().map(|v| v as f64).collect(),
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: dtype {other}: expected <f4, <f8 or <i8", path.display()),
            ))
        }
    };
    Ok(NpyArray { shape, dtype, values })
}
