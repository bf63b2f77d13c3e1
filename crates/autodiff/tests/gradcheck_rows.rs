//! Gradcheck of the row-wise ops an image classifier and GAN need:
//! `gather_rows`, `pick_cols`, `logsumexp_rows`, `max_rows` (primitives), and what is
//! composed from them or from older primitives: `log_softmax_rows`,
//! `softmax_rows`, `cross_entropy`, `cross_entropy_probs`, `batch_norm`,
//! `batch_norm_eval`.
//!
//! As in `gradcheck_ops.rs`: central differences on `Reference<f64>` with
//! PyTorch's tolerances (ε = 1e-6, atol = 1e-5, rtol = 1e-3), several seeds,
//! shapes from `1×1` to ones large enough for gradcheck's random-projection
//! path. The last tests check the softmax family at logits of ±1000.

use minimax_autodiff::gradcheck::{random_input, F64};
use minimax_autodiff::{
    gradcheck, Backend, BatchNormOutput, GradcheckOptions, HostIndices, RefTensor, Reference,
    Result, Shape, Tape, Var,
};

/// Seeds of the random inputs.
const SEEDS: [u64; 3] = [1, 2, 3];

/// Logits `[rows, cols]`, uniform on [-3, 3).
fn logits(rows: usize, cols: usize, seed: u64) -> RefTensor<f64> {
    random_input(rows, cols, -3.0, 3.0, seed)
}

/// `n` indices in `0..bound` from a small deterministic generator, with
/// repeats once `n` is near `bound` (so the scatter-add adds).
fn indices(n: usize, bound: usize, seed: u64) -> Vec<u32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % bound as u64) as u32
        })
        .collect()
}

/// Gradchecks `f` at `inputs`, panicking with `what` on a mismatch.
fn check(what: &str, inputs: &[RefTensor<f64>], f: impl Fn(&[Var<F64>]) -> Result<Var<F64>>) {
    if let Err(e) = gradcheck(f, inputs) {
        panic!("{what}: {e}");
    }
}

#[test]
fn the_largest_shapes_take_the_random_projection_path() {
    // gather_rows from [40, 33] to [50, 33]: 1320 inputs × 1650 outputs.
    let limit = GradcheckOptions::default().full_jacobian_limit;
    assert!(40 * 33 * 50 * 33 > limit);
    // batch_norm of [64, 5]: 320 × 320.
    assert!(320 * 320 > limit);
}

// ---------------------------------------------------------------------------
// Primitives.
// ---------------------------------------------------------------------------

#[test]
fn gather_rows() {
    // (rows of x, cols, number of indices): a single row gathered three
    // times, fewer indices than rows, more (so rows repeat), and large.
    for (rows, cols, n) in [(1, 1, 3), (7, 1, 4), (7, 3, 12), (3, 5, 3), (40, 33, 50)] {
        for seed in SEEDS {
            let idx = HostIndices::new(&indices(n, rows, seed));
            let what = format!("gather_rows [{rows}, {cols}] by {:?}", idx.data());
            check(&what, &[random_input(rows, cols, -2.0, 2.0, seed)], |v| v[0].gather_rows(&idx));
        }
    }
}

#[test]
fn gather_rows_of_every_row_and_none() {
    // A permutation (every row once) and an empty batch (no rows at all:
    // the gradient is all zeros).
    let x = random_input(5, 4, -2.0, 2.0, 9);
    let perm = HostIndices::new(&[4, 2, 0, 1, 3]);
    check("gather_rows by a permutation", std::slice::from_ref(&x), |v| v[0].gather_rows(&perm));
    let none = HostIndices::new(&[]);
    let be = Reference::<f64>::new();
    let tape = Tape::new(be);
    let xv = tape.leaf(x);
    let y = xv.gather_rows(&none).unwrap();
    assert_eq!(y.shape(), Shape::new(0, 4));
    let grads = tape.backward(&y.sum()).unwrap();
    assert_eq!(be.download(grads.get(&xv).unwrap()).unwrap(), vec![0.0; 20]);
}

#[test]
fn pick_cols() {
    for (rows, cols) in [(1, 1), (1, 7), (7, 1), (3, 5), (65, 10)] {
        for seed in SEEDS {
            let labels = HostIndices::new(&indices(rows, cols, seed));
            let what = format!("pick_cols [{rows}, {cols}] by {:?}", labels.data());
            check(&what, &[logits(rows, cols, seed)], |v| v[0].pick_cols(&labels));
        }
    }
}

#[test]
fn logsumexp_rows() {
    for (rows, cols) in [(1, 1), (1, 7), (7, 1), (3, 5), (33, 65)] {
        for seed in SEEDS {
            let what = format!("logsumexp_rows [{rows}, {cols}], seed {seed}");
            check(&what, &[logits(rows, cols, seed)], |v| Ok(v[0].logsumexp_rows()));
        }
    }
}

#[test]
fn max_rows() {
    // The max is differentiable where each row's maximum is unique; central
    // differences of ε = 1e-6 see the true derivative if the two largest
    // values of every row are further apart than 2ε, checked first (a tie
    // is the hand-computed test's business).
    for (rows, cols) in [(1, 1), (1, 7), (7, 1), (3, 5), (33, 65)] {
        for seed in SEEDS {
            let x = logits(rows, cols, seed);
            for row in x.data().chunks_exact(cols) {
                let mut sorted = row.to_vec();
                sorted.sort_by(|a, b| b.total_cmp(a));
                assert!(cols == 1 || sorted[0] - sorted[1] > 1e-3, "a near tie in {row:?}");
            }
            let what = format!("max_rows [{rows}, {cols}], seed {seed}");
            check(&what, &[x], |v| Ok(v[0].max_rows()));
        }
    }
}

// ---------------------------------------------------------------------------
// Composites.
// ---------------------------------------------------------------------------

#[test]
fn log_softmax_and_softmax_rows() {
    for (rows, cols) in [(1, 1), (1, 7), (7, 1), (3, 5), (33, 65)] {
        for seed in SEEDS {
            let x = [logits(rows, cols, seed)];
            check(&format!("log_softmax_rows [{rows}, {cols}]"), &x, |v| v[0].log_softmax_rows());
            check(&format!("softmax_rows [{rows}, {cols}]"), &x, |v| v[0].softmax_rows());
        }
    }
}

#[test]
fn cross_entropy() {
    // One example, one class (the loss is 0 whatever the logit); MNIST's 10
    // classes at a few batch sizes.
    for (n, k) in [(1, 1), (1, 10), (7, 2), (3, 5), (64, 10)] {
        for seed in SEEDS {
            let labels = HostIndices::new(&indices(n, k, seed));
            let what = format!("cross_entropy [{n}, {k}] with labels {:?}", labels.data());
            check(&what, &[logits(n, k, seed)], |v| v[0].cross_entropy(&labels));
        }
    }
}

#[test]
fn cross_entropy_probs() {
    // Logits and soft targets are both inputs (∂L/∂t = -log_softmax(z) / n).
    for (n, k) in [(1, 1), (1, 10), (7, 2), (3, 5), (33, 10)] {
        for seed in SEEDS {
            let inputs = [logits(n, k, seed), random_input(n, k, 0.0, 1.0, seed + 100)];
            check(&format!("cross_entropy_probs [{n}, {k}]"), &inputs, |v| {
                v[0].cross_entropy_probs(&v[1])
            });
        }
    }
}

/// The batch sizes and feature counts batch norm is checked at: the
/// smallest batch it accepts (2), an odd one, and a real one (64).
const BATCH_NORM_SHAPES: [(usize, usize); 6] = [(2, 1), (2, 3), (7, 1), (7, 4), (64, 1), (64, 5)];

/// One of the outputs of [`Var::batch_norm`].
type Pick = fn(&BatchNormOutput<F64>) -> Var<F64>;

#[test]
fn batch_norm_every_output() {
    let outputs: [(&str, Pick); 4] = [
        ("normalised", |o| o.normalised.clone()),
        ("mean", |o| o.mean.clone()),
        ("var", |o| o.var.clone()),
        ("unbiased_var", |o| o.unbiased_var()),
    ];
    for (rows, cols) in BATCH_NORM_SHAPES {
        for seed in SEEDS {
            let x = [random_input(rows, cols, -2.0, 2.0, seed)];
            for eps in [1e-5, 0.1] {
                for (name, pick) in outputs {
                    let what = format!("batch_norm({eps}).{name} on [{rows}, {cols}], seed {seed}");
                    check(&what, &x, |v| Ok(pick(&v[0].batch_norm(eps)?)));
                }
            }
        }
    }
}

#[test]
fn batch_norm_of_an_affine_layer() {
    // As a layer uses it: batch_norm(x·w) · γ + β, every one an input.
    for (rows, cols) in BATCH_NORM_SHAPES {
        let inputs = [
            random_input(rows, 3, -2.0, 2.0, 1),
            random_input(3, cols, -1.0, 1.0, 2),
            random_input(1, cols, 0.5, 2.0, 3),
            random_input(1, cols, -1.0, 1.0, 4),
        ];
        check(&format!("affine batch_norm on [{rows}, {cols}]"), &inputs, |v| {
            let h = v[0].matmul(&v[1])?.batch_norm(1e-5)?.normalised;
            h.mul(&v[2])?.add(&v[3])
        });
    }
}

#[test]
fn batch_norm_eval() {
    // x, the running mean and the running variance (≥ 0) are all inputs.
    for (rows, cols) in [(1, 1), (1, 5), (7, 3), (64, 5)] {
        for seed in SEEDS {
            let inputs = [
                random_input(rows, cols, -2.0, 2.0, seed),
                random_input(1, cols, -1.0, 1.0, seed + 100),
                random_input(1, cols, 0.0, 2.0, seed + 200),
            ];
            check(&format!("batch_norm_eval on [{rows}, {cols}]"), &inputs, |v| {
                v[0].batch_norm_eval(&v[1], &v[2], 1e-5)
            });
        }
    }
}

// ---------------------------------------------------------------------------
// Stability at large logits.
// ---------------------------------------------------------------------------

/// Rows of logits where a naive `ln Σ e^x` overflows (e^1000 = ∞) or
/// underflows to ln 0 = -∞ (e^-1000 = 0).
const BIG: [f64; 12] = [
    1000.0, -1000.0, 0.0, //
    1000.0, 1000.0, -1000.0, //
    -1000.0, -1000.0, -1000.0, //
    -1000.0, -999.0, 999.5,
];

#[test]
fn softmax_family_passes_gradcheck_at_large_logits() {
    let be = Reference::<f64>::new();
    let x = be.upload(Shape::new(4, 3), &BIG).unwrap();
    let labels = HostIndices::new(&[0, 2, 1, 0]);
    let x = std::slice::from_ref(&x);
    check("logsumexp_rows at ±1000", x, |v| Ok(v[0].logsumexp_rows()));
    check("log_softmax_rows at ±1000", x, |v| v[0].log_softmax_rows());
    check("softmax_rows at ±1000", x, |v| v[0].softmax_rows());
    check("cross_entropy at ±1000", x, |v| v[0].cross_entropy(&labels));
}

#[test]
fn cross_entropy_at_large_logits_is_finite_and_exact() {
    // Row i's loss is lse(z_i) - z_{i, y_i}, with
    //   lse([1000, -1000, 0])       = 1000 + ln(1 + e^-2000 + e^-1000) = 1000 (in f64)
    //   lse([1000, 1000, -1000])    = 1000 + ln 2
    //   lse([-1000, -1000, -1000])  = -1000 + ln 3
    //   lse([-1000, -999, 999.5])   = 999.5 (the other terms are below e^-1998)
    // and labels [0, 2, 1, 0] pick 1000, -1000, -1000, -1000, so the losses
    // are 0, 2000 + ln 2, ln 3 and 1999.5: a mean of (3999.5 + ln 6) / 4.
    // The gradient is (softmax - onehot) / 4, softmax rows [1, 0, 0],
    // [½, ½, 0], [⅓, ⅓, ⅓] and [0, 0, 1].
    let be = Reference::<f64>::new();
    let tape = Tape::new(be);
    let z = tape.leaf(be.upload(Shape::new(4, 3), &BIG).unwrap());
    let labels = HostIndices::new(&[0, 2, 1, 0]);
    let loss = z.cross_entropy(&labels).unwrap();
    let want = (3999.5 + 6f64.ln()) / 4.0;
    let got = loss.item().unwrap();
    assert!((got - want).abs() <= 1e-12 * want, "loss {got}, want {want}");
    let grad = be.download(tape.backward(&loss).unwrap().get(&z).unwrap()).unwrap();
    let third = 1.0 / 3.0;
    let want = [[0.0, 0.0, 0.0], [0.5, 0.5, -1.0], [third, third - 1.0, third], [-1.0, 0.0, 1.0]];
    for (i, row) in want.iter().enumerate() {
        for (j, &w) in row.iter().enumerate() {
            let g = grad[3 * i + j];
            assert!(g.is_finite(), "d loss / d z[{i}, {j}] = {g}");
            assert!((g - w / 4.0).abs() <= 1e-12, "d loss / d z[{i}, {j}] = {g}, want {}", w / 4.0);
        }
    }
}
