//! # minimax-io: the periphery
//!
//! Everything that touches files or the terminal, kept apart from the core
//! crates (`minimax-autodiff`, `minimax-nn`, `minimax-gan`, `minimax-wgsl`),
//! which do no I/O. The examples use it; a library user may too.
//!
//! - `fsutil.rs`: files written whole or not at all;
//! - `checkpoint.rs`: a training run saved to and resumed from a
//!   safetensors file, validated before anything is allocated from it;
//! - `summary.rs`: `summary.json`, with a verdict;
//! - `cli.rs`: the examples' shared flags (clap) and per-run output folders;
//! - `svg.rs`, `scatter.rs`, `figures.rs`: the paper's Figure 1 and the 2-D
//!   scatter plots, as SVG;
//! - `datasets.rs`: image data sets (the shipped 8×8 digits, IDX files such
//!   as Fashion-MNIST and MNIST), validated before anything is allocated;
//! - `png_grid.rs`, `loss_curves.rs`, `judge_curves.rs`: sample grids as
//!   PNG, loss curves and the judged figures over a run as SVG;
//! - `npy.rs`: G's samples and labels as NumPy `.npy` files;
//! - `hash.rs`: FNV-1a, for checkpoints' checksums and data sets'
//!   fingerprints.

pub mod checkpoint;
pub mod cli;
pub mod datasets;
pub mod figures;
pub mod fsutil;
pub mod hash;
pub mod judge_curves;
pub mod loss_curves;
pub mod npy;
pub mod png_grid;
pub mod scatter;
pub mod summary;
pub mod svg;
