//! Every random stream of a run, in one table. A draw's seed is
//! `derive_seed(&[run seed, purpose, step, j])` (step `step`, sub-step `j`),
//! or `derive_seed(&[run seed, tag])` for a network's initial parameters,
//! so a run resumed at step `s` draws exactly what an uninterrupted run
//! draws from step `s` on. The numbers are part of every result: changing
//! one changes the bits of every run that draws from it.

/// Network tags mixed into the run seed for the 1-D and 2-D GANs' initial
/// parameters: G's and D's layers draw from different streams.
pub const GENERATOR_NET: u64 = 1;
/// See [`GENERATOR_NET`].
pub const DISCRIMINATOR_NET: u64 = 2;

/// Real samples for a D-step.
pub const REAL: u64 = 1;
/// Noise for a D-step's fake batch.
pub const NOISE_D: u64 = 2;
/// Noise for a G-step.
pub const NOISE_G: u64 = 3;
/// D's dropout masks on the real batch of a D-step.
pub const DROPOUT_REAL: u64 = 4;
/// D's dropout masks on the fake batch of a D-step.
pub const DROPOUT_FAKE: u64 = 5;
/// D's dropout masks in a G-step.
pub const DROPOUT_G: u64 = 6;
/// Label noise on the real labels.
pub const FLIP_REAL: u64 = 7;
/// Label noise on the fake labels.
pub const FLIP_FAKE: u64 = 8;
/// Evaluation samples (see `eval.rs`).
pub const EVAL: u64 = 9;
/// Figure snapshots (see `eval.rs`).
pub const SNAPSHOT: u64 = 10;

/// The image GAN's streams (`image/train.rs`), numbered apart from the
/// others.
pub mod image {
    /// G's initial parameters.
    pub const INIT_G: u64 = 31;
    /// D's initial parameters.
    pub const INIT_D: u64 = 32;
    /// Noise for a D-step's fake batch.
    pub const NOISE_D: u64 = 33;
    /// Noise for a G-step.
    pub const NOISE_G: u64 = 34;
    /// Noise for samples drawn to judge or picture G.
    pub const SAMPLE: u64 = 35;
}
