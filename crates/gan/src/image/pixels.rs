//! [`Pixels`]: a data set's images as their files store them, one byte a
//! pixel, and [`ImageRows`]: what a batch of values in `[-1, 1]` can be made
//! from (those bytes, or `f32` values such as G's samples).
//!
//! Bytes take a quarter of the memory of `f32`: Fashion-MNIST's 60,000
//! training images of 28×28 are 47 MB as bytes, 188 MB as `f32`. A byte `v`
//! becomes a value only when a batch is made, by one formula,
//!
//! ```text
//! value(v) = v / (max / 2) - 1          (in f32: 0 → -1, max → 1)
//! ```
//!
//! with `max` the byte that means full ink (255 in IDX files, 16 in the 8×8
//! digits). It is computed once per byte value into a table of 256 `f32`s,
//! so every batch holds exactly the values a whole set converted at once
//! would hold, bit for bit.

use minimax_autodiff::Real;
use std::sync::Arc;

/// Images as bytes, `[n, pixels]` row-major, shared: a clone is a pointer,
/// so the trainer's data and the judges read one copy.
#[derive(Clone, Debug, PartialEq)]
pub struct Pixels {
    /// The bytes (an `Arc` of the `Vec` a reader filled: moved, not copied).
    bytes: Arc<Vec<u8>>,
    /// The byte that means full ink, scaled to 1.
    max: u8,
}

impl Pixels {
    /// Bytes whose value `max` (at least 1) means full ink. Panics if `max`
    /// is 0: a constant of the caller's, not data.
    pub fn new(bytes: Vec<u8>, max: u8) -> Pixels {
        assert!(max > 0, "Pixels::new: max must be at least 1");
        Pixels { bytes: Arc::new(bytes), max }
    }

    /// The byte that means full ink.
    pub fn max(&self) -> u8 {
        self.max
    }

    /// The bytes, `[n, pixels]` row-major.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Bytes held (images × pixels).
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether no byte is held.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The value of byte `v` in `[-1, 1]` (may exceed 1 for `v > max`).
    pub fn value(&self, v: u8) -> f32 {
        v as f32 / (self.max as f32 / 2.0) - 1.0
    }

    /// [`Self::value`] of every byte, `[256]`.
    pub fn table(&self) -> [f32; 256] {
        std::array::from_fn(|v| self.value(v as u8))
    }

    /// Every value, `[n, pixels]`: the whole set in `f32` (four times the
    /// bytes; for tests and small sets).
    pub fn to_f32(&self) -> Vec<f32> {
        let table = self.table();
        self.bytes.iter().map(|&v| table[v as usize]).collect()
    }

    /// A copy whose bytes `f` has changed (for tests of what a changed
    /// pixel does).
    pub fn map_bytes(&self, f: impl FnOnce(&mut Vec<u8>)) -> Pixels {
        let mut bytes = self.bytes.to_vec();
        f(&mut bytes);
        Pixels::new(bytes, self.max)
    }
}

/// Values a batch of images can be made from: `[n, pixels]` row-major in
/// `[-1, 1]`, read a range at a time so a whole set is never converted at
/// once.
pub trait ImageRows {
    /// Values held (images × pixels).
    fn values(&self) -> usize;

    /// Appends values `range` (indices of values, not of images) to `out`,
    /// each as `E::from_f64` of its `f32`.
    fn extend_values<E: Real>(&self, range: std::ops::Range<usize>, out: &mut Vec<E>);
}

impl ImageRows for [f32] {
    fn values(&self) -> usize {
        self.len()
    }

    fn extend_values<E: Real>(&self, range: std::ops::Range<usize>, out: &mut Vec<E>) {
        out.extend(self[range].iter().map(|&v| E::from_f64(v as f64)));
    }
}

impl ImageRows for Vec<f32> {
    fn values(&self) -> usize {
        self.len()
    }

    fn extend_values<E: Real>(&self, range: std::ops::Range<usize>, out: &mut Vec<E>) {
        self.as_slice().extend_values(range, out)
    }
}

impl ImageRows for Pixels {
    fn values(&self) -> usize {
        self.len()
    }

    fn extend_values<E: Real>(&self, range: std::ops::Range<usize>, out: &mut Vec<E>) {
        let table = self.table();
        out.extend(self.bytes[range].iter().map(|&v| E::from_f64(table[v as usize] as f64)));
    }
}
