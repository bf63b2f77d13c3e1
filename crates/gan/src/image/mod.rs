//! The image GAN: MLP players on flattened images (the shipped 8×8 digits,
//! Fashion-MNIST, MNIST), optionally conditional, with the training set
//! resident on the device.
//!
//! - `config.rs`: [`ImageConfig`] and the presets;
//! - `data.rs`: the resident training set and its shuffled minibatches;
//! - `train.rs`: Algorithm 1 on images ([`ImageTrainer`]);
//! - `classifier.rs`: the MLP classifier that judges G's images.

pub mod classifier;
pub mod config;
pub mod data;
pub mod train;

pub use classifier::Classifier;
pub use config::{ImageConfig, ImagePreset};
pub use data::ImageData;
pub use train::ImageTrainer;
