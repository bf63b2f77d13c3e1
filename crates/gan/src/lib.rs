//! The GAN crate (work in progress).
