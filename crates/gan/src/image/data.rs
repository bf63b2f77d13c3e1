//! [`ImageData`]: a training set held on the host as bytes ([`Pixels`]),
//! and minibatches from seeded, shuffled epochs, each scaled to `[-1, 1]`
//! and uploaded when it is made.
//!
//! A step uploads its batch, `batch × pixels` values and `batch × classes`
//! one-hot classes (Fashion-MNIST's batch of 64 is 200 KB of `f32`); the
//! set itself stays in bytes, a quarter of its `f32` size (47 MB for
//! Fashion-MNIST's 60,000 images, not 188 MB), and is never converted
//! whole. A byte becomes the value [`Pixels::value`] gives it, the one
//! formula, so a batch holds the same bits as the set converted at once.
//!
//! The set is cut into chunks of at most `max_rows` rows (`upload`'s
//! argument; once the device's binding limit, now only the schedule), and
//! batches take turns over the chunks, each batch from one chunk: batch `b`
//! comes from chunk `b mod chunks`, from that chunk's own shuffled epoch.
//! Every image is still seen once an epoch.

use crate::image::pixels::Pixels;
use crate::image::ImageConfig;
use minimax_autodiff::rng::{derive_seed, seed_key, uniform};
use minimax_autodiff::{Backend, Real, Result, Shape, Tape, Var};
use std::marker::PhantomData;

/// The purpose tag of the shuffles' seeds.
const SHUFFLE: u64 = 21;

/// One chunk of the training set: a range of its rows.
struct Chunk {
    /// Its first row in the set.
    start: usize,
    rows: usize,
    /// The chunk's current epoch and its order of rows (from 0 in the chunk).
    order: Option<(u64, Vec<u32>)>,
}

/// A training set on the host, batched for a backend `B`.
pub struct ImageData<B: Backend> {
    images: Pixels,
    /// [`Pixels::value`] of every byte.
    table: [f32; 256],
    labels: Vec<u8>,
    pixels: usize,
    classes: usize,
    chunks: Vec<Chunk>,
    seed: u64,
    batch: usize,
    backend: PhantomData<fn() -> B>,
}

/// One minibatch on the device.
pub struct Batch<B: Backend> {
    /// `[batch, pixels]` real images.
    pub images: Var<B>,
    /// `[batch, classes]` their classes, one-hot.
    pub onehot: Var<B>,
}

impl<B: Backend> ImageData<B> {
    /// Holds `images` (`[n, pixels]` row-major bytes: a pointer is cloned,
    /// not the bytes) and their `labels`, cut into chunks of at most
    /// `max_rows` rows, for batches of the config's size. `backend` is the
    /// device the batches will be uploaded to (nothing is uploaded here).
    pub fn upload(
        backend: &B,
        config: &ImageConfig,
        images: &Pixels,
        labels: &[u8],
        max_rows: usize,
    ) -> Result<Self> {
        let _ = backend;
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
            chunks.push(Chunk { start, rows, order: None });
        }
        Ok(ImageData {
            images: images.clone(),
            table: images.table(),
            labels: labels.to_vec(),
            pixels: p,
            classes: k,
            chunks,
            seed: config.seed,
            batch: config.batch,
            backend: PhantomData,
        })
    }

    /// Images batches are drawn from.
    pub fn len(&self) -> usize {
        self.chunks.iter().map(|c| c.rows).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Minibatch number `b` (counted over the whole run), from its chunk's
    /// shuffled epoch: its images scaled to `[-1, 1]` and their one-hot
    /// classes, made on the host and uploaded.
    pub fn batch(&mut self, tape: &Tape<B>, b: u64) -> Result<Batch<B>> {
        let n_chunks = self.chunks.len() as u64;
        let (c, q) = ((b % n_chunks) as usize, b / n_chunks);
        let (seed, size, p, k) = (self.seed, self.batch, self.pixels, self.classes);
        let chunk = &mut self.chunks[c];
        let per_epoch = (chunk.rows / size) as u64;
        let (epoch, i) = (q / per_epoch, (q % per_epoch) as usize);
        if chunk.order.as_ref().is_none_or(|(e, _)| *e != epoch) {
            let key = derive_seed(&[seed, SHUFFLE, c as u64, epoch]);
            chunk.order = Some((epoch, shuffled(chunk.rows, key)));
        }
        let order = &chunk.order.as_ref().expect("set above").1;
        let rows = &order[i * size..(i + 1) * size];
        let (bytes, table) = (self.images.bytes(), &self.table);
        let mut px: Vec<B::Elem> = Vec::with_capacity(size * p); // [batch, pixels]
        let mut hot = vec![B::Elem::from_f64(0.0); size * k]; // [batch, classes]
        for (r, &row) in rows.iter().enumerate() {
            let row = chunk.start + row as usize;
            let image = &bytes[row * p..(row + 1) * p];
            px.extend(image.iter().map(|&v| B::Elem::from_f64(table[v as usize] as f64)));
            hot[r * k + self.labels[row] as usize] = B::Elem::from_f64(1.0);
        }
        let be = tape.backend();
        let images = tape.constant(be.upload(Shape::new(size, p), &px)?);
        let onehot = tape.constant(be.upload(Shape::new(size, k), &hot)?);
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
