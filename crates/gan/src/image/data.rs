//! [`ImageData`]: a training set uploaded to the device **once**, and
//! minibatches from seeded, shuffled epochs gathered on the device.
//!
//! A step uploads only its batch's row indices (`batch` × 4 bytes); the
//! images, and for a conditional GAN their one-hot classes, are picked out
//! of the resident tensors by [`Var::gather_rows`].
//!
//! A device may bind only so many bytes per tensor (128 MiB on lavapipe,
//! less than MNIST's 188 MB of f32 pixels), so the set can be held as
//! several chunks of rows. Batches then take turns over the chunks, each
//! batch from one chunk: batch `b` comes from chunk `b mod chunks`, from
//! that chunk's own shuffled epoch. Every image is still seen once an epoch.

use crate::image::ImageConfig;
use minimax_autodiff::rng::{derive_seed, seed_key, uniform};
use minimax_autodiff::{Backend, Real, Result, Shape, Tape, Var};

/// The purpose tag of the shuffles' seeds.
const SHUFFLE: u64 = 21;

/// One chunk of the training set on the device.
struct Chunk<B: Backend> {
    /// `[rows, pixels]`, in [-1, 1].
    images: B::Tensor,
    /// `[rows, classes]`, one-hot.
    onehot: B::Tensor,
    rows: usize,
    /// The chunk's current epoch and its order of rows.
    order: Option<(u64, Vec<u32>)>,
}

/// A resident training set.
pub struct ImageData<B: Backend> {
    chunks: Vec<Chunk<B>>,
    seed: u64,
    batch: usize,
}

/// One minibatch on the device.
pub struct Batch<B: Backend> {
    /// `[batch, pixels]` real images.
    pub images: Var<B>,
    /// `[batch, classes]` their classes, one-hot.
    pub onehot: Var<B>,
}

impl<B: Backend> ImageData<B> {
    /// Uploads `images` (`[n, pixels]` row-major, in [-1, 1]) and their
    /// `labels`, in chunks of at most `max_rows` rows, for batches of the
    /// config's size.
    pub fn upload(
        backend: &B,
        config: &ImageConfig,
        images: &[f32],
        labels: &[u8],
        max_rows: usize,
    ) -> Result<Self> {
        let (p, k) = (config.pixels, config.classes);
        let n = labels.len();
        let max_rows = max_rows.max(config.batch);
        if images.len() != n * p || n < config.batch || labels.iter().any(|&l| l as usize >= k) {
            return Err(minimax_autodiff::Error::Invalid {
                op: "ImageData::upload",
                why: format!(
                    "{} pixel values and {n} labels for images of {p} pixels in {k} classes, \
                     batches of {}: need n·pixels values, n ≥ batch and every label below {k}",
                    images.len(),
                    config.batch
                ),
            });
        }
        let mut chunks = Vec::new();
        for start in (0..n).step_by(max_rows) {
            let rows = max_rows.min(n - start);
            if rows < config.batch {
                break; // a tail too short for one batch is left out
            }
            let px: Vec<B::Elem> = images[start * p..(start + rows) * p]
                .iter()
                .map(|&v| B::Elem::from_f64(v as f64))
                .collect();
            let mut hot = vec![B::Elem::from_f64(0.0); rows * k];
            for (r, &l) in labels[start..start + rows].iter().enumerate() {
                hot[r * k + l as usize] = B::Elem::from_f64(1.0);
            }
            chunks.push(Chunk {
                images: backend.upload(Shape::new(rows, p), &px)?,
                onehot: backend.upload(Shape::new(rows, k), &hot)?,
                rows,
                order: None,
            });
        }
        Ok(ImageData { chunks, seed: config.seed, batch: config.batch })
    }

    /// Images held on the device.
    pub fn len(&self) -> usize {
        self.chunks.iter().map(|c| c.rows).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Minibatch number `b` (counted over the whole run), gathered on the
    /// device from its chunk's shuffled epoch. Uploads `batch` indices.
    pub fn batch(&mut self, tape: &Tape<B>, b: u64) -> Result<Batch<B>> {
        let n_chunks = self.chunks.len() as u64;
        let (c, q) = ((b % n_chunks) as usize, b / n_chunks);
        let (seed, size) = (self.seed, self.batch);
        let chunk = &mut self.chunks[c];
        let per_epoch = (chunk.rows / size) as u64;
        let (epoch, i) = (q / per_epoch, (q % per_epoch) as usize);
        if chunk.order.as_ref().is_none_or(|(e, _)| *e != epoch) {
            let key = derive_seed(&[seed, SHUFFLE, c as u64, epoch]);
            chunk.order = Some((epoch, shuffled(chunk.rows, key)));
        }
        let order = &chunk.order.as_ref().expect("set above").1;
        let idx = tape.backend().upload_indices(&order[i * size..(i + 1) * size])?;
        let images = tape.constant(chunk.images.clone()).gather_rows(&idx)?; // [batch, pixels]
        let onehot = tape.constant(chunk.onehot.clone()).gather_rows(&idx)?; // [batch, classes]
        Ok(Batch { images, onehot })
    }
}

/// `0..n` in the order of a Fisher–Yates shuffle driven by the
/// counter-based generator seeded `seed`.
pub fn shuffled(n: usize, seed: u64) -> Vec<u32> {
    let key = seed_key(seed);
    let mut order: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        let j = ((uniform(key, i as u32) * (i + 1) as f64) as usize).min(i);
        order.swap(i, j);
    }
    order
}
