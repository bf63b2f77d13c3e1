//! `gradcheck`: compare the tape's gradients with finite differences, like
//! `torch.autograd.gradcheck`.
//!
//! For a function `y = f(x₁, …, xₙ)` on `Cpu<f64>`, the numerical derivative
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

use crate::{Backend, Cpu, CpuTensor, Error, Real, Shape, Tape, TensorShape, Var};
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
pub type F64 = Cpu<f64>;

/// [`gradcheck_with`] and the default options.
pub fn gradcheck<F>(f: F, inputs: &[CpuTensor<f64>]) -> Result<(), GradcheckError>
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
    inputs: &[CpuTensor<f64>],
    opts: GradcheckOptions,
) -> Result<(), GradcheckError>
where
    F: Fn(&[Var<F64>]) -> crate::Result<Var<F64>>,
{
    let be = F64::new();
    // Evaluate f on some inputs, without tracking.
    let eval = |xs: &[CpuTensor<f64>]| -> crate::Result<CpuTensor<f64>> {
        let tape = Tape::new(be);
        let vars: Vec<_> = xs.iter().map(|x| tape.constant(x.clone())).collect();
        Ok(f(&vars)?.value)
    };
    // The gradient of seedᵀ f with respect to every input.
    let vjp = |seed: CpuTensor<f64>| -> crate::Result<Vec<CpuTensor<f64>>> {
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
            CpuTensor::new(x.shape(), data)
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
        // Full Jacobian: one backward pass per output element.
        for j in 0..out_shape.numel() {
            let mut onehot = vec![0.0; out_shape.numel()];
            onehot[j] = 1.0;
            let grads = vjp(CpuTensor::new(out_shape, onehot)?)?;
            for (k, x) in inputs.iter().enumerate() {
                for e in 0..x.shape().numel() {
                    let mut dir = vec![0.0; x.shape().numel()];
                    dir[e] = 1.0;
                    let numerical = directional(k, &dir)?[j];
                    let analytical = grads[k].data()[e];
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
pub fn random_input(rows: usize, cols: usize, lo: f64, hi: f64, seed: u64) -> CpuTensor<f64> {
    F64::new().random(Shape::new(rows, cols), crate::Dist::Uniform { lo, hi }, seed)
}

// Keep `Real` in scope for readers following `to_f64` calls in tests.
#[allow(unused_imports)]
use Real as _;
