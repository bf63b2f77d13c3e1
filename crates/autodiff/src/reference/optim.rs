//! The optimizer updates by their definitions, element by element: SGD with
//! momentum and Adam, as PyTorch documents them. The tuned CPU backend and
//! the GPU's kernels are tested against these.

use crate::{AdamStep, Real};

/// SGD with momentum, as PyTorch does it: `v ← μ v + g`,
/// `p_new = p - lr · v`. (Inlined, so the tuned CPU backend runs this loop
/// compiled with the CPU's SIMD.)
#[inline(always)]
pub fn sgd<T: Real>(lr: T, mu: T, p: &[T], g: &[T], v: &mut [T], p_new: &mut [T]) {
    for i in 0..p.len() {
        v[i] = mu * v[i] + g[i];
        p_new[i] = p[i] - lr * v[i];
    }
}

/// Adam by its definition: `m ← β₁m + (1-β₁)g`, `v ← β₂v + (1-β₂)g²`,
/// `p_new = p - lr · m̂ / (√v̂ + ε)` with `m̂ = m / (1-β₁ᵗ)` and
/// `v̂ = v / (1-β₂ᵗ)`. Three divisions and a square root per element.
pub fn adam<T: Real>(hp: AdamStep, p: &[T], g: &[T], m: &mut [T], v: &mut [T], p_new: &mut [T]) {
    let c = T::from_f64;
    let (b1, b2) = (c(hp.beta1), c(hp.beta2));
    let (one_minus_b1, one_minus_b2) = (T::one() - b1, T::one() - b2);
    // The bias corrections 1 - β₁ᵗ and 1 - β₂ᵗ.
    let bc1 = c(1.0 - hp.beta1.powi(hp.t as i32));
    let bc2 = c(1.0 - hp.beta2.powi(hp.t as i32));
    let (lr, eps) = (c(hp.lr), c(hp.eps));
    for i in 0..p.len() {
        m[i] = b1 * m[i] + one_minus_b1 * g[i];
        v[i] = b2 * v[i] + one_minus_b2 * g[i] * g[i];
        let (m_hat, v_hat) = (m[i] / bc1, v[i] / bc2);
        p_new[i] = p[i] - lr * m_hat / (v_hat.sqrt() + eps);
    }
}
