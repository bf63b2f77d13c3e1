//! # minimax-gan: GANs on the minimax engine
//!
//! Generative adversarial nets (Goodfellow et al. 2014) on a 1-D Gaussian
//! and on the 2-D data sets of the mode-collapse literature, written against
//! the [`minimax_autodiff::Backend`] trait so the same code trains on the CPU
//! and on the GPU. Layers, parameters and optimizers come from
//! [`minimax_nn`]; files, figures and flags are `minimax-io`'s. The README
//! gives the reading order of the whole project; within this crate:
//!
//! - `loss.rs`: the four games, each with its formula;
//! - `data.rs`: the real data (a Gaussian, a ring, a grid, moons, a spiral);
//! - `models.rs`, `config.rs`: G and D, and the presets;
//! - `algorithm1.rs`: Algorithm 1 of the GAN paper, one step, for every GAN;
//! - `train.rs`: the 1-D and 2-D GANs' passes (`image/` has the image GAN's);
//! - `pass.rs`: a step's plumbing (the tape, reused leaf vectors, the values
//!   the progress line reads), out of Algorithm 1's way;
//! - `run.rs`: many steps, with progress, the divergence check and saves;
//! - `eval.rs`, `snapshot.rs`, `stats.rs`: judging G on 1-D data;
//! - `coverage.rs`, `plane.rs`: mode coverage on 2-D data;
//! - `judge.rs`, `frechet.rs`: judging an image generator by a classifier's
//!   outputs (class coverage, class KL, Inception Score, Fréchet distance).

pub mod algorithm1;
pub mod clock;
pub mod config;
pub mod counters;
pub mod coverage;
pub mod data;
pub mod error;
pub mod eval;
pub mod frechet;
pub mod image;
pub mod judge;
pub mod loss;
pub mod models;
pub mod pass;
pub mod plane;
pub mod purpose;
pub mod run;
pub mod snapshot;
pub mod stats;
pub mod train;

pub use config::{Config, Preset};
pub use coverage::Coverage;
pub use data::{DataKind, Target};
pub use error::TrainError;
pub use eval::Evaluation;
pub use loss::GanLoss;
pub use models::{Discriminator, Generator};
pub use run::{
    CounterHook, Counters, DeviceCounters, PerStep, Progress, RunHooks, RunOptions, RunStats,
    Training,
};
pub use snapshot::{LineSnapshot, PlaneSnapshot, Snapshot};
pub use train::Trainer;
