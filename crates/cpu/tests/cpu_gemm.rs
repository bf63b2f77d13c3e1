//! The fast CPU matmuls (`cpu::gemm`: the blocked path and the narrow path)
//! against the plain reference loop (`cpu::matmul`): awkward shapes, all four
//! transpose combinations, every micro-kernel this CPU supports (the portable
//! fallback, AVX2 + FMA and AVX-512 where the CPU has them; each is forced
//! by passing its `Kernel` to `gemm::matmul_f32`), thread counts, run-to-run
//! bit-identity, and the dispatch the backend uses.

use minimax_autodiff::reference::matmul as reference;
use minimax_autodiff::{rng, Backend, Shape};
use minimax_cpu::gemm::{self, Kernel};
use minimax_cpu::Cpu;

/// Sizes around the tile (6 × 16), block (KC = 256, MC = 144) edges.
const AWKWARD: [usize; 6] = [1, 7, 63, 64, 65, 257];
const TRANSPOSES: [(bool, bool); 4] = [(false, false), (true, false), (false, true), (true, true)];

/// `len` uniform values in `[-1, 1)` from `seed`.
fn uniform(len: usize, seed: u64) -> Vec<f32> {
    let key = rng::seed_key(seed);
    (0..len).map(|i| (2.0 * rng::uniform(key, i as u32) - 1.0) as f32).collect()
}

/// `len` small integers in `-3..=3` from `seed`: every sum of products of
/// these (below 2^24) is exact in `f32`, whatever the summation order.
fn small_ints(len: usize, seed: u64) -> Vec<f32> {
    let key = rng::seed_key(seed);
    (0..len).map(|i| (rng::bits(key, i as u32) % 7) as f32 - 3.0).collect()
}

/// One product `op(a) · op(b)` with its shapes and storage.
struct Case {
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    tb: bool,
    a: Vec<f32>, // [m, k], or [k, m] if ta
    b: Vec<f32>, // [k, n], or [n, k] if tb
}

impl Case {
    fn new(
        m: usize,
        k: usize,
        n: usize,
        ta: bool,
        tb: bool,
        values: fn(usize, u64) -> Vec<f32>,
    ) -> Case {
        let seed = (m * 1_000_000 + k * 1000 + n) as u64;
        Case { m, k, n, ta, tb, a: values(m * k, seed), b: values(k * n, seed + 1) }
    }

    fn name(&self) -> String {
        format!("m={} k={} n={} ta={} tb={}", self.m, self.k, self.n, self.ta, self.tb)
    }

    /// The plain loop's answer.
    fn reference(&self) -> Vec<f32> {
        let mut c = vec![0.0; self.m * self.n];
        reference::matmul(&self.a, self.ta, &self.b, self.tb, &mut c, self.m, self.k, self.n);
        c
    }

    /// `Σ_p |a_ip| |b_pj|` per element, which bounds the rounding error.
    fn abs_reference(&self) -> Vec<f32> {
        let abs = |x: &[f32]| x.iter().map(|v| v.abs()).collect::<Vec<_>>();
        let mut c = vec![0.0; self.m * self.n];
        reference::matmul(
            &abs(&self.a),
            self.ta,
            &abs(&self.b),
            self.tb,
            &mut c,
            self.m,
            self.k,
            self.n,
        );
        c
    }

    /// The blocked path's answer; `c` starts as garbage to catch unwritten elements.
    fn blocked(&self, kernel: Kernel, threads: usize) -> Vec<f32> {
        let mut c = vec![f32::NAN; self.m * self.n];
        gemm::matmul_f32(
            kernel, threads, &self.a, self.ta, &self.b, self.tb, &mut c, self.m, self.k, self.n,
        );
        c
    }
}

/// Asserts `got` matches `want` to within the rounding of two `k`-term sums
/// in different orders: `|got - want| <= 2 k ε Σ|a||b|` per element.
fn assert_close(case: &Case, what: &str, got: &[f32], want: &[f32]) {
    let bound = case.abs_reference();
    for (idx, ((&g, &w), &s)) in got.iter().zip(want).zip(&bound).enumerate() {
        let tol = 2.0 * case.k as f32 * f32::EPSILON * s + f32::MIN_POSITIVE;
        assert!(
            (g - w).abs() <= tol,
            "{what}, {}: element ({}, {}) is {g}, reference {w} (tolerance {tol})",
            case.name(),
            idx / case.n,
            idx % case.n,
        );
    }
}

#[test]
fn every_kernel_is_exact_on_integers_for_awkward_shapes_and_transposes() {
    // Integer inputs make both answers exact, so they must agree bit for bit:
    // any indexing, packing or edge bug shows up as a wrong element.
    let kernels = Kernel::available();
    eprintln!("kernels tested: {:?}", kernels.iter().map(|k| k.name()).collect::<Vec<_>>());
    for m in AWKWARD {
        for k in AWKWARD {
            for n in AWKWARD {
                for (ta, tb) in TRANSPOSES {
                    let case = Case::new(m, k, n, ta, tb, small_ints);
                    let want = case.reference();
                    for &kernel in &kernels {
                        let got = case.blocked(kernel, 1);
                        assert!(got == want, "{} kernel differs, {}", kernel.name(), case.name());
                    }
                }
            }
        }
    }
}

#[test]
fn every_kernel_matches_reference_on_real_values_within_rounding() {
    for (m, k, n) in [(65, 257, 63), (257, 65, 7), (7, 513, 64), (64, 64, 65), (1, 300, 1)] {
        for (ta, tb) in TRANSPOSES {
            let case = Case::new(m, k, n, ta, tb, uniform);
            let want = case.reference();
            for kernel in Kernel::available() {
                assert_close(&case, kernel.name(), &case.blocked(kernel, 1), &want);
            }
        }
    }
}

#[test]
fn this_cpu_offers_the_kernels_it_has() {
    // What the tests above cover on this machine, said out loud, and the
    // dispatch's order: the widest kernel the CPU has.
    let names: Vec<_> = Kernel::available().iter().map(|k| k.name()).collect();
    eprintln!("kernels available: {names:?}, best: {}", Kernel::best().name());
    assert_eq!(names[0], "portable");
    assert_eq!(Kernel::best().name(), *names.last().unwrap());
    #[cfg(target_arch = "x86_64")]
    {
        let has = |f: &str| names.contains(&f);
        assert_eq!(has("avx512"), std::arch::is_x86_feature_detected!("avx512f"));
        if std::arch::is_x86_feature_detected!("avx512f") {
            assert_eq!(Kernel::best().tile_shape(), (12, 32));
        }
    }
}

#[test]
fn the_avx512_kernel_gives_the_avx2_kernels_bits() {
    // Both sum each element with one FMA per step in the same order from
    // zero, in the same KC-blocks: the same bits on real values, edges (of
    // either tile) included. Skipped where the CPU lacks either, and says so.
    let (Some(avx2), Some(avx512)) = (Kernel::avx2_fma(), Kernel::avx512()) else {
        eprintln!("SKIPPED: this CPU lacks AVX2+FMA or AVX-512; nothing to compare");
        return;
    };
    for (m, k, n) in
        [(65, 257, 63), (12, 300, 32), (13, 513, 33), (64, 100, 784), (1, 7, 47), (300, 70, 45)]
    {
        for (ta, tb) in TRANSPOSES {
            let case = Case::new(m, k, n, ta, tb, uniform);
            let (a, b) = (case.blocked(avx2, 1), case.blocked(avx512, 3));
            assert!(a == b, "avx512 differs from avx2, {}", case.name());
        }
    }
}

#[test]
fn threads_do_not_change_a_single_bit() {
    // Large enough for the default to use threads, uneven in every dimension
    // (k spans two KC blocks, m three MC blocks and an edge panel).
    for (ta, tb) in TRANSPOSES {
        let case = Case::new(301, 290, 203, ta, tb, uniform);
        let want = case.reference();
        for kernel in Kernel::available() {
            let one = case.blocked(kernel, 1);
            assert_close(&case, kernel.name(), &one, &want);
            for threads in [2, 3, 7] {
                let many = case.blocked(kernel, threads);
                assert!(
                    one == many,
                    "{} with {threads} threads differs, {}",
                    kernel.name(),
                    case.name()
                );
            }
        }
    }
}

#[test]
fn same_inputs_give_bit_identical_outputs_run_to_run() {
    // Past 256³ multiply-adds, so the dispatch uses every core.
    let case = Case::new(260, 300, 270, false, true, uniform);
    let mut first = vec![0.0; case.m * case.n];
    gemm::matmul(&case.a, case.ta, &case.b, case.tb, &mut first, case.m, case.k, case.n);
    for _ in 0..3 {
        let mut again = vec![0.0; case.m * case.n];
        gemm::matmul(&case.a, case.ta, &case.b, case.tb, &mut again, case.m, case.k, case.n);
        assert!(first == again, "a rerun gave different bits");
    }
    assert_close(&case, "dispatch", &first, &case.reference());
}

#[test]
fn wide_products_cross_the_nc_block() {
    // n > NC = 4096 columns exercises the outermost loop.
    let case = Case::new(7, 20, 4100, false, false, small_ints);
    for kernel in Kernel::available() {
        assert!(case.blocked(kernel, 2) == case.reference(), "{} differs", kernel.name());
    }
}

#[test]
fn empty_inner_dimension_gives_zeros() {
    for kernel in Kernel::available() {
        let mut c = vec![f32::NAN; 6];
        gemm::matmul_f32(kernel, 2, &[], false, &[], false, &mut c, 2, 0, 3);
        assert_eq!(c, vec![0.0; 6], "{}", kernel.name());
        // No rows or no columns: nothing to write, and no panic.
        gemm::matmul_f32(kernel, 2, &[], false, &[1.0; 3], false, &mut [], 0, 1, 3);
        gemm::matmul_f32(kernel, 2, &[1.0; 3], false, &[], false, &mut [], 3, 1, 0);
    }
}

#[test]
fn the_narrow_path_is_the_plain_loop_bit_for_bit() {
    // Every output width it takes, awkward heights and depths, all four
    // layouts, in f32 and f64: each element is the same k-term sum in the
    // same order as the plain loop, so the bits must match exactly (random
    // values, not integers: a different order would show). `c` starts as
    // NaN, so an element left unwritten shows too.
    for n in 1..=gemm::narrow::MAX_N {
        for m in AWKWARD {
            for k in AWKWARD {
                for (ta, tb) in TRANSPOSES {
                    let case = Case::new(m, k, n, ta, tb, uniform);
                    let mut got = vec![f32::NAN; m * n];
                    gemm::narrow::matmul(&case.a, ta, &case.b, tb, &mut got, (m, k, n));
                    assert!(got == case.reference(), "narrow f32 differs, {}", case.name());

                    let wide = |x: &[f32]| x.iter().map(|&v| f64::from(v)).collect::<Vec<_>>();
                    let (a, b) = (wide(&case.a), wide(&case.b));
                    let (mut got, mut want) = (vec![f64::NAN; m * n], vec![0.0; m * n]);
                    gemm::narrow::matmul(&a, ta, &b, tb, &mut got, (m, k, n));
                    reference::matmul(&a, ta, &b, tb, &mut want, m, k, n);
                    assert!(got == want, "narrow f64 differs, {}", case.name());
                }
            }
        }
    }
}

#[test]
fn dispatch_sends_narrow_outputs_to_the_narrow_path_and_tiny_ones_to_the_plain_loop() {
    // The GAN's layers and their backward products, and one-column output
    // layers: narrow, so exactly the plain loop's bits.
    for (m, k, n, ta, tb) in [
        (500, 5, 5, false, false),
        (500, 5, 5, false, true),
        (5, 500, 5, true, false),
        (500, 1, 5, false, false),
        (128, 32, 1, false, false),
        (32, 128, 1, true, false),
        (8, 8, 8, false, true),
    ] {
        assert!(gemm::uses_narrow_path(m, k, n), "m={m} k={k} n={n}");
        let case = Case::new(m, k, n, ta, tb, uniform);
        let mut got = vec![f32::NAN; m * n];
        gemm::matmul(&case.a, ta, &case.b, tb, &mut got, m, k, n);
        assert!(got == case.reference(), "narrow product differs, {}", case.name());
    }
    // Wider than 8 but tiny: the plain loop.
    let (m, k, n) = (12, 12, 12);
    assert!(!gemm::uses_narrow_path(m, k, n) && !gemm::uses_fast_path(m, k, n));
    let case = Case::new(m, k, n, false, true, uniform);
    let mut got = vec![f32::NAN; m * n];
    gemm::matmul(&case.a, false, &case.b, true, &mut got, m, k, n);
    assert!(got == case.reference(), "tiny f32 product left the plain loop");
    // f64 wider than 8 is always the plain loop, whatever the size.
    let (m, k, n) = (70, 80, 90);
    assert!(gemm::uses_fast_path(m, k, n) && !gemm::uses_narrow_path(m, k, n));
    let a: Vec<f64> = uniform(m * k, 5).into_iter().map(f64::from).collect();
    let b: Vec<f64> = uniform(k * n, 6).into_iter().map(f64::from).collect();
    let (mut got, mut want) = (vec![0.0; m * n], vec![0.0; m * n]);
    gemm::matmul(&a, true, &b, false, &mut got, m, k, n);
    reference::matmul(&a, true, &b, false, &mut want, m, k, n);
    assert!(got == want, "f64 product left the plain loop");
}

#[test]
fn dispatch_drops_transposes_of_single_rows_and_columns_with_the_same_bits() {
    // k = 1 (an output layer's outer product), and m or n = 1: a transposed
    // view of a single row or column is the same memory, so the dispatch
    // may ignore the flag; the bits must be the plain loop's.
    for (m, k, n) in [(64, 1, 256), (1, 64, 256), (256, 64, 1), (7, 1, 9), (1, 1, 65)] {
        for (ta, tb) in TRANSPOSES {
            let case = Case::new(m, k, n, ta, tb, uniform);
            let mut got = vec![f32::NAN; m * n];
            gemm::matmul(&case.a, ta, &case.b, tb, &mut got, m, k, n);
            if gemm::uses_fast_path(m, k, n) && !gemm::uses_narrow_path(m, k, n) {
                assert_close(&case, "dispatch", &got, &case.reference());
            } else {
                assert!(got == case.reference(), "dispatch differs, {}", case.name());
            }
        }
    }
}

#[test]
fn dispatch_sends_wider_f32_layers_to_the_blocked_path() {
    // A 16-wide hidden layer and its backward products: blocked, and still correct.
    for (m, k, n, ta, tb) in
        [(128, 16, 16, false, false), (128, 16, 16, false, true), (16, 128, 16, true, false)]
    {
        assert!(gemm::uses_fast_path(m, k, n) && !gemm::uses_narrow_path(m, k, n));
        let case = Case::new(m, k, n, ta, tb, uniform);
        let mut got = vec![f32::NAN; m * n];
        gemm::matmul(&case.a, ta, &case.b, tb, &mut got, m, k, n);
        assert_close(&case, "dispatch", &got, &case.reference());
    }
}

#[test]
fn cpu_backend_matmul_uses_a_correct_path() {
    let be = Cpu::<f32>::new();
    for (ta, tb) in TRANSPOSES {
        let case = Case::new(130, 70, 150, ta, tb, uniform);
        assert!(gemm::uses_fast_path(case.m, case.k, case.n));
        let a_shape = if ta { Shape::new(case.k, case.m) } else { Shape::new(case.m, case.k) };
        let b_shape = if tb { Shape::new(case.n, case.k) } else { Shape::new(case.k, case.n) };
        let a = be.upload(a_shape, &case.a).unwrap();
        let b = be.upload(b_shape, &case.b).unwrap();
        let c = be.download(&be.matmul(&a, ta, &b, tb).unwrap()).unwrap();
        assert_close(&case, "Cpu::matmul", &c, &case.reference());
    }
}
