//! What the GAN examples share: opening the device `--device` names, running
//! the example on it, and how a failure ends the program. Each example
//! includes it with `mod common;` and describes, in a [`Job`], what it does
//! once it has a backend.

// Each example uses the part it needs (only `digits_gan` reads
// `Chosen::label` and `Chosen::max_tensor_bytes`).
#![allow(dead_code)]

use minimax::autodiff::Backend;
use minimax::cpu::Cpu;
use minimax::gan::{CounterHook, TrainError};
use minimax::io::cli::Device;
use std::path::Path;

/// The device an example runs on, as its [`Job`] receives it.
pub struct Chosen {
    /// The device for `summary.json`: `"cpu"`, or the GPU adapter's name and
    /// backend.
    pub label: String,
    /// Reads the GPU's work counters, for the per-step device work; `None`
    /// on the CPU.
    pub counters: Option<CounterHook>,
    /// The largest tensor the device can bind, in bytes; `None` on the CPU
    /// (no limit).
    pub max_tensor_bytes: Option<u64>,
}

/// What an example does once its backend is chosen. A trait rather than a
/// closure because it is generic over the backend: the CPU's and the GPU's
/// are different types.
pub trait Job {
    /// The example's flags, for a usage error.
    type Args: clap::CommandFactory;

    /// Runs the example on `backend`.
    fn run<B: Backend>(self, backend: B, device: Chosen) -> Result<(), TrainError>;
}

/// Runs `job` on the device `device` names, and ends the program with
/// status 1 and the error if it fails. Everything after this is generic
/// over `Backend`.
pub fn run_on<J: Job>(device: Device, job: J) {
    quiet_on_closed_pipe();
    let result = match device {
        Device::Cpu => {
            println!("device: CPU (f32, the tuned backend of minimax-cpu)");
            let cpu = Chosen { label: "cpu".into(), counters: None, max_tensor_bytes: None };
            job.run(Cpu::<f32>::new(), cpu)
        }
        #[cfg(feature = "gpu")]
        Device::Gpu => on_gpu(job),
        #[cfg(not(feature = "gpu"))]
        Device::Gpu => minimax::io::cli::usage_error::<J::Args>(
            "--device gpu: this build has no GPU backend; build without --no-default-features \
             (the `gpu` feature is on by default)",
        ),
    };
    if let Err(e) = result {
        eprintln!("\nerror: {e}");
        std::process::exit(1);
    }
}

/// Makes a write to a closed pipe end the program quietly, as it ends `cat`
/// (`digits_gan | head`): Rust starts programs with SIGPIPE ignored, so
/// the write fails and `println!` panics; this restores the default
/// action, which ends the process. (Files are written whole or not at all,
/// so ending mid-run loses nothing but the rest of the run.)
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: signal(2) with SIG_DFL installs no handler of ours; it is
    // called before any thread of the program is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Opens the GPU backend and runs `job` on it, with a hook that reads its
/// counters.
#[cfg(feature = "gpu")]
fn on_gpu(job: impl Job) -> Result<(), TrainError> {
    let gpu = minimax::wgsl::Wgpu::new()?;
    let label = gpu.adapter_summary();
    println!("device: {label}");
    let chosen = Chosen {
        label,
        counters: Some(Box::new(minimax::gpu_counters(&gpu))),
        max_tensor_bytes: Some(gpu.max_tensor_bytes()),
    };
    job.run(gpu, chosen)
}

/// The error for a file that could not be written.
pub fn io_error(path: &Path, e: std::io::Error) -> TrainError {
    TrainError::Io(format!("writing {}: {e}", path.display()))
}
