//! Gradcheck of every differentiable op on `Var`.
//!
//! Each op's tape gradient is compared with central finite differences by
//! [`gradcheck`] on `Reference<f64>`, with PyTorch's default tolerances
//! (ε = 1e-6, atol = 1e-5, rtol = 1e-3), on random inputs from several seeds
//! and shapes: `1×1`, a row `1×7`, a column `7×1`, a non-square `3×5`, and
//! `33×65`, which is big enough that gradcheck switches from the full
//! Jacobian to random projections.
//!
//! Inputs stay away from kinks (relu at 0, clamp at its bounds) and inside
//! domains (log and sqrt of positives): a finite difference across a kink
//! measures neither one-sided derivative.
//!
//! The last tests check the stable ops (`sigmoid`, `softplus`,
//! `log_sigmoid`, `bce_with_logits`) at logits of ±100 and ±1000, where a
//! naive formula overflows: values and gradients must be finite and equal to
//! their exact limits.

use approx::relative_eq;
use minimax_autodiff::gradcheck::{random_input, F64};
use minimax_autodiff::{
    concat_cols, concat_rows, gradcheck, Axis, Backend, GradcheckOptions, RefTensor, Reference,
    Result, Shape, Tape, TensorShape, Var,
};

/// `[rows, cols]` of the (first) input: a scalar, a row, a column, a small
/// non-square matrix, and one big enough for the random-projection path.
const SHAPES: [(usize, usize); 5] = [(1, 1), (1, 7), (7, 1), (3, 5), (33, 65)];
/// Seeds of the random inputs.
const SEEDS: [u64; 3] = [1, 2, 3];

/// A way to draw an input: `(rows, cols, seed) -> [rows, cols]` tensor.
type Draw = fn(usize, usize, u64) -> RefTensor<f64>;
/// An elementwise map on a variable.
type Map = fn(&Var<F64>) -> Var<F64>;

/// Uniform on [-2, 2): for ops defined everywhere.
fn any(rows: usize, cols: usize, seed: u64) -> RefTensor<f64> {
    random_input(rows, cols, -2.0, 2.0, seed)
}

/// Uniform on [0.5, 2): for log, sqrt, negative powers and divisors.
fn positive(rows: usize, cols: usize, seed: u64) -> RefTensor<f64> {
    random_input(rows, cols, 0.5, 2.0, seed)
}

/// Uniform on [-2, 2), with every element closer than 0.05 to a kink moved
/// to 0.1 past it, so that `x ± ε` never straddles a kink.
fn away_from(kinks: &'static [f64]) -> impl Fn(usize, usize, u64) -> RefTensor<f64> {
    move |rows, cols, seed| {
        let x = any(rows, cols, seed);
        let moved = x
            .data()
            .iter()
            .map(|&v| match kinks.iter().find(|&&k| (v - k).abs() < 0.05) {
                Some(&k) => k + 0.1 * (v - k).signum(),
                None => v,
            })
            .collect();
        RefTensor::new(x.shape(), moved).unwrap()
    }
}

/// Gradchecks `f` for every `[rows, cols]` in `shapes` and every seed, on the
/// inputs `make(rows, cols, seed)` builds. Panics naming op, shape and seed.
fn check_on(
    op: &str,
    shapes: &[(usize, usize)],
    make: impl Fn(usize, usize, u64) -> Vec<RefTensor<f64>>,
    f: impl Fn(&[Var<F64>]) -> Result<Var<F64>>,
) {
    for &(rows, cols) in shapes {
        for seed in SEEDS {
            if let Err(e) = gradcheck(&f, &make(rows, cols, seed)) {
                panic!("{op} on [{rows}, {cols}], seed {seed}: {e}");
            }
        }
    }
}

/// Gradchecks a one-input op `f` on inputs drawn by `gen`, for every shape.
fn check1(
    op: &str,
    gen: impl Fn(usize, usize, u64) -> RefTensor<f64>,
    f: impl Fn(&Var<F64>) -> Var<F64>,
) {
    check_on(op, &SHAPES, |r, c, s| vec![gen(r, c, s)], |v| Ok(f(&v[0])));
}

/// The four forms the right operand of a binary op may take, by the
/// broadcasting rule on `Binary`.
const FORMS: [&str; 4] = ["same shape", "row [1, cols]", "column [rows, 1]", "scalar [1, 1]"];

/// The shape of a right operand of `form` against a `[rows, cols]` left one.
fn rhs_shape(form: &str, rows: usize, cols: usize) -> (usize, usize) {
    match form {
        "same shape" => (rows, cols),
        "row [1, cols]" => (1, cols),
        "column [rows, 1]" => (rows, 1),
        _ => (1, 1),
    }
}

/// Gradchecks a binary op `f(a, b)` with `a` drawn from [-2, 2), `b` drawn
/// by `gen_b`, for every shape of `a` and every form of `b`.
fn check_binary(
    op: &str,
    gen_b: impl Fn(usize, usize, u64) -> RefTensor<f64>,
    f: impl Fn(&Var<F64>, &Var<F64>) -> Result<Var<F64>>,
) {
    for form in FORMS {
        let make = |r, c, s| {
            let (br, bc) = rhs_shape(form, r, c);
            vec![any(r, c, s), gen_b(br, bc, s + 100)]
        };
        check_on(&format!("{op} (right operand: {form})"), &SHAPES, make, |v| f(&v[0], &v[1]));
    }
}

/// Gradchecks `op(a) · op(b)` for `op(a)` of every shape in SHAPES times
/// `op(b)` of `[cols, 3]`, with `a` and `b` stored transposed when flagged.
fn check_matmul(ta: bool, tb: bool) {
    let make = |r: usize, c: usize, s: u64| {
        let a = if ta { any(c, r, s) } else { any(r, c, s) }; // op(a): [r, c]
        let b = if tb { any(3, c, s + 100) } else { any(c, 3, s + 100) }; // op(b): [c, 3]
        vec![a, b]
    };
    check_on(&format!("matmul_t({ta}, {tb})"), &SHAPES, make, |v| v[0].matmul_t(ta, &v[1], tb));
}

#[test]
fn the_largest_shape_takes_the_random_projection_path() {
    // An elementwise op on 33×65 has a 2145 × 2145 Jacobian, far above the
    // full-Jacobian limit, so the checks above cover both of gradcheck's paths.
    let (rows, cols) = SHAPES[4];
    let limit = GradcheckOptions::default().full_jacobian_limit;
    assert!((rows * cols) * (rows * cols) > limit);
}

// ---------------------------------------------------------------------------
// Matrix product and transpose.
// ---------------------------------------------------------------------------

#[test]
fn matmul() {
    let make = |r, c, s| vec![any(r, c, s), any(c, 4, s + 100)];
    check_on("matmul", &SHAPES, make, |v| v[0].matmul(&v[1]));
}

#[test]
fn matmul_t_neither_transposed() {
    check_matmul(false, false);
}

#[test]
fn matmul_t_left_transposed() {
    check_matmul(true, false);
}

#[test]
fn matmul_t_right_transposed() {
    check_matmul(false, true);
}

#[test]
fn matmul_t_both_transposed() {
    check_matmul(true, true);
}

#[test]
fn transpose() {
    check1("transpose", any, |x| x.transpose());
}

// ---------------------------------------------------------------------------
// Arithmetic, each with all four broadcast forms of the right operand.
// ---------------------------------------------------------------------------

#[test]
fn add() {
    check_binary("add", any, |a, b| a.add(b));
}

#[test]
fn sub() {
    check_binary("sub", any, |a, b| a.sub(b));
}

#[test]
fn mul() {
    check_binary("mul", any, |a, b| a.mul(b));
}

#[test]
fn div() {
    check_binary("div", positive, |a, b| a.div(b));
}

#[test]
fn neg() {
    check1("neg", any, |x| x.neg());
}

#[test]
fn add_scalar() {
    check1("add_scalar", any, |x| x.add_scalar(-0.7));
}

#[test]
fn mul_scalar() {
    check1("mul_scalar", any, |x| x.mul_scalar(-2.5));
}

// ---------------------------------------------------------------------------
// Elementwise maps.
// ---------------------------------------------------------------------------

#[test]
fn exp() {
    check1("exp", any, |x| x.exp());
}

#[test]
fn log() {
    check1("log", positive, |x| x.log());
}

#[test]
fn sqrt() {
    check1("sqrt", positive, |x| x.sqrt());
}

#[test]
fn powi() {
    // Positive powers on any real; negative ones away from 0.
    for n in [0, 1, 2, 3, 5] {
        check1(&format!("powi({n})"), any, |x| x.powi(n));
    }
    for n in [-1, -2, -3] {
        check1(&format!("powi({n})"), positive, |x| x.powi(n));
    }
}

#[test]
fn square() {
    check1("square", any, |x| x.square());
}

#[test]
fn tanh() {
    check1("tanh", any, |x| x.tanh());
}

#[test]
fn sigmoid() {
    check1("sigmoid", any, |x| x.sigmoid());
}

#[test]
fn relu() {
    check1("relu", away_from(&[0.0]), |x| x.relu());
}

#[test]
fn leaky_relu() {
    check1("leaky_relu", away_from(&[0.0]), |x| x.leaky_relu(0.2));
}

#[test]
fn elu() {
    check1("elu", away_from(&[0.0]), |x| x.elu(0.7));
}

#[test]
fn softplus() {
    check1("softplus", any, |x| x.softplus());
}

#[test]
fn clamp() {
    check1("clamp", away_from(&[-0.5, 0.7]), |x| x.clamp(-0.5, 0.7));
}

// ---------------------------------------------------------------------------
// Reductions.
// ---------------------------------------------------------------------------

#[test]
fn sum() {
    check1("sum", any, |x| x.sum());
}

#[test]
fn sum_axis_rows() {
    check1("sum_axis(Rows)", any, |x| x.sum_axis(Axis::Rows));
}

#[test]
fn sum_axis_cols() {
    check1("sum_axis(Cols)", any, |x| x.sum_axis(Axis::Cols));
}

#[test]
fn mean() {
    check1("mean", any, |x| x.mean());
}

#[test]
fn mean_axis_rows() {
    check1("mean_axis(Rows)", any, |x| x.mean_axis(Axis::Rows));
}

#[test]
fn mean_axis_cols() {
    check1("mean_axis(Cols)", any, |x| x.mean_axis(Axis::Cols));
}

// ---------------------------------------------------------------------------
// Joining and slicing.
// ---------------------------------------------------------------------------

#[test]
fn concat_cols_two_parts() {
    let make = |r, c, s| vec![any(r, c, s), any(r, 3, s + 100)];
    check_on("concat_cols (2 parts)", &SHAPES, make, |v| concat_cols(&[&v[0], &v[1]]));
}

#[test]
fn concat_cols_three_parts() {
    let make = |r, c, s| vec![any(r, 2, s), any(r, c, s + 100), any(r, 1, s + 200)];
    check_on("concat_cols (3 parts)", &SHAPES, make, |v| concat_cols(&[&v[0], &v[1], &v[2]]));
}

#[test]
fn slice_cols() {
    // The first column, a middle block, and the last column.
    for (rows, cols) in SHAPES {
        let (mid_start, mid_len) = (cols / 3, (cols / 2).max(1));
        for (start, len) in [(0, 1), (mid_start, mid_len), (cols - 1, 1)] {
            let name = format!("slice_cols({start}, {len})");
            check_on(
                &name,
                &[(rows, cols)],
                |r, c, s| vec![any(r, c, s)],
                |v| v[0].slice_cols(start, len),
            );
        }
    }
}

#[test]
fn concat_rows_two_and_three_parts() {
    let make = |r, c, s| vec![any(r, c, s), any(3, c, s + 100), any(1, c, s + 200)];
    check_on("concat_rows (2 parts)", &SHAPES, make, |v| concat_rows(&[&v[0], &v[1]]));
    check_on("concat_rows (3 parts)", &SHAPES, make, |v| concat_rows(&[&v[1], &v[0], &v[2]]));
}

#[test]
fn slice_rows() {
    // The first row, a middle block, and the last row.
    for (rows, cols) in SHAPES {
        let (mid_start, mid_len) = (rows / 3, (rows / 2).max(1));
        for (start, len) in [(0, 1), (mid_start, mid_len), (rows - 1, 1)] {
            let name = format!("slice_rows({start}, {len})");
            check_on(
                &name,
                &[(rows, cols)],
                |r, c, s| vec![any(r, c, s)],
                |v| v[0].slice_rows(start, len),
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Losses and statistics.
// ---------------------------------------------------------------------------

#[test]
fn log_sigmoid() {
    check1("log_sigmoid", any, |x| x.log_sigmoid());
}

#[test]
fn bce_with_logits() {
    // Logits and targets are both inputs (d loss/dt = -x / n).
    let logits = |r, c, s| random_input(r, c, -4.0, 4.0, s);
    let targets: [(&str, Draw); 3] = [
        ("t = 0", |r, c, _| Reference::<f64>::new().fill(Shape::new(r, c), 0.0)),
        ("t = 1", |r, c, _| Reference::<f64>::new().fill(Shape::new(r, c), 1.0)),
        ("soft t", |r, c, s| random_input(r, c, 0.0, 1.0, s + 100)),
    ];
    for (name, target) in targets {
        let make = |r, c, s| vec![logits(r, c, s), target(r, c, s)];
        check_on(&format!("bce_with_logits ({name})"), &SHAPES, make, |v| {
            v[0].bce_with_logits(&v[1])
        });
    }
}

#[test]
fn mse() {
    let make = |r, c, s| vec![any(r, c, s), any(r, c, s + 100)];
    check_on("mse", &SHAPES, make, |v| v[0].mse(&v[1]));
}

#[test]
fn moments() {
    // The standard deviation of a single sample is 0 and z = d/σ is 0/0, so
    // the moments need at least two rows; with exactly two, z = ±1 always.
    // Check three or more, one column and several.
    let shapes = [(3, 1), (7, 1), (3, 5), (33, 65)];
    check_on("moments", &shapes, |r, c, s| vec![any(r, c, s)], |v| v[0].moments());
}

// ---------------------------------------------------------------------------
// Stability at large logits.
// ---------------------------------------------------------------------------

/// Logits where `e^x` or `e^-x` overflows or rounds 1 + e^-|x| to 1.
const BIG: [f64; 4] = [100.0, -100.0, 1000.0, -1000.0];

/// The value of `f` at each of `xs` (one `[1, n]` row) and the gradient of
/// `Σ f(x)`, which for an elementwise map is `f'(x)` elementwise.
fn value_and_grad(xs: &[f64], f: impl Fn(&Var<F64>) -> Var<F64>) -> (Vec<f64>, Vec<f64>) {
    let be = Reference::<f64>::new();
    let tape = Tape::new(be);
    let x = tape.leaf(be.upload(Shape::new(1, xs.len()), xs).unwrap());
    let y = f(&x);
    let grads = tape.backward(&y.sum()).unwrap();
    (y.to_vec().unwrap(), be.download(grads.get(&x).unwrap()).unwrap())
}

/// Asserts `got` is finite and equals `want` to 1e-12 relative, or 1e-15
/// absolute (the limits below are exact only up to terms like e^-100 ≈ 4e-44).
fn assert_limit(what: &str, x: f64, got: f64, want: f64) {
    assert!(got.is_finite(), "{what} at x = {x} is {got}");
    let ok = relative_eq!(got, want, epsilon = 1e-15, max_relative = 1e-12);
    assert!(ok, "{what} at x = {x} is {got}, the exact limit is {want}");
}

#[test]
fn sigmoid_is_stable_at_large_logits() {
    // σ(x) = 1/(1 + e^-x) → 1 for x ≫ 0, and = e^x/(1 + e^x) → e^x for x ≪ 0.
    // σ'(x) = σ(x) σ(-x) → e^-|x| on both sides.
    let (y, dy) = value_and_grad(&BIG, |x| x.sigmoid());
    for (i, x) in BIG.into_iter().enumerate() {
        let want = if x > 0.0 { 1.0 } else { x.exp() };
        assert_limit("sigmoid", x, y[i], want);
        assert_limit("sigmoid'", x, dy[i], (-x.abs()).exp());
    }
}

#[test]
fn softplus_is_stable_at_large_logits() {
    // softplus(x) = ln(1 + e^x) = x + ln(1 + e^-x) → x for x ≫ 0, and → e^x for x ≪ 0.
    // softplus'(x) = σ(x) → 1 for x ≫ 0, → e^x for x ≪ 0.
    let (y, dy) = value_and_grad(&BIG, |x| x.softplus());
    for (i, x) in BIG.into_iter().enumerate() {
        assert_limit("softplus", x, y[i], if x > 0.0 { x } else { x.exp() });
        assert_limit("softplus'", x, dy[i], if x > 0.0 { 1.0 } else { x.exp() });
    }
}

#[test]
fn log_sigmoid_is_stable_at_large_logits() {
    // ln σ(x) = -softplus(-x) → -e^-x for x ≫ 0, and → x for x ≪ 0 (not ln 0 = -∞).
    // (ln σ)'(x) = 1 - σ(x) = σ(-x) → e^-x for x ≫ 0, → 1 for x ≪ 0.
    let (y, dy) = value_and_grad(&BIG, |x| x.log_sigmoid());
    for (i, x) in BIG.into_iter().enumerate() {
        assert_limit("log_sigmoid", x, y[i], if x > 0.0 { -(-x).exp() } else { x });
        assert_limit("log_sigmoid'", x, dy[i], if x > 0.0 { (-x).exp() } else { 1.0 });
    }
}

#[test]
fn bce_with_logits_is_stable_at_large_logits() {
    // Per element ℓ = softplus(x) - t x and dℓ/dx = σ(x) - t; the loss is the
    // mean over n = 8, so d loss/dx = (σ(x) - t)/n.
    //   x = +L, t = 0: ℓ = L,  grad = (1 - 0)/n = +1/8   (confidently wrong)
    //   x = -L, t = 1: ℓ = L,  grad = (0 - 1)/n = -1/8   (confidently wrong)
    //   x = +L, t = 1 or x = -L, t = 0: ℓ = 0, grad = 0  (confidently right)
    // so the loss is (1000 + 1000 + 100 + 100)/8 = 275.
    let xs = [1000.0, -1000.0, 1000.0, -1000.0, 100.0, -100.0, 100.0, -100.0];
    let ts = [0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0];
    let want_grad = [0.125, -0.125, 0.0, 0.0, 0.125, -0.125, 0.0, 0.0];
    let be = Reference::<f64>::new();
    let tape = Tape::new(be);
    let x = tape.leaf(be.upload(Shape::new(1, 8), &xs).unwrap());
    let t = tape.constant(be.upload(Shape::new(1, 8), &ts).unwrap());
    let loss = x.bce_with_logits(&t).unwrap();
    assert_limit("bce_with_logits", 0.0, loss.item().unwrap(), 275.0);
    let grad = be.download(tape.backward(&loss).unwrap().get(&x).unwrap()).unwrap();
    for i in 0..8 {
        assert_limit("d bce_with_logits / dx", xs[i], grad[i], want_grad[i]);
    }
}

#[test]
fn stable_ops_pass_gradcheck_at_large_logits() {
    let be = Reference::<f64>::new();
    let x = be.upload(Shape::new(1, 4), &BIG).unwrap();
    let t = be.upload(Shape::new(1, 4), &[0.0, 1.0, 0.3, 0.0]).unwrap();
    let cases: [(&str, Map); 3] = [
        ("sigmoid", |x| x.sigmoid()),
        ("softplus", |x| x.softplus()),
        ("log_sigmoid", |x| x.log_sigmoid()),
    ];
    for (op, f) in cases {
        gradcheck(|v| Ok(f(&v[0])), std::slice::from_ref(&x))
            .unwrap_or_else(|e| panic!("{op}: {e}"));
    }
    gradcheck(|v| v[0].bce_with_logits(&v[1]), &[x, t]).unwrap_or_else(|e| panic!("bce: {e}"));
}
