//! Checks of the GPU itself, for `benches/gpu_device.sh`: which adapter
//! the backend opened, and whether millions of Gaussian draws made on it
//! are all finite (on hardware, `log` near 1 may round to a positive
//! number, and `√(-2 ln u)` of it is NaN).
//!
//! Run with `cargo bench -p minimax-wgsl --bench gpu_device [-- OPTIONS]`:
//!
//! - `--require-hardware`: fail (exit 1) if the adapter is a software
//!   rasterizer such as lavapipe, rather than measure it as if it were a GPU;
//! - `--draws-millions N`: how many Gaussian draws to check (default 16).
//!
//! Prints `RESULT` lines; exits 1 if a check fails.

use minimax_autodiff::{Backend, Dist, Shape};
use minimax_wgsl::Wgpu;

/// Draws per tensor: [1024, 4096], 16 MiB.
const CHUNK: Shape = Shape { rows: 1024, cols: 4096 };

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let require_hardware = args.iter().any(|a| a == "--require-hardware");
    let millions: usize = args
        .iter()
        .position(|a| a == "--draws-millions")
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().expect("--draws-millions takes a whole number"))
        .unwrap_or(16);
    let gpu = match Wgpu::new() {
        Ok(gpu) => gpu,
        Err(e) => {
            println!("RESULT check=adapter ok=0 error={e:?}");
            std::process::exit(1);
        }
    };
    let adapter_ok = !(require_hardware && gpu.is_software());
    println!(
        "RESULT check=adapter name={:?} type={:?} software={} ok={}",
        gpu.adapter_summary(),
        gpu.adapter_type(),
        gpu.is_software() as u8,
        adapter_ok as u8
    );
    if !adapter_ok {
        eprintln!(
            "the adapter is a software rasterizer ({}), and --require-hardware was given: no \
             hardware GPU is visible to wgpu (check the driver, or WGPU_BACKEND)",
            gpu.adapter_summary()
        );
        std::process::exit(1);
    }

    // Gaussian draws: all finite, and a standard normal's moments.
    let chunks = (millions * 1_000_000).div_ceil(CHUNK.numel()).max(1);
    let (mut n, mut nonfinite, mut sum, mut sum_sq) = (0usize, 0usize, 0.0f64, 0.0f64);
    for seed in 0..chunks as u64 {
        let x = gpu.random(CHUNK, Dist::Normal { mean: 0.0, std: 1.0 }, 1000 + seed);
        for v in gpu.download(&x).expect("downloading the draws") {
            n += 1;
            if v.is_finite() {
                sum += v as f64;
                sum_sq += (v as f64) * (v as f64);
            } else {
                nonfinite += 1;
            }
        }
    }
    let mean = sum / n as f64;
    let std = (sum_sq / n as f64 - mean * mean).sqrt();
    // Standard errors at 16M draws: 2.5e-4 for the mean, 1.8e-4 for the std.
    let draws_ok = nonfinite == 0 && mean.abs() < 5e-3 && (std - 1.0).abs() < 5e-3;
    println!(
        "RESULT check=gaussian_draws draws={n} nonfinite={nonfinite} mean={mean:.5} std={std:.5} \
         ok={}",
        draws_ok as u8
    );
    if !draws_ok {
        std::process::exit(1);
    }
}
