//! # minimax-wgsl
//!
//! The [`Backend`] of `minimax-autodiff` on the GPU: every primitive is a
//! WGSL compute kernel (in the workspace's top-level `shaders/` folder) run
//! through `wgpu`, on Vulkan, Metal or DX12, or on a software Vulkan such
//! as Mesa's lavapipe.
//!
//! ## How it works
//!
//! - **Resident tensors.** A [`WgpuTensor`] is a shape and a handle on a
//!   GPU buffer. Ops take and return such handles; values come back to the
//!   host only through [`Backend::download`].
//! - **Recorded, batched work.** Ops do not run when called: each records a
//!   dispatch into one pending command encoder, submitted by
//!   [`Backend::flush`] (end of a training step), [`Backend::sync`] or a
//!   download. A training step is one submit.
//! - **Pooled buffers.** Buffers come from a size-bucketed pool and go back
//!   to it when their last tensor drops, so a step in steady state creates
//!   no buffers. [`Wgpu::stats`] counts all of the above.
//!
//! ## Reading order
//!
//! 1. `shaders/fill.wgsl`, then `kernels.rs`: what a kernel looks like on
//!    both sides, one row of the kernel table each; `params.rs`, the
//!    parameters each takes, and `codes.rs`, the op codes that choose what
//!    `unary.wgsl`, `binary.wgsl`, … compute.
//! 2. `backend.rs`: each `Backend` method, narrated: check the shapes, take
//!    an output buffer, fill in the parameters, dispatch.
//! 3. `context.rs`: recording and submitting; `uniforms.rs` and `pool.rs`:
//!    why uploads and parameters cannot race the recorded commands.
//! 4. `shaders/matmul_naive.wgsl`, then `shaders/matmul_tiled.wgsl`.
//! 5. `shaders/conv2d_naive.wgsl`, then `shaders/conv2d_gemm.wgsl` and
//!    `conv.rs`: the convolution and its gradients, plainly, then as tiled
//!    products whose im2col matrix is never stored.
//! 6. `fused.rs`: the fast paths, each tested against the plain one:
//!    `matmul_small.wgsl` and `matmul_large.wgsl` (the products a training
//!    step really has, and large ones), a layer's forward as one kernel
//!    (the product's epilogue), its backward through the activation and
//!    bias (`bias_act.wgsl`), the BCE loss (`bce.wgsl`) and Adam over
//!    several tensors (`adam_multi.wgsl`).
//!
//! ## Adding a kernel
//!
//! 1. Its shader, `shaders/<name>.wgsl`: a header saying what it computes
//!    and listing its bindings; binding 0 is `var<uniform> params: Params`,
//!    the others storage buffers.
//! 2. Its row in the table of `kernels.rs`: name, file, entry point, the
//!    `Params` struct, whether each storage binding is read or written,
//!    and the op codes it uses by name, if any. Add the struct to
//!    `params.rs` if no existing one matches the shader's `Params` field by
//!    field.
//! 3. Its dispatch, in the `Backend` method that runs it (`backend.rs`,
//!    `fused.rs` or `rows.rs`): `self.ctx.dispatch(K::Name, &params,
//!    &buffers, grid)`.
//!
//! The unit tests of `kernels.rs` then parse and validate the shader with
//! naga and check its bindings against the row, without a GPU; a dispatch
//! whose parameters are not the row's struct panics.
//!
//! A new op of an existing kernel (a `Unary` variant, say) is a row in the
//! table of `codes.rs` and, for `Unary`, an arm in `unary_params`
//! (`params.rs`) saying what goes in `k`, `a` and `b` (the compiler asks
//! for both), then the arms under its name in the shader's `switch`es (a
//! unit test checks `unary.wgsl` has two, `f` and `df`). The `const`
//! declarations of the codes are generated and appended to the shader's
//! source, never written by hand. A layer activation the fused kernels
//! apply is also an entry of `FUSED_ACTIVATIONS` (`codes.rs`) and two arms
//! of `activation.wgsl`.
//!
//! ## Example
//!
//! ```no_run
//! use minimax_autodiff::{Backend, Shape};
//! use minimax_wgsl::Wgpu;
//!
//! let gpu = Wgpu::new()?;
//! let a = gpu.upload(Shape::new(2, 2), &[1.0, 2.0, 3.0, 4.0])?;
//! let c = gpu.matmul(&a, false, &a, true)?; // a · aᵀ, recorded
//! assert_eq!(gpu.download(&c)?, vec![5.0, 11.0, 11.0, 25.0]); // submitted, read back
//! # Ok::<(), minimax_autodiff::Error>(())
//! ```

// On wasm32 wgpu's handles are neither `Send` nor `Sync` (a browser's GPU
// objects belong to one thread), so the `Arc`s that share them natively
// between a backend's clones share them on that one thread there.
#![cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]

mod backend;
mod codes;
mod context;
mod conv;
mod device;
mod fused;
mod kernels;
mod params;
mod pool;
mod readback;
mod rows;
mod stats;
mod tensor;
pub mod testing;
mod uniforms;

pub use stats::Stats;
pub use tensor::{WgpuIndices, WgpuTensor};

use context::Context;
use minimax_autodiff::{Backend, ConvGeometry, Result};
use std::sync::Arc;

/// The GPU backend: `Backend<Elem = f32>` on a `wgpu` device.
///
/// Cloning is cheap: clones share the device, the pending work, the buffer
/// pool and the statistics.
#[derive(Clone)]
pub struct Wgpu {
    ctx: Arc<Context>,
}

/// Which matrix-multiply kernel to run (see [`Wgpu::matmul_with`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MatmulKernel {
    /// What [`Backend::matmul`] runs: `Large` for products with many
    /// 128 × 128 tiles whose sizes are multiples of 4, else `Small`.
    Auto,
    /// `shaders/matmul_small.wgsl`: 32 × 32 tiles of C, 4 × 4 per
    /// invocation, padded workgroup memory: many workgroups for the short
    /// products of a training step (a batch of 64 rows). Any shape.
    Small,
    /// `shaders/matmul_large.wgsl`: 128 × 128 tiles, 8 × 8 per invocation,
    /// vec4 loads and stores, padded workgroup memory. Needs m, k and n
    /// multiples of 4.
    Large,
    /// `shaders/matmul_tiled.wgsl`: 64 × 64 tiles of C staged through
    /// workgroup memory, 4 × 4 per invocation in registers: the plain tiled
    /// kernel, the one to read first.
    Tiled,
    /// `shaders/matmul_naive.wgsl`: one invocation per element of C, reading
    /// global memory only. The reference the others are tested against.
    Naive,
}

/// Which convolution kernels to run (see [`Wgpu::conv2d_with`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ConvKernel {
    /// `shaders/conv2d_gemm.wgsl`, what [`Backend::conv2d`] and its
    /// gradients run: each as a product tiled 64 × 64 in workgroup memory
    /// (an "implicit GEMM": the im2col matrix is computed tile by tile,
    /// never stored), a long sum split over the grid and its parts added by
    /// a second dispatch. Any geometry.
    Gemm,
    /// `shaders/conv2d_naive.wgsl`: one invocation per output element,
    /// reading global memory only. The reference the other is tested
    /// against.
    Naive,
}

impl Wgpu {
    /// Opens the best GPU adapter available: a hardware one when there is
    /// one, else any (such as lavapipe, a software Vulkan).
    ///
    /// With none, returns [`minimax_autodiff::Error::Device`] listing the
    /// adapters that were found and how to get one.
    ///
    /// Natively it blocks until the device is open. In a browser no thread
    /// may block, so there it returns an error: use [`Wgpu::new_async`].
    pub fn new() -> Result<Wgpu> {
        let (device, queue, info) = device::open()?;
        Ok(Wgpu { ctx: Arc::new(Context::new(device, queue, info)) })
    }

    /// [`Wgpu::new`] as a future, on every target. In a browser it opens
    /// WebGPU (`navigator.gpu`): a browser without it, or one that gives no
    /// adapter, is an error saying so. Natively it picks the adapter
    /// [`Wgpu::new`] picks.
    pub async fn new_async() -> Result<Wgpu> {
        let (device, queue, info) = device::open_async().await?;
        Ok(Wgpu { ctx: Arc::new(Context::new(device, queue, info)) })
    }

    /// [`Backend::download`] as a future: the one readback that works in a
    /// browser, where the blocking one is an error (see `readback.rs` for
    /// why). Everything recorded before it is submitted with its copy, as
    /// one submit. Natively it blocks in the device poll, then is ready.
    pub async fn download_async(&self, x: &WgpuTensor) -> Result<Vec<f32>> {
        let mut values = self.download_many_async(&[x]).await?;
        Ok(values.pop().expect("one tensor asked for, one read back"))
    }

    /// The values of every tensor of `xs`, in order: one submit (with
    /// everything recorded before it, so a training step and the losses it
    /// reports are still one submit), one readback buffer per tensor, all
    /// mappings asked for before any is awaited.
    pub async fn download_many_async(&self, xs: &[&WgpuTensor]) -> Result<Vec<Vec<f32>>> {
        for x in xs {
            backend::readable(self, x)?;
        }
        let srcs: Vec<_> = xs.iter().map(|x| (&*x.buffer, x.bytes())).collect();
        self.ctx.download_many(&srcs).await
    }

    /// The adapter's name and backend, e.g.
    /// `"llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan)"`.
    pub fn adapter_summary(&self) -> String {
        device::describe(&self.ctx.info)
    }

    /// Whether the adapter is a software rasterizer (such as lavapipe):
    /// correct, but no faster than the CPU.
    pub fn is_software(&self) -> bool {
        self.ctx.info.device_type == wgpu::DeviceType::Cpu
    }

    /// What kind of adapter this is: `"discrete GPU"`, `"integrated GPU"`,
    /// `"virtual GPU"`, `"software rasterizer"` or `"other"`.
    pub fn adapter_type(&self) -> &'static str {
        match self.ctx.info.device_type {
            wgpu::DeviceType::DiscreteGpu => "discrete GPU",
            wgpu::DeviceType::IntegratedGpu => "integrated GPU",
            wgpu::DeviceType::VirtualGpu => "virtual GPU",
            wgpu::DeviceType::Cpu => "software rasterizer",
            wgpu::DeviceType::Other => "other",
        }
    }

    /// How many tensors one dispatch of [`Backend::adam_step_many`] updates:
    /// 6 where the device binds 24 storage buffers per kernel (Vulkan,
    /// Metal, DX12 on current GPUs), else 1 (OpenGL on some drivers).
    pub fn adam_tensors_per_dispatch(&self) -> usize {
        fused::adam_tensors_per_dispatch(self)
    }

    /// What the backend has done since it was created or since
    /// [`Wgpu::reset_stats`].
    pub fn stats(&self) -> Stats {
        self.ctx.stats()
    }

    /// Zeroes every counter of [`Wgpu::stats`].
    pub fn reset_stats(&self) {
        self.ctx.reset_stats()
    }

    /// The largest tensor this adapter can hold, in bytes (4 per element):
    /// the smaller of its `max_buffer_size` and
    /// `max_storage_buffer_binding_size`. Ops asked for a larger one return
    /// an error naming the op and the shape (or, where they cannot return
    /// one, report it to the next flush, sync or download). 128 MiB on
    /// lavapipe: MNIST's 60 000 × 784 `f32` training images (188 MB) then
    /// need two tensors that minibatches are gathered from in turn.
    pub fn max_tensor_bytes(&self) -> u64 {
        self.ctx.max_binding
    }

    /// How many free buffers the pool holds right now.
    pub fn pooled_buffers(&self) -> usize {
        self.ctx.pooled_buffers()
    }

    /// `op(a) · op(b)` with the chosen kernel; [`Backend::matmul`] is
    /// `matmul_with(MatmulKernel::Auto, …)`.
    pub fn matmul_with(
        &self,
        kernel: MatmulKernel,
        a: &WgpuTensor,
        transpose_a: bool,
        b: &WgpuTensor,
        transpose_b: bool,
    ) -> Result<WgpuTensor> {
        backend::matmul(self, kernel, a, transpose_a, b, transpose_b)
    }

    /// [`Backend::conv2d`] with the chosen kernel.
    pub fn conv2d_with(
        &self,
        kernel: ConvKernel,
        x: &WgpuTensor,
        w: &WgpuTensor,
        g: &ConvGeometry,
    ) -> Result<WgpuTensor> {
        conv::conv2d(self, kernel, x, w, g)
    }

    /// [`Backend::conv2d_backward_input`] with the chosen kernel.
    pub fn conv2d_backward_input_with(
        &self,
        kernel: ConvKernel,
        dy: &WgpuTensor,
        w: &WgpuTensor,
        g: &ConvGeometry,
    ) -> Result<WgpuTensor> {
        conv::conv2d_backward_input(self, kernel, dy, w, g)
    }

    /// [`Backend::conv2d_backward_weight`] with the chosen kernel.
    pub fn conv2d_backward_weight_with(
        &self,
        kernel: ConvKernel,
        x: &WgpuTensor,
        dy: &WgpuTensor,
        g: &ConvGeometry,
    ) -> Result<WgpuTensor> {
        conv::conv2d_backward_weight(self, kernel, x, dy, g)
    }
}

impl std::fmt::Debug for Wgpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Wgpu({})", self.name())
    }
}
