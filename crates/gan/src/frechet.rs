//! The Fréchet distance between Gaussian fits of two feature sets, in f64.
//!
//! Heusel et al. (2017) judge a generator by fitting a Gaussian to some
//! network's features of real images, `N(μ₁, Σ₁)`, and one to the same
//! features of generated images, `N(μ₂, Σ₂)`, and reporting the Fréchet
//! (2-Wasserstein) distance between the two Gaussians (Dowson & Landau 1982):
//!
//! ```text
//! d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁^½ Σ₂ Σ₁^½)^½)
//! ```
//!
//! **What this is not.** Their *FID* uses the 2048 pool features of one
//! particular Inception-v3 network trained on ImageNet. Here the features are
//! the penultimate layer of the small classifier this project trains on the
//! data set itself, so the numbers are a *Fréchet distance in this
//! classifier's features*: comparable between runs that use the same
//! classifier (same data-set fingerprint, same architecture and seed), not
//! with FID values in papers. Report the real-vs-real value (training split
//! against test split) beside it: that is the floor a perfect generator
//! would reach with this many samples.
//!
//! **How.** `Σ₁^½ Σ₂ Σ₁^½` is symmetric positive semi-definite, so the trace
//! of its square root is the sum of the square roots of its eigenvalues. We
//! need two symmetric eigendecompositions, done by the cyclic Jacobi method
//! ([`symmetric_eigen`]; plenty for `d ≤ 256`, and exact to rounding):
//!
//! 1. `Σ₁ = V Λ Vᵀ`, so `Σ₁^½ = V Λ^½ Vᵀ` (eigenvalues below zero, which
//!    only rounding makes, are taken as zero);
//! 2. `M = Σ₁^½ Σ₂ Σ₁^½`, and `Tr M^½ = Σᵢ √λᵢ(M)`.
//!
//! Covariances divide by `n − 1`, as NumPy's `np.cov` does (and so the
//! reference FID code).

use std::fmt;

/// The most Jacobi sweeps before giving up (convergence is quadratic: a
/// symmetric 256×256 matrix needs about ten).
pub const MAX_SWEEPS: usize = 100;

/// Why a distance could not be computed.
#[derive(Clone, Debug, PartialEq)]
pub enum FrechetError {
    /// The features do not make `[n, d]` with `n ≥ 2` and `d ≥ 1`, or two
    /// fits differ in `d`: what was wrong.
    Shape(String),
    /// A feature is NaN or infinite: which sample and which feature.
    NotFinite {
        /// The sample (row).
        sample: usize,
        /// The feature (column).
        feature: usize,
    },
    /// The Jacobi method did not converge in [`MAX_SWEEPS`] sweeps (only a
    /// matrix with NaN or huge entries would do that).
    NoConvergence,
}

impl fmt::Display for FrechetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shape(m) => write!(f, "Fréchet distance: {m}"),
            Self::NotFinite { sample, feature } => {
                write!(f, "Fréchet distance: feature {feature} of sample {sample} is not finite")
            }
            Self::NoConvergence => {
                write!(f, "Fréchet distance: the Jacobi eigensolver did not converge")
            }
        }
    }
}

impl std::error::Error for FrechetError {}

/// A Gaussian fitted to `n` feature vectors of dimension `dim`.
#[derive(Clone, Debug, PartialEq)]
pub struct Gaussian {
    /// Feature dimension `d`.
    pub dim: usize,
    /// Samples it was fitted to.
    pub samples: usize,
    /// The mean, `[d]`.
    pub mean: Vec<f64>,
    /// The covariance, `[d, d]` row-major, symmetric, divided by `n − 1`.
    pub cov: Vec<f64>,
}

impl Gaussian {
    /// Fits mean and covariance to `features`, `[n, dim]` row-major with
    /// `n ≥ 2`. Two passes (mean, then centred products) for accuracy.
    pub fn fit(features: &[f64], dim: usize) -> Result<Self, FrechetError> {
        if dim == 0 || !features.len().is_multiple_of(dim) || features.len() / dim < 2 {
            return Err(FrechetError::Shape(format!(
                "{} values are not [n, {dim}] features with n ≥ 2 and dim ≥ 1",
                features.len()
            )));
        }
        let n = features.len() / dim;
        if let Some(i) = features.iter().position(|x| !x.is_finite()) {
            return Err(FrechetError::NotFinite { sample: i / dim, feature: i % dim });
        }
        let mut mean = vec![0.0; dim];
        for row in features.chunks_exact(dim) {
            mean.iter_mut().zip(row).for_each(|(m, &x)| *m += x);
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        // The upper triangle of Σ (x − μ)(x − μ)ᵀ, then mirrored.
        let mut cov = vec![0.0; dim * dim];
        let mut centred = vec![0.0; dim];
        for row in features.chunks_exact(dim) {
            centred.iter_mut().zip(row.iter().zip(&mean)).for_each(|(c, (&x, &m))| *c = x - m);
            for i in 0..dim {
                let ci = centred[i];
                let out = &mut cov[i * dim..(i + 1) * dim];
                for j in i..dim {
                    out[j] += ci * centred[j];
                }
            }
        }
        for i in 0..dim {
            for j in i..dim {
                let v = cov[i * dim + j] / (n - 1) as f64;
                cov[i * dim + j] = v;
                cov[j * dim + i] = v;
            }
        }
        Ok(Self { dim, samples: n, mean, cov })
    }
}

/// The Fréchet distance (squared, as FID is reported) between Gaussian fits
/// of two feature sets, each `[n, dim]` row-major (`n` may differ).
pub fn frechet_distance(a: &[f64], b: &[f64], dim: usize) -> Result<f64, FrechetError> {
    frechet_distance_gaussians(&Gaussian::fit(a, dim)?, &Gaussian::fit(b, dim)?)
}

/// The Fréchet distance between two fitted Gaussians (fit the real data's
/// once and reuse it):
/// `‖μ₁ − μ₂‖² + Tr Σ₁ + Tr Σ₂ − 2 Σᵢ √λᵢ(Σ₁^½ Σ₂ Σ₁^½)`.
/// Rounding can leave equal Gaussians a hair below zero (about −1e-13 of
/// the traces); that is returned as is, not hidden by clamping.
pub fn frechet_distance_gaussians(g1: &Gaussian, g2: &Gaussian) -> Result<f64, FrechetError> {
    if g1.dim != g2.dim {
        let m = format!("fits of dimension {} and {} cannot be compared", g1.dim, g2.dim);
        return Err(FrechetError::Shape(m));
    }
    let d = g1.dim;
    let mean_term: f64 = g1.mean.iter().zip(&g2.mean).map(|(a, b)| (a - b) * (a - b)).sum();
    let trace = |m: &[f64]| (0..d).map(|i| m[i * d + i]).sum::<f64>();
    let s1_half = sqrt_psd(&g1.cov, d)?; // [d, d]
    let m = matmul(&matmul(&s1_half, &g2.cov, d), &s1_half, d); // [d, d]
    let (eigenvalues, _) = symmetric_eigen(&symmetrised(&m, d), d)?;
    let trace_sqrt: f64 = eigenvalues.iter().map(|&l| l.max(0.0).sqrt()).sum();
    Ok(mean_term + trace(&g1.cov) + trace(&g2.cov) - 2.0 * trace_sqrt)
}

/// The symmetric square root `V Λ^½ Vᵀ` of a symmetric positive
/// semi-definite `[n, n]` matrix; eigenvalues below zero (rounding) count
/// as zero.
pub fn sqrt_psd(a: &[f64], n: usize) -> Result<Vec<f64>, FrechetError> {
    let (values, vectors) = symmetric_eigen(a, n)?;
    let roots: Vec<f64> = values.iter().map(|&l| l.max(0.0).sqrt()).collect();
    // (V Λ^½ Vᵀ)_ij = Σ_k V_ik √λ_k V_jk
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for j in i..n {
            let s: f64 = (0..n).map(|k| vectors[i * n + k] * roots[k] * vectors[j * n + k]).sum();
            out[i * n + j] = s;
            out[j * n + i] = s;
        }
    }
    Ok(out)
}

/// Eigenvalues and eigenvectors of a symmetric `[n, n]` matrix (row-major;
/// only its symmetry is assumed, not checked) by the cyclic Jacobi method:
/// sweep over every pair `p < q`, rotating rows and columns `p` and `q` so
/// that `a_pq` becomes zero (Golub & Van Loan, §8.5), until the
/// off-diagonal part is below `1e-15` of the matrix's Frobenius norm. An
/// off-diagonal entry too small to change the diagonal entries it would
/// rotate into (`|a_pp| + 100|a_pq| == |a_pp|`, likewise for `q`) is set to
/// zero instead of rotated.
///
/// Returns `(λ, V)`: `λ[k]` is an eigenvalue (in no particular order) and
/// column `k` of `V` (`[n, n]` row-major) its unit eigenvector, so that
/// `A = V diag(λ) Vᵀ`.
pub fn symmetric_eigen(a: &[f64], n: usize) -> Result<(Vec<f64>, Vec<f64>), FrechetError> {
    if a.len() != n * n {
        return Err(FrechetError::Shape(format!("{} values are not a {n}×{n} matrix", a.len())));
    }
    let mut a = a.to_vec();
    let mut v = vec![0.0; n * n];
    (0..n).for_each(|i| v[i * n + i] = 1.0);
    let norm = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    if !norm.is_finite() {
        return Err(FrechetError::NoConvergence);
    }
    for _ in 0..MAX_SWEEPS {
        let off = (0..n)
            .flat_map(|p| (p + 1..n).map(move |q| (p, q)))
            .map(|(p, q)| a[p * n + q] * a[p * n + q])
            .sum::<f64>()
            .sqrt();
        if off <= 1e-15 * norm {
            let values = (0..n).map(|i| a[i * n + i]).collect();
            return Ok((values, v));
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                // An entry too small to change either diagonal entry it
                // would rotate into is rounding noise: drop it (Numerical
                // Recipes' `jacobi` does the same).
                let g = 100.0 * apq.abs();
                let (app, aqq) = (a[p * n + p].abs(), a[q * n + q].abs());
                if apq == 0.0 || (app + g == app && aqq + g == aqq) {
                    a[p * n + q] = 0.0;
                    a[q * n + p] = 0.0;
                    continue;
                }
                // The rotation by φ with cot 2φ = θ = (a_qq − a_pp) / (2 a_pq)
                // zeroes a_pq; t = tan φ is the smaller root of
                // t² + 2θt − 1 = 0, written to avoid cancellation.
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // A ← A J (columns p, q), then A ← Jᵀ A (rows p, q), V ← V J,
                // with J the identity but J_pp = J_qq = c, J_pq = s, J_qp = −s.
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                // Exactly zero in exact arithmetic; rounding would leave ~ε.
                a[p * n + q] = 0.0;
                a[q * n + p] = 0.0;
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    Err(FrechetError::NoConvergence)
}

/// `a · b` for `[n, n]` row-major matrices.
fn matmul(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for k in 0..n {
            let aik = a[i * n + k];
            let row = &b[k * n..(k + 1) * n];
            out[i * n..(i + 1) * n].iter_mut().zip(row).for_each(|(o, &bkj)| *o += aik * bkj);
        }
    }
    out
}

/// `(m + mᵀ) / 2`: removes the rounding asymmetry of a product that is
/// symmetric in exact arithmetic.
fn symmetrised(m: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            out[i * n + j] = 0.5 * (m[i * n + j] + m[j * n + i]);
        }
    }
    out
}
