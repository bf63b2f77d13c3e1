//! # minimax-gan: GANs on the minimax engine
//!
//! GANs on a 1-D Gaussian and on the 2-D data sets of the mode-collapse
//! literature, written against the [`minimax_autodiff::Backend`] trait so
//! the same code trains on the CPU and on the GPU.
//!
//! ## Reading order
//!
//! 1. `layers.rs`: activations, initialisers, the affine layer `x·W + b`.
//! 2. `mlp.rs`, `params.rs`: a stack of layers; parameters that outlive tapes.
//! 3. `optim.rs`: SGD with momentum and Adam over a [`ParamStore`].
//! 4. `loss.rs`: the four games (minimax, non-saturating, least squares,
//!    Wasserstein), each with its formula.
//! 5. `data.rs`: the real data (a Gaussian, a ring, a grid, moons, a spiral).
//! 6. `models.rs`, `config.rs`: G and D, and the presets.
//! 7. `train.rs`: Algorithm 1 of the GAN paper, step by step.
//! 8. `report.rs`, `checkpoint.rs`: evaluation, Figure 1, resuming.
//! 9. `coverage.rs`, `plane.rs`, `scatter.rs`: mode coverage and pictures
//!    for 2-D data.
pub mod checkpoint;
pub mod cli;
pub mod config;
mod config_json;
pub mod coverage;
pub mod data;
pub mod fsutil;
pub mod json;
pub mod layers;
pub mod loss;
pub mod mlp;
pub mod models;
pub mod optim;
pub mod params;
pub mod plane;
pub mod report;
pub mod safetensors;
pub mod scatter;
pub mod stats;
pub mod svg;
pub mod train;

pub use config::{Config, Preset};
pub use coverage::Coverage;
pub use data::{DataKind, Target};
pub use layers::{Activation, Init, Linear};
pub use loss::GanLoss;
pub use mlp::Mlp;
pub use models::{Discriminator, Generator};
pub use optim::{Optimizer, OptimizerConfig};
pub use params::{Param, ParamStore};
pub use plane::PlaneSnapshot;
pub use report::{Evaluation, LineSnapshot, Snapshot, Summary};
pub use train::{DeviceCounters, Progress, RunOptions, RunStats, TrainError, Trainer};
