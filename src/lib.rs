//! # minimax
//!
//! A from-scratch reverse-mode autodiff and WGSL GPU kernel engine, and the
//! GAN trainer built on it. This facade re-exports the three crates:
//!
//! - [`autodiff`]: tensors, the [`autodiff::Backend`] trait, the CPU backend
//!   and the tape;
//! - [`wgsl`]: the same `Backend` on the GPU through `wgpu`;
//! - [`gan`]: MLPs, optimizers, losses and the training loop.

pub use minimax_autodiff as autodiff;
pub use minimax_gan as gan;
pub use minimax_wgsl as wgsl;
