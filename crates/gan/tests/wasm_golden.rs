//! The CPU backends in WebAssembly give the native bits: a short run of the
//! 2-D GAN on the ring (the `2d` preset, seed 0, [`STEPS`] steps), on the
//! plain `Reference<f32>` and on the tuned `Cpu<f32>`, is digested (FNV-1a
//! over every parameter of G and D, in order, and the last step's two
//! losses, all as f32 bits) and compared with `golden/ring_digests.txt`.
//!
//! The same test runs natively (`cargo test`) and in headless Chromium
//! compiled to `wasm32-unknown-unknown` (`scripts/browser-tests.sh`), so
//! both are tied to one file: equal digests there mean the browser trains
//! bit for bit as the native build does. Why that holds, and where it does
//! not, is in the golden file's header.

use minimax_autodiff::{Backend, Reference};
use minimax_cpu::gemm::{with_kernel, Kernel};
use minimax_cpu::Cpu;
use minimax_gan::clock::Instant;
use minimax_gan::{Config, Preset, Trainer};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// Steps of the run: enough for every op of a step to have touched the
/// parameters many times (D and G each take an Adam step per step).
const STEPS: u64 = 40;

/// The golden digests: `name digest` lines; `#` starts a comment.
const GOLDEN: &str = include_str!("golden/ring_digests.txt");

/// FNV-1a, 64 bits, over 32-bit words (little-endian bytes).
struct Fnv(u64);

impl Fnv {
    fn word(&mut self, w: u32) {
        for byte in w.to_le_bytes() {
            self.0 = (self.0 ^ byte as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// The digest of a [`STEPS`]-step ring run on `backend`, as 16 hex digits.
fn ring_digest<B: Backend<Elem = f32>>(backend: B) -> String {
    let mut config = Config::preset(Preset::TwoD);
    config.steps = STEPS;
    config.seed = 0;
    let mut trainer = Trainer::new(backend.clone(), config).unwrap();
    for _ in 0..STEPS {
        trainer.train_step().unwrap();
    }
    let mut fnv = Fnv(0xcbf2_9ce4_8422_2325);
    for store in [trainer.g_params(), trainer.d_params()] {
        for p in store.iter() {
            for v in backend.download(&p.tensor).unwrap() {
                fnv.word(v.to_bits());
            }
        }
    }
    let p = trainer.progress(Instant::now(), 0, STEPS).unwrap().expect("a step was taken");
    for loss in [p.d_loss, p.g_loss] {
        fnv.word((loss as f32).to_bits()); // an f32 widened: exact
    }
    format!("{:016x}", fnv.0)
}

/// The golden digest called `name`.
fn golden(name: &str) -> &'static str {
    GOLDEN
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter_map(|l| l.split_once(' '))
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("golden/ring_digests.txt has no line for {name}"))
        .1
        .trim()
}

/// Where this runs, for the messages.
const PLATFORM: &str = if cfg!(target_arch = "wasm32") { "wasm32" } else { "native" };

#[test]
fn the_reference_backend_trains_the_golden_bits() {
    let got = ring_digest(Reference::<f32>::new());
    assert_eq!(got, golden("reference"), "Reference<f32> on {PLATFORM}");
}

#[test]
fn the_cpu_backend_with_the_portable_matmul_trains_the_golden_bits() {
    // In the browser the portable kernel is the only one (and `with_kernel`
    // changes nothing); natively this is the like-for-like run.
    let got = with_kernel(Kernel::portable(), || ring_digest(Cpu::<f32>::new()));
    assert_eq!(got, golden("cpu-portable"), "Cpu<f32>, portable matmul, on {PLATFORM}");
}

/// Natively, on a CPU with AVX2 + FMA or AVX-512, the default `Cpu<f32>`
/// runs a SIMD matmul kernel whose fused multiply-adds round once where the
/// portable kernel rounds twice: other bits, of their own golden digest
/// (both SIMD kernels give the same). WebAssembly has no such kernel.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn the_cpu_backend_with_a_simd_matmul_trains_its_own_golden_bits() {
    if Kernel::best().name() == "portable" {
        println!("skipped: this CPU has no SIMD matmul kernel (AVX2 + FMA or AVX-512)");
        return;
    }
    let got = with_kernel(Kernel::best(), || ring_digest(Cpu::<f32>::new()));
    assert_eq!(got, golden("cpu-fma"), "Cpu<f32>, {} matmul", Kernel::best().name());
}
