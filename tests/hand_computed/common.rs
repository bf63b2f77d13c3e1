//! Shared by the hand-computed gradient tests: running a function on any
//! backend with `f64` data in and out, and the per-element-type tolerances.

use approx::relative_eq;
use minimax::autodiff::{Backend, Real, Result, Shape, Tape, Var};

/// An input: `(rows, cols, row-major data)`.
pub type Input<'a> = (usize, usize, &'a [f64]);

/// Uploads `data` (rounded to the backend's element type) as a tensor of
/// `[rows, cols]`.
pub fn upload<B: Backend>(be: &B, rows: usize, cols: usize, data: &[f64]) -> B::Tensor {
    let data: Vec<B::Elem> = data.iter().map(|&x| B::Elem::from_f64(x)).collect();
    be.upload(Shape::new(rows, cols), &data).unwrap()
}

/// Downloads `x` as `f64` (exact: every `f32` is an `f64`).
pub fn download<B: Backend>(be: &B, x: &B::Tensor) -> Vec<f64> {
    be.download(x).unwrap().into_iter().map(Real::to_f64).collect()
}

/// The values of `v` as `f64`.
pub fn values<B: Backend>(v: &Var<B>) -> Vec<f64> {
    v.to_vec().unwrap().into_iter().map(Real::to_f64).collect()
}

/// Puts `inputs` on a tape as leaves, applies `f`, and backpropagates from its
/// output, seeded with `seed` (`None`: the output must be a scalar, seeded
/// with 1). Returns the output's values and each input's gradient.
pub fn run<B: Backend>(
    be: &B,
    inputs: &[Input],
    seed: Option<&[f64]>,
    f: impl Fn(&[Var<B>]) -> Result<Var<B>>,
) -> (Vec<f64>, Vec<Vec<f64>>) {
    let tape = Tape::new(be.clone());
    let leaves: Vec<Var<B>> =
        inputs.iter().map(|&(r, c, data)| tape.leaf(upload(be, r, c, data))).collect();
    let y = f(&leaves).unwrap();
    let grads = match seed {
        None => tape.backward(&y).unwrap(),
        Some(g) => {
            let s = y.shape();
            tape.backward_with(&y, upload(be, s.rows, s.cols, g)).unwrap()
        }
    };
    let dx = leaves.iter().map(|v| download(be, grads.get(v).expect("no gradient")));
    (values(&y), dx.collect())
}

/// The values of an elementwise map `y = f(x)` at `xs`, and the gradient of
/// `L = Σ f(x)`, which is `dL/dxᵢ = f'(xᵢ)`.
pub fn elementwise<B: Backend>(
    be: &B,
    xs: &[f64],
    f: impl Fn(&Var<B>) -> Var<B>,
) -> (Vec<f64>, Vec<f64>) {
    let tape = Tape::new(be.clone());
    let x = tape.leaf(upload(be, 1, xs.len(), xs));
    let y = f(&x);
    let grads = tape.backward(&y.sum()).unwrap();
    (values(&y), download(be, grads.get(&x).expect("no gradient")))
}

/// Whether `B` computes in `f64`.
pub fn is_f64<B: Backend>() -> bool {
    <B::Elem as Real>::NAME == "f64"
}

/// The relative tolerance of an `f32` backend where a value rounds: a few
/// ulp (`f32::EPSILON` is 1.2e-7), room for the GPU's and the tuned CPU's
/// fast `exp`, `tanh` and σ, and for an input such as ln 3 rounded to
/// `f32` before the op sees it.
pub const F32_TOL: f64 = 1e-6;

/// `f64_tol` on an `f64` backend, [`F32_TOL`] on an `f32` one.
pub fn tol<B: Backend>(f64_tol: f64) -> f64 {
    if is_f64::<B>() {
        f64_tol
    } else {
        F32_TOL.max(f64_tol)
    }
}

/// `f64_tol` on an `f64` backend, `f32_tol` on an `f32` one: for the few
/// asserts where `f32` rounding is larger than a few ulp of the result
/// (an input of 1000, whose ulp is 2⁻¹⁴ in `f32`), each saying why.
pub fn tol_per_type<B: Backend>(f64_tol: f64, f32_tol: f64) -> f64 {
    if is_f64::<B>() {
        f64_tol
    } else {
        f32_tol
    }
}

/// `got == want` exactly on an `f64` backend; within [`F32_TOL`] (relative)
/// on an `f32` one, for a value exact in `f64` arithmetic but not held by
/// `f32` (ln 2 as `f64`, 1/6).
#[track_caller]
pub fn assert_eq_in_f64<B: Backend>(got: &[f64], want: &[f64]) {
    if is_f64::<B>() {
        assert_eq!(got, want);
    } else {
        assert_eq!(got.len(), want.len(), "lengths of {got:?} and {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!(
                relative_eq!(g, w, max_relative = F32_TOL),
                "{got:?} is not {want:?} within {F32_TOL} (relative)"
            );
        }
    }
}
