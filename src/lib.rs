//! # minimax
//!
//! A from-scratch reverse-mode autodiff and WGSL GPU kernel engine, and the
//! GAN trainer built on it. This facade re-exports the crates:
//!
//! - [`autodiff`]: tensors, the [`autodiff::Backend`] trait, the plain
//!   reference backend and the tape;
//! - [`cpu`]: the tuned CPU backend ([`cpu::Cpu`]: SIMD, threads, fused ops);
//! - [`nn`]: layers, MLPs, named parameters, optimizers, schedules;
//! - [`gan`]: G and D, the four games, Algorithm 1, data and evaluation;
//! - [`io`]: checkpoints, summaries and figures (files; the others do no I/O);
//! - [`wgsl`] (feature `gpu`, on by default): the same `Backend` on the GPU
//!   through `wgpu`.

pub use minimax_autodiff as autodiff;
pub use minimax_cpu as cpu;
pub use minimax_gan as gan;
pub use minimax_io as io;
pub use minimax_nn as nn;
#[cfg(feature = "gpu")]
pub use minimax_wgsl as wgsl;

/// The GPU backend's work counters as the trainers read them
/// ([`gan::Trainer::set_counter_hook`]), so a run can report its commands
/// per step. (`wgsl::Stats` holds the same counts: a field-by-field copy,
/// `bind_groups_created` becoming `bind_groups`.)
#[cfg(feature = "gpu")]
pub fn gpu_counters(gpu: &wgsl::Wgpu) -> impl Fn() -> gan::DeviceCounters + 'static {
    let gpu = gpu.clone();
    move || {
        let s = gpu.stats();
        gan::DeviceCounters {
            dispatches: s.dispatches,
            passes: s.passes,
            bind_groups: s.bind_groups_created,
            copies: s.copies,
            submits: s.submits,
            uploads: s.uploads,
            upload_bytes: s.upload_bytes,
            readbacks: s.readbacks,
            readback_bytes: s.readback_bytes,
            buffers_allocated: s.buffers_allocated,
            bytes_allocated: s.bytes_allocated,
        }
    }
}
