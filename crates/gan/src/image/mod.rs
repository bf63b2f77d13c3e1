//! The image GAN: MLP or DCGAN players on images (the shipped 8×8 digits,
//! Fashion-MNIST, MNIST), optionally conditional, with the training set
//! held as bytes and batches uploaded as they are made.
//!
//! - `config.rs`: [`ImageConfig`] and the presets;
//! - `pixels.rs`: [`Pixels`], images as bytes, scaled to `[-1, 1]` a batch at a time;
//! - `data.rs`: the training set and its shuffled minibatches;
//! - `nets.rs`: G and D, MLPs or DCGAN's convolutions;
//! - `train.rs`: Algorithm 1 on images ([`ImageTrainer`]);
//! - `ema.rs`: the exponential moving average of G's weights ([`GEma`]);
//! - `judging.rs`: G judged by the classifier, and the best G of a run;
//! - `classifier.rs`: the MLP classifier that judges G's images.

pub mod classifier;
pub mod config;
pub mod data;
pub mod ema;
pub mod judging;
pub mod nets;
pub mod pixels;
pub mod train;

pub use classifier::Classifier;
pub use config::{ImageConfig, ImageNet, ImagePreset};
pub use data::ImageData;
pub use ema::{GChoice, GEma, GWeights};
pub use pixels::{ImageRows, Pixels};
pub use train::ImageTrainer;
