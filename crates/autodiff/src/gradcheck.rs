//! `gradcheck`: compare the tape's gradients with finite differences, like
//! `torch.autograd.gradcheck`.
//!
//! For a function `y = f(x₁, …, xₙ)` on `Reference<f64>`, the numerical derivative
//! of output `j` with respect to input element `e` is the central difference
//!
//! ```text
//! ∂yⱼ/∂xₑ ≈ (yⱼ(x + ε eₑ) - yⱼ(x - ε eₑ)) / 2ε        (error O(ε²))
//! ```
//!
//! and the analytical one is read off the tape with `backward_with` seeded by
//! the one-hot vector of output `j`. Two values agree when
//! `|analytical - numerical| ≤ atol + rtol · |numerical|` (PyTorch's rule,
//! with its defaults ε = 1e-6, atol = 1e-5, rtol = 1e-3).
//!
//! Small problems get the **full Jacobian**. Large ones are checked along
//! **random projections**: a random output weighting `v` turns `f` into the
//! scalar `vᵀf`, whose gradient `g = vᵀJ` comes from one backward pass; it is
//! then compared with finite differences along a random direction of each
//! input, and at a few random single elements of each input (so a failure
//! still names an element).

use crate::{Backend, Error, Real, RefTensor, Reference, Shape, Tape, TensorShape, Var};
use std::fmt;

/// Tolerances and limits for [`gradcheck_with`].
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct GradcheckOptions {
    /// Finite-difference step ε.
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance.
    pub rtol: f64,
    /// Use the full Jacobian when (input elements) × (output elements) is at
    /// most this; random projections above it.
    pub full_jacobian_limit: usize,
    /// Random single elements checked per input in projection mode.
    pub spot_checks: usize,
    /// Seed of the random projections.
    pub seed: u64,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        GradcheckOptions {
            eps: 1e-6,
            atol: 1e-5,
            rtol: 1e-3,
            full_jacobian_limit: 4096,
            spot_checks: 8,
            seed: 0x5EED,
        }
    }
}

/// Why a gradcheck failed.
#[derive(Clone, Debug, PartialEq)]
pub enum GradcheckError {
    /// The function itself returned an error.
    Op(Error),
    /// An analytical and a numerical derivative disagree.
    Mismatch {
        /// Which input (0-based, in the order given).
        input: usize,
        /// The input element `(row, col)`, or `None` for a random direction.
        element: Option<(usize, usize)>,
        /// The output element `(row, col)`, or `None` for a random projection.
        output: Option<(usize, usize)>,
        /// From the tape.
        analytical: f64,
        /// From finite differences.
        numerical: f64,
    },
}

impl fmt::Display for GradcheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GradcheckError::Op(e) => write!(f, "gradcheck: the function failed: {e}"),
            GradcheckError::Mismatch { input, element, output, analytical, numerical } => {
                let at = match element {
                    Some((r, c)) => format!("element ({r}, {c})"),
                    None => "a random direction".to_string(),
                };
                let of = match output {
                    Some((r, c)) => format!("output ({r}, {c})"),
                    None => "a random projection of the output".to_string(),
                };
                write!(
                    f,
                    "gradcheck: d {of} / d input {input} at {at}: analytical {analytical:.10e}, \
                     numerical {numerical:.10e}, error {:.3e}",
                    (analytical - numerical).abs()
                )
            }
        }
    }
}

impl std::error::Error for GradcheckError {}

impl From<Error> for GradcheckError {
    fn from(e: Error) -> Self {
        GradcheckError::Op(e)
    }
}

/// The CPU backend gradcheck runs on.
pub type F64 = Reference<f64>;

/// [`gradcheck_with`] and the default options.
pub fn gradcheck<F>(f: F, inputs: &[RefTensor<f64>]) -> Result<(), GradcheckError>
where
    F: Fn(&[Var<F64>]) -> crate::Result<Var<F64>>,
{
    gradcheck_with(f, inputs, GradcheckOptions::default())
}

/// Checks the gradients of `f` at `inputs` against central finite
/// differences; on the first disagreement, says which input, which element,
/// both values and the error.
pub fn gradcheck_with<F>(
    f: F,
    inputs: &[RefTensor<f64>],
    opts: GradcheckOptions,
) -> Result<(), GradcheckError>
where
    F: Fn(&[Var<F64>]) -> crate::Result<Var<F64>>,
{
    let be = F64::new();
    // Evaluate f on some inputs, without tracking.
    let eval = |xs: &[RefTensor<f64>]| -> crate::Result<RefTensor<f64>> {
        let tape = Tape::new(be);
        let vars: Vec<_> = xs.iter().map(|x| tape.constant(x.clone())).collect();
        Ok(f(&vars)?.value)
    };
    // The gradient of seedᵀ f with respect to every input.
    let vjp = |seed: RefTensor<f64>| -> crate::Result<Vec<RefTensor<f64>>> {
        let tape = Tape::new(be);
        let vars: Vec<_> = inputs.iter().map(|x| tape.leaf(x.clone())).collect();
        let out = f(&vars)?;
        let grads = tape.backward_with(&out, seed)?;
        Ok(vars.iter().map(|v| grads.get_or_zeros(v)).collect())
    };
    // f at x with input k moved by ±ε along direction `dir`, differenced.
    let directional = |k: usize, dir: &[f64]| -> crate::Result<Vec<f64>> {
        let mut shifted = inputs.to_vec();
        let moved = |sign: f64| {
            let x = &inputs[k];
            let data = x.data().iter().zip(dir).map(|(xi, di)| xi + sign * opts.eps * di).collect();
            RefTensor::new(x.shape(), data)
        };
        shifted[k] = moved(1.0)?;
        let plus = eval(&shifted)?;
        shifted[k] = moved(-1.0)?;
        let minus = eval(&shifted)?;
        Ok(plus.data().iter().zip(minus.data()).map(|(p, m)| (p - m) / (2.0 * opts.eps)).collect())
    };
    let close = |a: f64, n: f64| (a - n).abs() <= opts.atol + opts.rtol * n.abs() && a.is_finite();

    let out_shape = eval(inputs)?.shape();
    let in_numel: usize = inputs.iter().map(|x| x.shape().numel()).sum();

    if in_numel * out_shape.numel() <= opts.full_jacobian_limit {
        // Full Jacobian. Row j (one backward pass per output element j):
        // rows[j][k] = d output_j / d input_k.
        let rows = (0..out_shape.numel())
            .map(|j| {
                let mut onehot = vec![0.0; out_shape.numel()];
                onehot[j] = 1.0;
                vjp(RefTensor::new(out_shape, onehot)?)
            })
            .collect::<crate::Result<Vec<_>>>()?;
        // Column e of input k (one pair of evaluations per input element),
        // compared with the same column of the analytical Jacobian.
        for (k, x) in inputs.iter().enumerate() {
            for e in 0..x.shape().numel() {
                let mut dir = vec![0.0; x.shape().numel()];
                dir[e] = 1.0;
                let column = directional(k, &dir)?;
                for (j, &numerical) in column.iter().enumerate() {
                    let analytical = rows[j][k].data()[e];
                    if !close(analytical, numerical) {
                        return Err(GradcheckError::Mismatch {
                            input: k,
                            element: Some(rc(x.shape(), e)),
                            output: Some(rc(out_shape, j)),
                            analytical,
                            numerical,
                        });
                    }
                }
            }
        }
        return Ok(());
    }

    // Random projections.
    let v = be.random(out_shape, crate::Dist::Normal { mean: 0.0, std: 1.0 }, opts.seed);
    let grads = vjp(v.clone())?;
    let project = |ys: &[f64]| ys.iter().zip(v.data()).map(|(y, w)| y * w).sum::<f64>();
    for (k, x) in inputs.iter().enumerate() {
        let n = x.shape().numel();
        let dist = crate::Dist::Normal { mean: 0.0, std: 1.0 };
        let u = be.random(x.shape(), dist, crate::rng::derive_seed(&[opts.seed, k as u64]));
        let analytical: f64 = grads[k].data().iter().zip(u.data()).map(|(g, d)| g * d).sum();
        let numerical = project(&directional(k, u.data())?);
        if !close(analytical, numerical) {
            return Err(GradcheckError::Mismatch {
                input: k,
                element: None,
                output: None,
                analytical,
                numerical,
            });
        }
        let key = crate::rng::seed_key(crate::rng::derive_seed(&[opts.seed, k as u64, 1]));
        for s in 0..opts.spot_checks.min(n) {
            let e = (crate::rng::bits(key, s as u32) as usize) % n;
            let mut dir = vec![0.0; n];
            dir[e] = 1.0;
            let numerical = project(&directional(k, &dir)?);
            let analytical = grads[k].data()[e];
            if !close(analytical, numerical) {
                return Err(GradcheckError::Mismatch {
                    input: k,
                    element: Some(rc(x.shape(), e)),
                    output: None,
                    analytical,
                    numerical,
                });
            }
        }
    }
    Ok(())
}

fn rc(shape: Shape, idx: usize) -> (usize, usize) {
    (idx / shape.cols, idx % shape.cols)
}

/// A `[rows, cols]` `f64` tensor of uniform numbers in `[lo, hi)` from
/// `seed`: the random inputs the gradcheck tests use.
pub fn random_input(rows: usize, cols: usize, lo: f64, hi: f64, seed: u64) -> RefTensor<f64> {
    F64::new().random(Shape::new(rows, cols), crate::Dist::Uniform { lo, hi }, seed)
}

// Keep `Real` in scope for readers following `to_f64` calls in tests.
#[allow(unused_imports)]
use Real as _;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Unary;

    /// `y = x²`, recorded with a backward that is wrong by `err` at element
    /// `at` (every element for `None`): `dx = 2x · dy`, but `(2x + err) · dy` there.
    fn square_with_bug(x: &Var<F64>, at: Option<usize>, err: f64) -> Var<F64> {
        let y = x.backend().unary(Unary::Powi(2), x.value());
        let (xv, yv) = (x.value().clone(), y.clone());
        let backward: crate::BackwardFn<F64> = Box::new(move |be, g| {
            let mut dx = be.unary_backward(Unary::Powi(2), &xv, &yv, g).data().to_vec();
            for i in 0..dx.len() {
                if at.is_none_or(|at| at == i) {
                    dx[i] += err * g.data()[i];
                }
            }
            Ok(vec![RefTensor::new(xv.shape(), dx)?])
        });
        x.tape().record("square_with_bug", y, &[x], backward).unwrap()
    }

    /// `f(a, w) = a + w²` with the bug in the gradient of `w`, input 1.
    fn buggy(at: Option<usize>, err: f64) -> impl Fn(&[Var<F64>]) -> crate::Result<Var<F64>> {
        move |v| v[0].add(&square_with_bug(&v[1], at, err))
    }

    fn inputs(rows: usize, cols: usize) -> [RefTensor<f64>; 2] {
        [random_input(rows, cols, -1.0, 1.0, 1), random_input(rows, cols, -1.0, 1.0, 2)]
    }

    #[test]
    fn passes_a_correct_gradient_in_both_modes() {
        let small = GradcheckOptions::default();
        let projections = GradcheckOptions { full_jacobian_limit: 0, ..small };
        for opts in [small, projections] {
            gradcheck_with(buggy(None, 0.0), &inputs(2, 3), opts).unwrap();
        }
    }

    #[test]
    fn full_jacobian_names_input_element_and_values() {
        // w = inputs[1], element 4 of a [2, 3] is (1, 1); the Jacobian of the
        // elementwise map is wrong only on its diagonal entry (1, 1) -> (1, 1).
        let xs = inputs(2, 3);
        let w = xs[1].data()[4];
        let err = gradcheck(buggy(Some(4), 0.01), &xs).unwrap_err();
        let GradcheckError::Mismatch { input, element, output, analytical, numerical } = err else {
            panic!("expected a mismatch, got {err}");
        };
        assert_eq!((input, element, output), (1, Some((1, 1)), Some((1, 1))));
        assert!((analytical - (2.0 * w + 0.01)).abs() < 1e-12, "analytical {analytical}");
        assert!((numerical - 2.0 * w).abs() < 1e-6, "numerical {numerical}");
        let message = err.to_string();
        for part in ["input 1", "element (1, 1)", "output (1, 1)", "analytical", "numerical"] {
            assert!(message.contains(part), "{message:?} does not mention {part:?}");
        }
    }

    #[test]
    fn random_projections_catch_the_same_bug() {
        // 33 × 65 inputs: far above the full-Jacobian limit. The bug is in
        // every element, as a wrong derivative formula would be. (A bug in one
        // element of 2145 can hide in a projection, whose tolerance grows
        // with the projected sum: the full Jacobian of small shapes is what
        // pins single elements down.)
        let xs = inputs(33, 65);
        let err = gradcheck(buggy(None, 0.1), &xs).unwrap_err();
        let GradcheckError::Mismatch { input, element, output, .. } = err else {
            panic!("expected a mismatch, got {err}");
        };
        // The random direction moves every element, so no single one is named.
        assert_eq!((input, element, output), (1, None, None));
        assert!(err.to_string().contains("a random direction"), "{err}");
    }

    #[test]
    fn an_error_inside_the_tolerance_passes_and_one_outside_fails() {
        // |analytical - numerical| ≤ atol + rtol·|numerical|, about 1e-5 + 1e-3·|2w|.
        let xs = inputs(2, 3);
        assert!(gradcheck(buggy(Some(4), 1e-7), &xs).is_ok());
        assert!(gradcheck(buggy(Some(4), 1e-2), &xs).is_err());
    }

    #[test]
    fn an_op_error_is_reported_as_such() {
        let xs = [random_input(2, 3, -1.0, 1.0, 1), random_input(3, 2, -1.0, 1.0, 2)];
        let err = gradcheck(|v| v[0].add(&v[1]), &xs).unwrap_err();
        assert!(matches!(err, GradcheckError::Op(Error::Shape { op: "add", .. })), "{err}");
    }
}
