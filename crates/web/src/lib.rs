//! # minimax-web: the engine in the browser
//!
//! The GAN trainers of `minimax-gan`, compiled to WebAssembly for the
//! page in `web/` (GAN Lab's views, on this engine). Everything the page
//! shows is computed here, in Rust: densities, D's surface, the gradients
//! on G's samples, the divergences, the coverage. The page only draws.
//!
//! - `measure.rs`: the arithmetic on the host (grid densities, KL and JS in
//!   bits, the optimal D*);
//! - `read.rs`: reading a frame's tensors, blocking on the CPU, awaited on
//!   WebGPU;
//! - `lab1d.rs`: the 1-D view, the GAN paper's Figure 1 live;
//! - `lab2d.rs`: the 2-D view, GAN Lab's;
//! - `digits.rs`: the 8 × 8 digits forming;
//! - `js.rs` (wasm32 only): the JavaScript API, `wasm-bindgen`'s.
//!
//! Each view is generic over the [`minimax_autodiff::Backend`], so the
//! same code runs on the CPU backend compiled to WASM (single-threaded:
//! the thread pool has one thread there) and on the WGSL kernels on
//! WebGPU, and natively in `cargo test`. A frame comes in two halves (ask
//! for tensors, then finish with their values) because WebGPU reads are
//! asynchronous in a browser: see `read.rs`.

pub mod digits;
pub mod lab1d;
pub mod lab2d;
pub mod measure;
pub mod read;

#[cfg(target_arch = "wasm32")]
mod js;
