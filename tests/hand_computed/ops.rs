//! Gradients worked out by hand, one or more per op.
//!
//! Each case writes the function and its derivative in a comment, works the
//! numbers at a chosen point, and asserts the tape gives exactly those
//! numbers, on every backend (`main.rs`). Points are picked so the
//! arithmetic is exact in binary floating point (0, 2, 0.25, …) wherever
//! possible, in `f32` as in `f64`, so most asserts are `assert_eq!`; where
//! a transcendental function forces rounding, `assert_relative_eq!` with a
//! tight tolerance is used instead: on an `f32` backend a few ulp of `f32`
//! ([`tol`]), as for a value exact in `f64` but not held by `f32`, such as
//! ln 2 or 1/6 ([`assert_eq_in_f64`]).
//!
//! Where an op's output is not a scalar, the gradient is a vector–Jacobian
//! product seeded with a chosen `G = dL/dy` ([`Tape::backward_with`]), so
//! each output element gets a different weight and a transposed or
//! misplaced gradient shows.

use crate::common::{assert_eq_in_f64, elementwise, run, tol};
use approx::assert_relative_eq;
use minimax::autodiff::{concat_cols, concat_rows, Axis, Backend};

// ---------------------------------------------------------------------------
// Matrix product and transpose.
// ---------------------------------------------------------------------------

/// The worked 2×2 example of the matmul tests:
/// A = [[1, 2], [3, 4]], B = [[5, 6], [7, 8]], G = dL/dC = [[1, 0], [0, 2]].
const A: [f64; 4] = [1.0, 2.0, 3.0, 4.0];
const B_: [f64; 4] = [5.0, 6.0, 7.0, 8.0];
const G: [f64; 4] = [1.0, 0.0, 0.0, 2.0];

fn matmul_2x2<B: Backend>(be: &B) {
    // C = A·B = [[1·5 + 2·7, 1·6 + 2·8], [3·5 + 4·7, 3·6 + 4·8]] = [[19, 22], [43, 50]]
    // dA = G·Bᵀ = [[1, 0], [0, 2]]·[[5, 7], [6, 8]] = [[5, 7], [12, 16]]
    // dB = Aᵀ·G = [[1, 3], [2, 4]]·[[1, 0], [0, 2]] = [[1, 6], [2, 8]]
    let (c, d) = run(be, &[(2, 2, &A), (2, 2, &B_)], Some(&G), |v| v[0].matmul(&v[1]));
    assert_eq!(c, [19.0, 22.0, 43.0, 50.0]);
    assert_eq!(d[0], [5.0, 7.0, 12.0, 16.0]);
    assert_eq!(d[1], [1.0, 6.0, 2.0, 8.0]);
}

fn matmul_t_2x2_every_transpose<B: Backend>(be: &B) {
    // The same product C = A·B, with A and/or B stored transposed:
    //   stored Aᵀ = [[1, 3], [2, 4]], and its gradient is (dA)ᵀ = [[5, 12], [7, 16]];
    //   stored Bᵀ = [[5, 7], [6, 8]], and its gradient is (dB)ᵀ = [[1, 2], [6, 8]].
    let (a_t, da, da_t) = ([1.0, 3.0, 2.0, 4.0], [5.0, 7.0, 12.0, 16.0], [5.0, 12.0, 7.0, 16.0]);
    let (b_t, db, db_t) = ([5.0, 7.0, 6.0, 8.0], [1.0, 6.0, 2.0, 8.0], [1.0, 2.0, 6.0, 8.0]);
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let a_stored = if ta { a_t } else { A };
        let b_stored = if tb { b_t } else { B_ };
        let (c, d) = run(be, &[(2, 2, &a_stored), (2, 2, &b_stored)], Some(&G), |v| {
            v[0].matmul_t(ta, &v[1], tb)
        });
        assert_eq!(c, [19.0, 22.0, 43.0, 50.0], "C for ta = {ta}, tb = {tb}");
        assert_eq!(d[0], if ta { da_t } else { da }, "dA for ta = {ta}, tb = {tb}");
        assert_eq!(d[1], if tb { db_t } else { db }, "dB for ta = {ta}, tb = {tb}");
    }
}

fn transpose<B: Backend>(be: &B) {
    // y = xᵀ for x = [[1, 2, 3], [4, 5, 6]]: y = [[1, 4], [2, 5], [3, 6]]
    // dx = Gᵀ: with G = [[1, 2], [3, 4], [5, 6]], dx = [[1, 3, 5], [2, 4, 6]]
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let g = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let (y, d) = run(be, &[(2, 3, &x)], Some(&g), |v| Ok(v[0].transpose()));
    assert_eq!(y, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    assert_eq!(d[0], [1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
}

// ---------------------------------------------------------------------------
// Arithmetic and broadcasting.
// ---------------------------------------------------------------------------

/// X = [[1, 2], [3, 4], [5, 6]] and G = dL/dy of its shape, the same values.
const X32: [f64; 6] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];

fn add_broadcast_bias<B: Backend>(be: &B) {
    // y = X + b with a bias row b = [10, 20] added to every row of X [3, 2].
    // dX = G; b was used once per row, so db = Σ over rows of G = the column
    // sums of G = [1 + 3 + 5, 2 + 4 + 6] = [9, 12].
    let (y, d) = run(be, &[(3, 2, &X32), (1, 2, &[10.0, 20.0])], Some(&X32), |v| v[0].add(&v[1]));
    assert_eq!(y, [11.0, 22.0, 13.0, 24.0, 15.0, 26.0]);
    assert_eq!(d[0], X32);
    assert_eq!(d[1], [9.0, 12.0]);

    // A column [3, 1] is used once per column: db = the row sums [3, 7, 11].
    let (_, d) =
        run(be, &[(3, 2, &X32), (3, 1, &[1.0, 1.0, 1.0])], Some(&X32), |v| v[0].add(&v[1]));
    assert_eq!(d[1], [3.0, 7.0, 11.0]);

    // A scalar [1, 1] is used for every element: db = Σ G = 21.
    let (_, d) = run(be, &[(3, 2, &X32), (1, 1, &[1.0])], Some(&X32), |v| v[0].add(&v[1]));
    assert_eq!(d[1], [21.0]);
}

fn sub_broadcast_scalar<B: Backend>(be: &B) {
    // y = X - s: dX = G, ds = -Σ G = -21.
    let (y, d) = run(be, &[(3, 2, &X32), (1, 1, &[1.0])], Some(&X32), |v| v[0].sub(&v[1]));
    assert_eq!(y, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(d[0], X32);
    assert_eq!(d[1], [-21.0]);
}

fn mul_broadcast_row<B: Backend>(be: &B) {
    // L = Σᵢⱼ Xᵢⱼ bⱼ with b = [10, 20]:
    // dL/dXᵢⱼ = bⱼ, and dL/dbⱼ = Σᵢ Xᵢⱼ = [1 + 3 + 5, 2 + 4 + 6] = [9, 12].
    let (l, d) =
        run(be, &[(3, 2, &X32), (1, 2, &[10.0, 20.0])], None, |v| Ok(v[0].mul(&v[1])?.sum()));
    assert_eq!(l, [10.0 * 9.0 + 20.0 * 12.0]);
    assert_eq!(d[0], [10.0, 20.0, 10.0, 20.0, 10.0, 20.0]);
    assert_eq!(d[1], [9.0, 12.0]);
}

fn div_broadcast_scalar<B: Backend>(be: &B) {
    // L = Σ aᵢ / b with a = [3, 6], b = 2: L = 1.5 + 3 = 4.5
    // dL/daᵢ = 1/b = 0.5
    // dL/db = Σ -aᵢ/b² = -(3 + 6)/4 = -2.25
    let (l, d) =
        run(be, &[(1, 2, &[3.0, 6.0]), (1, 1, &[2.0])], None, |v| Ok(v[0].div(&v[1])?.sum()));
    assert_eq!(l, [4.5]);
    assert_eq!(d[0], [0.5, 0.5]);
    assert_eq!(d[1], [-2.25]);
}

fn scalar_ops<B: Backend>(be: &B) {
    // y = -x: dy/dx = -1.   y = x + 4: dy/dx = 1.   y = 3x: dy/dx = 3.
    let x = [1.5, -2.0];
    assert_eq!(elementwise(be, &x, |x| x.neg()), (vec![-1.5, 2.0], vec![-1.0, -1.0]));
    assert_eq!(elementwise(be, &x, |x| x.add_scalar(4.0)), (vec![5.5, 2.0], vec![1.0, 1.0]));
    assert_eq!(elementwise(be, &x, |x| x.mul_scalar(3.0)), (vec![4.5, -6.0], vec![3.0, 3.0]));
}

fn polynomial<B: Backend>(be: &B) {
    // y = x² + 5x
    // dy/dx = 2x + 5 = 11 at x = 3 (and y = 9 + 15 = 24)
    let (y, d) = run(be, &[(1, 1, &[3.0])], None, |v| v[0].square().add(&v[0].mul_scalar(5.0)));
    assert_eq!(y, [24.0]);
    assert_eq!(d[0], [11.0]);
}

// ---------------------------------------------------------------------------
// Elementwise maps.
// ---------------------------------------------------------------------------

fn exp<B: Backend>(be: &B) {
    // y = eˣ, dy/dx = eˣ: 1 at x = 0, e at x = 1.
    let (y, dy) = elementwise(be, &[0.0, 1.0], |x| x.exp());
    assert_eq!((y[0], dy[0]), (1.0, 1.0));
    assert_relative_eq!(y[1], std::f64::consts::E, max_relative = tol::<B>(1e-15));
    assert_relative_eq!(dy[1], std::f64::consts::E, max_relative = tol::<B>(1e-15));
}

fn log<B: Backend>(be: &B) {
    // y = ln x, dy/dx = 1/x: 1/2 at x = 2, 1/4 at x = 4.
    let (y, dy) = elementwise(be, &[2.0, 4.0], |x| x.log());
    // (ln 2 and ln 4 round to f32 on an f32 backend.)
    assert_eq_in_f64::<B>(&y, &[2f64.ln(), 4f64.ln()]);
    assert_eq!(dy, [0.5, 0.25]);
}

fn sqrt<B: Backend>(be: &B) {
    // y = √x, dy/dx = 1/(2√x): 1/(2·2) = 1/4 at x = 4, 1/(2·3) = 1/6 at x = 9.
    let (y, dy) = elementwise(be, &[4.0, 9.0], |x| x.sqrt());
    assert_eq!(y, [2.0, 3.0]);
    // (1/6 rounds to f32 on an f32 backend.)
    assert_eq!(dy[0], 0.25);
    assert_eq_in_f64::<B>(&dy[1..], &[1.0 / 6.0]);
}

fn powi<B: Backend>(be: &B) {
    // y = xⁿ, dy/dx = n xⁿ⁻¹.
    // n = 3 at x = 3: y = 27, dy/dx = 3·9 = 27
    assert_eq!(elementwise(be, &[3.0], |x| x.powi(3)), (vec![27.0], vec![27.0]));
    // n = -1 at x = 2: y = 1/2, dy/dx = -1·2⁻² = -1/4
    assert_eq!(elementwise(be, &[2.0], |x| x.powi(-1)), (vec![0.5], vec![-0.25]));
    // n = -2 at x = 2: y = 1/4, dy/dx = -2·2⁻³ = -1/4
    assert_eq!(elementwise(be, &[2.0], |x| x.powi(-2)), (vec![0.25], vec![-0.25]));
    // n = 1 at x = 0 and 2: y = x, dy/dx = 1 (also at 0, where 1·0⁰ = 1)
    assert_eq!(elementwise(be, &[0.0, 2.0], |x| x.powi(1)), (vec![0.0, 2.0], vec![1.0, 1.0]));
    // n = 0: y = x⁰ = 1 is a constant, dy/dx = 0 everywhere, also at x = 0
    // (where the formula n xⁿ⁻¹ would be 0·0⁻¹ = 0·∞ = NaN).
    assert_eq!(elementwise(be, &[0.0, 2.0], |x| x.powi(0)), (vec![1.0, 1.0], vec![0.0, 0.0]));
}

fn square<B: Backend>(be: &B) {
    // y = x², dy/dx = 2x = -3 at x = -1.5 (y = 2.25)
    assert_eq!(elementwise(be, &[-1.5], |x| x.square()), (vec![2.25], vec![-3.0]));
}

fn tanh<B: Backend>(be: &B) {
    // y = tanh x, dy/dx = 1 - tanh²x.
    // At x = 0: y = 0, dy/dx = 1.
    // At x = ln 2: tanh = (e^{2x} - 1)/(e^{2x} + 1) = (4 - 1)/(4 + 1) = 3/5,
    //              dy/dx = 1 - 9/25 = 16/25.
    let (y, dy) = elementwise(be, &[0.0, 2f64.ln()], |x| x.tanh());
    assert_eq!((y[0], dy[0]), (0.0, 1.0));
    assert_relative_eq!(y[1], 0.6, max_relative = tol::<B>(1e-15));
    assert_relative_eq!(dy[1], 0.64, max_relative = tol::<B>(1e-15));
}

fn sigmoid<B: Backend>(be: &B) {
    // y = σ(x) = 1/(1 + e⁻ˣ), dy/dx = σ(x)(1 - σ(x)).
    // At x = 0: σ = 1/2, dy/dx = 1/4.
    // At x = ln 3: σ = 1/(1 + 1/3) = 3/4, dy/dx = 3/4 · 1/4 = 3/16.
    let (y, dy) = elementwise(be, &[0.0, 3f64.ln()], |x| x.sigmoid());
    assert_eq!((y[0], dy[0]), (0.5, 0.25));
    assert_relative_eq!(y[1], 0.75, max_relative = tol::<B>(1e-15));
    assert_relative_eq!(dy[1], 3.0 / 16.0, max_relative = tol::<B>(1e-15));
}

fn relu<B: Backend>(be: &B) {
    // y = max(x, 0), dy/dx = 1 for x > 0, else 0 (0 at the kink x = 0, as PyTorch).
    let (y, dy) = elementwise(be, &[-2.0, 0.0, 3.0], |x| x.relu());
    assert_eq!(y, [0.0, 0.0, 3.0]);
    assert_eq!(dy, [0.0, 0.0, 1.0]);
}

fn leaky_relu<B: Backend>(be: &B) {
    // y = x for x > 0, else 0.25x; dy/dx = 1 or 0.25.
    let (y, dy) = elementwise(be, &[-2.0, 3.0], |x| x.leaky_relu(0.25));
    assert_eq!(y, [-0.5, 3.0]);
    assert_eq!(dy, [0.25, 1.0]);
}

fn elu<B: Backend>(be: &B) {
    // y = x for x > 0, else α(eˣ - 1); dy/dx = 1, or α eˣ.
    // With α = 2 at x = -ln 2: y = 2(1/2 - 1) = -1, dy/dx = 2 · 1/2 = 1.
    // At x = 3: y = 3, dy/dx = 1.
    let (y, dy) = elementwise(be, &[-(2f64.ln()), 3.0], |x| x.elu(2.0));
    assert_relative_eq!(y[0], -1.0, max_relative = tol::<B>(1e-15));
    assert_relative_eq!(dy[0], 1.0, max_relative = tol::<B>(1e-15));
    assert_eq!((y[1], dy[1]), (3.0, 1.0));
}

fn softplus<B: Backend>(be: &B) {
    // y = ln(1 + eˣ), dy/dx = eˣ/(1 + eˣ) = σ(x).
    // At x = 0: y = ln 2, dy/dx = 1/2.
    // At x = ln 3: y = ln 4, dy/dx = 3/4.
    let (y, dy) = elementwise(be, &[0.0, 3f64.ln()], |x| x.softplus());
    // (ln 2 rounds to f32 on an f32 backend.)
    assert_eq_in_f64::<B>(&y[..1], &[2f64.ln()]);
    assert_eq!(dy[0], 0.5);
    assert_relative_eq!(y[1], 4f64.ln(), max_relative = tol::<B>(1e-15));
    assert_relative_eq!(dy[1], 0.75, max_relative = tol::<B>(1e-15));
}

fn clamp<B: Backend>(be: &B) {
    // y = min(max(x, -1), 1); dy/dx = 1 strictly inside (-1, 1), else 0.
    let (y, dy) = elementwise(be, &[-2.0, 0.5, 3.0], |x| x.clamp(-1.0, 1.0));
    assert_eq!(y, [-1.0, 0.5, 1.0]);
    assert_eq!(dy, [0.0, 1.0, 0.0]);
}

// ---------------------------------------------------------------------------
// Reductions.
// ---------------------------------------------------------------------------

fn sum<B: Backend>(be: &B) {
    // L = Σ x = 1 + 2 + … + 6 = 21; every element counts once: dL/dx = 1.
    let (l, d) = run(be, &[(2, 3, &X32)], None, |v| Ok(v[0].sum()));
    assert_eq!(l, [21.0]);
    assert_eq!(d[0], [1.0; 6]);
}

fn sum_axis<B: Backend>(be: &B) {
    // x = [[1, 2, 3], [4, 5, 6]].
    // Rows: y = [5, 7, 9] (column sums); with G = [1, 2, 3], dxᵢⱼ = Gⱼ.
    let (y, d) =
        run(be, &[(2, 3, &X32)], Some(&[1.0, 2.0, 3.0]), |v| Ok(v[0].sum_axis(Axis::Rows)));
    assert_eq!(y, [5.0, 7.0, 9.0]);
    assert_eq!(d[0], [1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
    // Cols: y = [6, 15] (row sums); with G = [1, 2], dxᵢⱼ = Gᵢ.
    let (y, d) = run(be, &[(2, 3, &X32)], Some(&[1.0, 2.0]), |v| Ok(v[0].sum_axis(Axis::Cols)));
    assert_eq!(y, [6.0, 15.0]);
    assert_eq!(d[0], [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
}

fn mean<B: Backend>(be: &B) {
    // L = (1 + 2 + 3 + 4)/4 = 2.5; dL/dxᵢ = 1/n = 1/4.
    let (l, d) = run(be, &[(2, 2, &[1.0, 2.0, 3.0, 4.0])], None, |v| Ok(v[0].mean()));
    assert_eq!(l, [2.5]);
    assert_eq!(d[0], [0.25; 4]);
}

fn mean_axis<B: Backend>(be: &B) {
    // Rows of x = [[1, 2, 3], [4, 5, 6]]: y = [2.5, 3.5, 4.5]; with
    // G = [2, 4, 6], dxᵢⱼ = Gⱼ/2 (2 rows).
    let (y, d) =
        run(be, &[(2, 3, &X32)], Some(&[2.0, 4.0, 6.0]), |v| Ok(v[0].mean_axis(Axis::Rows)));
    assert_eq!(y, [2.5, 3.5, 4.5]);
    assert_eq!(d[0], [1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
    // Cols of x = [[1, 2, 3, 4], [5, 6, 7, 8]]: y = [2.5, 6.5]; with G = [4, 8],
    // dxᵢⱼ = Gᵢ/4 (4 columns).
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    let (y, d) = run(be, &[(2, 4, &x)], Some(&[4.0, 8.0]), |v| Ok(v[0].mean_axis(Axis::Cols)));
    assert_eq!(y, [2.5, 6.5]);
    assert_eq!(d[0], [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0]);
}

// ---------------------------------------------------------------------------
// Joining and slicing.
// ---------------------------------------------------------------------------

fn concat_cols_splits_the_gradient<B: Backend>(be: &B) {
    // y = [a | b] with a = [[1], [2]], b = [[3, 4], [5, 6]]: y = [[1, 3, 4], [2, 5, 6]].
    // With G = [[1, 2, 3], [4, 5, 6]], da = the first column of G = [[1], [4]],
    // db = the other two = [[2, 3], [5, 6]].
    let g = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let (y, d) = run(be, &[(2, 1, &[1.0, 2.0]), (2, 2, &[3.0, 4.0, 5.0, 6.0])], Some(&g), |v| {
        concat_cols(&[&v[0], &v[1]])
    });
    assert_eq!(y, [1.0, 3.0, 4.0, 2.0, 5.0, 6.0]);
    assert_eq!(d[0], [1.0, 4.0]);
    assert_eq!(d[1], [2.0, 3.0, 5.0, 6.0]);
}

fn slice_cols_pads_the_gradient_with_zeros<B: Backend>(be: &B) {
    // y = columns 1..3 of x = [[1, 2, 3, 4], [5, 6, 7, 8]] = [[2, 3], [6, 7]].
    // With G = [[1, 2], [3, 4]], dx = [0 | G | 0] = [[0, 1, 2, 0], [0, 3, 4, 0]].
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    let (y, d) = run(be, &[(2, 4, &x)], Some(&[1.0, 2.0, 3.0, 4.0]), |v| v[0].slice_cols(1, 2));
    assert_eq!(y, [2.0, 3.0, 6.0, 7.0]);
    assert_eq!(d[0], [0.0, 1.0, 2.0, 0.0, 0.0, 3.0, 4.0, 0.0]);
}

fn concat_rows_splits_the_gradient<B: Backend>(be: &B) {
    // y = [a; b] with a = [[1, 2]], b = [[3, 4], [5, 6]]: y = [[1, 2], [3, 4], [5, 6]].
    // With G = [[1, 2], [3, 4], [5, 6]] · 10, da = G's first row = [[10, 20]],
    // db = the other two = [[30, 40], [50, 60]].
    let g = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0];
    let (y, d) = run(be, &[(1, 2, &[1.0, 2.0]), (2, 2, &[3.0, 4.0, 5.0, 6.0])], Some(&g), |v| {
        concat_rows(&[&v[0], &v[1]])
    });
    assert_eq!(y, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(d[0], [10.0, 20.0]);
    assert_eq!(d[1], [30.0, 40.0, 50.0, 60.0]);
}

fn slice_rows_pads_the_gradient_with_zeros<B: Backend>(be: &B) {
    // y = row 1 of x = [[1, 2], [3, 4], [5, 6]] = [[3, 4]].
    // With G = [[7, 8]], dx = [0; G; 0] = [[0, 0], [7, 8], [0, 0]].
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let (y, d) = run(be, &[(3, 2, &x)], Some(&[7.0, 8.0]), |v| v[0].slice_rows(1, 1));
    assert_eq!(y, [3.0, 4.0]);
    assert_eq!(d[0], [0.0, 0.0, 7.0, 8.0, 0.0, 0.0]);
}

// ---------------------------------------------------------------------------
// Losses and statistics.
// ---------------------------------------------------------------------------

fn log_sigmoid<B: Backend>(be: &B) {
    // y = ln σ(x), dy/dx = σ'(x)/σ(x) = 1 - σ(x).
    // At x = 0: y = ln(1/2) = -ln 2, dy/dx = 1/2.
    // At x = ln 3: y = ln(3/4), dy/dx = 1/4.
    let (y, dy) = elementwise(be, &[0.0, 3f64.ln()], |x| x.log_sigmoid());
    // (ln 2 rounds to f32 on an f32 backend.)
    assert_eq_in_f64::<B>(&y[..1], &[-(2f64.ln())]);
    assert_eq!(dy[0], 0.5);
    assert_relative_eq!(y[1], 0.75f64.ln(), max_relative = tol::<B>(1e-15));
    assert_relative_eq!(dy[1], 0.25, max_relative = tol::<B>(1e-15));
}

fn bce_with_logits_at_zero<B: Backend>(be: &B) {
    // ℓ(x, t) = -[t ln σ(x) + (1 - t) ln(1 - σ(x))], averaged over n = 4.
    // At x = 0, σ = 1/2, so ℓ = -[t + 1 - t] ln(1/2) = ln 2 whatever t is.
    // dℓ/dx = (σ(x) - t)/n = (1/2 - t)/4: with t = [0, 1, 1/4, 1/2],
    // the gradient is [1/8, -1/8, 1/16, 0]; and dℓ/dt = -x/n = 0.
    let t = [0.0, 1.0, 0.25, 0.5];
    let (l, d) = run(be, &[(1, 4, &[0.0; 4]), (1, 4, &t)], None, |v| v[0].bce_with_logits(&v[1]));
    assert_relative_eq!(l[0], 2f64.ln(), max_relative = tol::<B>(1e-15));
    assert_eq!(d[0], [0.125, -0.125, 0.0625, 0.0]);
    assert_eq!(d[1], [0.0; 4]);
}

fn bce_with_logits_at_ln3<B: Backend>(be: &B) {
    // One element, x = ln 3, t = 1: ℓ = -ln σ(ln 3) = -ln(3/4) = ln(4/3).
    // dℓ/dx = σ(x) - t = 3/4 - 1 = -1/4;
    // dℓ/dt = softplus(-x) - softplus(x) = ln(4/3) - ln 4 = -ln 3 (= -x),
    // computed as that difference of two logs, so within an ulp or two.
    let (l, d) =
        run(be, &[(1, 1, &[3f64.ln()]), (1, 1, &[1.0])], None, |v| v[0].bce_with_logits(&v[1]));
    assert_relative_eq!(l[0], (4.0f64 / 3.0).ln(), max_relative = tol::<B>(1e-14));
    assert_relative_eq!(d[0][0], -0.25, max_relative = tol::<B>(1e-15));
    assert_relative_eq!(d[1][0], -(3f64.ln()), max_relative = tol::<B>(1e-15));
}

fn mse<B: Backend>(be: &B) {
    // L = Σ (pᵢ - tᵢ)²/n with p = [1, 2], t = [0, 4]: p - t = [1, -2], L = (1 + 4)/2 = 2.5.
    // dL/dp = 2(p - t)/n = [1, -2];  dL/dt = -2(p - t)/n = [-1, 2].
    let (l, d) = run(be, &[(1, 2, &[1.0, 2.0]), (1, 2, &[0.0, 4.0])], None, |v| v[0].mse(&v[1]));
    assert_eq!(l, [2.5]);
    assert_eq!(d[0], [1.0, -2.0]);
    assert_eq!(d[1], [-1.0, 2.0]);
}

fn moments_of_one_to_four<B: Backend>(be: &B) {
    // x = [1, 2, 3, 4] as a column [4, 1]; n = 4.
    //   μ = 10/4 = 2.5,  d = x - μ = [-1.5, -0.5, 0.5, 1.5]
    //   m₂ = Σd²/n = (2.25 + 0.25 + 0.25 + 2.25)/4 = 1.25,  σ = √1.25
    //   m₃ = Σd³/n = 0 (d is symmetric),                     skew = m₃/σ³ = 0
    //   m₄ = Σd⁴/n = (5.0625 + 0.0625 + 0.0625 + 5.0625)/4 = 2.5625,
    //                                                        kurt = m₄/m₂² - 3 = 1.64 - 3 = -1.36
    //
    // Gradients. With ∂dⱼ/∂xᵢ = δᵢⱼ - 1/n, a central moment mₖ = Σdᵏ/n has
    //   ∂mₖ/∂xᵢ = (k/n)(dᵢᵏ⁻¹ - mₖ₋₁)      (m₁ = 0)
    // so:
    //   ∂μ/∂xᵢ    = 1/n = 0.25
    //   ∂σ/∂xᵢ    = (∂m₂/∂xᵢ)/(2σ) = (2dᵢ/n)/(2σ) = dᵢ/(nσ)
    //   ∂skew/∂xᵢ = (∂m₃/∂xᵢ)/σ³ - 3m₃/σ⁴ ∂σ/∂xᵢ = (3/n)(dᵢ² - m₂)/σ³      (m₃ = 0)
    //             = 0.75 · [1, -1, -1, 1] / 1.25^1.5
    //   ∂kurt/∂xᵢ = (∂m₄/∂xᵢ)/m₂² - 2m₄/m₂³ · ∂m₂/∂xᵢ = (4/n)dᵢ³/m₂² - (2m₄/m₂³)(2dᵢ/n)
    //             = dᵢ³/1.5625 - 2.5625 dᵢ/1.953125 = 0.64 dᵢ³ - 1.312 dᵢ
    //             = [-2.16 + 1.968, -0.08 + 0.656, 0.08 - 0.656, 2.16 - 1.968]
    //             = [-0.192, 0.576, -0.576, 0.192]
    let x = [1.0, 2.0, 3.0, 4.0];
    let d = [-1.5, -0.5, 0.5, 1.5];
    let sigma = 1.25f64.sqrt();
    let want_value = [2.5, sigma, 0.0, -1.36];
    let want_grad = [
        [0.25; 4],
        d.map(|di| di / (4.0 * sigma)),
        [1.0, -1.0, -1.0, 1.0].map(|s| 0.75 * s / 1.25f64.powf(1.5)),
        [-0.192, 0.576, -0.576, 0.192],
    ];
    // One backward pass per moment, seeded with that moment's one-hot row.
    for k in 0..4 {
        let mut seed = [0.0; 4];
        seed[k] = 1.0;
        let (m, grad) = run(be, &[(4, 1, &x)], Some(&seed), |v| v[0].moments());
        assert_relative_eq!(
            m[k],
            want_value[k],
            epsilon = tol::<B>(1e-15),
            max_relative = tol::<B>(1e-14)
        );
        for i in 0..4 {
            assert_relative_eq!(
                grad[0][i],
                want_grad[k][i],
                epsilon = tol::<B>(1e-15),
                max_relative = tol::<B>(1e-13)
            );
        }
    }
}

on_every_backend!(
    matmul_2x2,
    matmul_t_2x2_every_transpose,
    transpose,
    add_broadcast_bias,
    sub_broadcast_scalar,
    mul_broadcast_row,
    div_broadcast_scalar,
    scalar_ops,
    polynomial,
    exp,
    log,
    sqrt,
    powi,
    square,
    tanh,
    sigmoid,
    relu,
    leaky_relu,
    elu,
    softplus,
    clamp,
    sum,
    sum_axis,
    mean,
    mean_axis,
    concat_cols_splits_the_gradient,
    slice_cols_pads_the_gradient_with_zeros,
    concat_rows_splits_the_gradient,
    slice_rows_pads_the_gradient_with_zeros,
    log_sigmoid,
    bce_with_logits_at_zero,
    bce_with_logits_at_ln3,
    mse,
    moments_of_one_to_four,
);
