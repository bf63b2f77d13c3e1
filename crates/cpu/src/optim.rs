//! Adam over slices as the backend runs it, tested against its definition
//! (`minimax_autodiff::reference::optim::adam`). SGD is the reference's loop
//! as it is.
//!
//! The backend splits a parameter into parts (one per thread, see
//! `threads.rs`) and runs these on each part, compiled with the widest SIMD
//! the CPU has (`simd.rs`). Every element is updated on its own, so the
//! split does not change a bit.

use minimax_autodiff::{AdamStep, Real};

/// Adam's constants for one step, in `T`.
#[derive(Clone, Copy, Debug)]
pub struct AdamConsts<T> {
    b1: T,
    b2: T,
    /// 1 - β₁ and 1 - β₂.
    one_minus_b1: T,
    one_minus_b2: T,
    eps: T,
    /// lr / (1 - β₁ᵗ), and 1 / √(1 - β₂ᵗ), computed in `f64` and rounded once.
    step_size: T,
    inv_sqrt_bc2: T,
}

impl<T: Real> AdamConsts<T> {
    /// The constants of step `hp.t`.
    pub fn new(hp: AdamStep) -> Self {
        let c = T::from_f64;
        let bc1 = 1.0 - hp.beta1.powi(hp.t as i32);
        let bc2 = 1.0 - hp.beta2.powi(hp.t as i32);
        AdamConsts {
            b1: c(hp.beta1),
            b2: c(hp.beta2),
            one_minus_b1: T::one() - c(hp.beta1),
            one_minus_b2: T::one() - c(hp.beta2),
            eps: c(hp.eps),
            step_size: c(hp.lr / bc1),
            inv_sqrt_bc2: c(1.0 / bc2.sqrt()),
        }
    }
}

/// Adam as the backend runs it: the same update with the bias corrections
/// folded into two constants, as PyTorch does,
/// `p_new = p - (lr / (1-β₁ᵗ)) · m / (√v · (1/√(1-β₂ᵗ)) + ε)`: one
/// division and one square root per element, and a loop with no branch,
/// which vectorises. Within a few ulp of the reference (tested).
#[inline(always)]
pub fn adam<T: Real>(
    k: &AdamConsts<T>,
    p: &[T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
    p_new: &mut [T],
) {
    let n = p_new.len();
    let (p, g, m, v) = (&p[..n], &g[..n], &mut m[..n], &mut v[..n]);
    for i in 0..n {
        (m[i], v[i], p_new[i]) = adam_element(k, p[i], g[i], m[i], v[i]);
    }
}

/// One element of [`adam`]: the new `(m, v, p)` from `p`, `g`, `m`, `v`.
#[inline(always)]
fn adam_element<T: Real>(k: &AdamConsts<T>, p: T, g: T, m: T, v: T) -> (T, T, T) {
    let m = k.b1 * m + k.one_minus_b1 * g;
    let v = k.b2 * v + k.one_minus_b2 * g * g;
    (m, v, p - k.step_size * m / (v.sqrt() * k.inv_sqrt_bc2 + k.eps))
}

/// [`adam`] with the parameter updated in place (`p` read and written in
/// the same slot): the same arithmetic, so the same bits. For a parameter
/// whose buffer nobody else holds (the optimizer was handed the only
/// handle), which saves writing a second buffer.
#[inline(always)]
pub fn adam_in_place<T: Real>(k: &AdamConsts<T>, p: &mut [T], g: &[T], m: &mut [T], v: &mut [T]) {
    let n = p.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    for i in 0..n {
        (m[i], v[i], p[i]) = adam_element(k, p[i], g[i], m[i], v[i]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minimax_autodiff::reference::optim as reference;
    use minimax_autodiff::rng;

    fn values(len: usize, seed: u64, scale: f64) -> Vec<f64> {
        let key = rng::seed_key(seed);
        (0..len).map(|i| scale * (2.0 * rng::uniform(key, i as u32) - 1.0)).collect()
    }

    /// Ten steps of both on the same data: `m` and `v` are the same bits
    /// (the same formulas), and each parameter stays within `ulp` units in
    /// the last place of its size per step (the two round the update
    /// differently, by a few ulp of the update, which is ≤ lr ≪ |p|).
    fn fast_matches_reference<T: Real>(ulp: f64) {
        let eps_t = if T::NAME == "f32" { f64::from(f32::EPSILON) } else { f64::EPSILON };
        let n = 1000;
        let to_t = |xs: Vec<f64>| xs.into_iter().map(T::from_f64).collect::<Vec<T>>();
        let p0 = to_t(values(n, 1, 1.0));
        let (mut p_ref, mut p_fast) = (p0.clone(), p0);
        let (mut m_ref, mut v_ref) = (vec![T::zero(); n], vec![T::zero(); n]);
        let (mut m_fast, mut v_fast) = (m_ref.clone(), v_ref.clone());
        for t in 1..=10 {
            // Gradients across scales, zeros included (v = 0: the ε term).
            let mut g = values(n, 10 + t, 1.0);
            g.iter_mut().enumerate().for_each(|(i, x)| *x *= [0.0, 1e-6, 1.0, 1e3][i % 4]);
            let g = to_t(g);
            let hp = AdamStep { lr: 1e-3, beta1: 0.5, beta2: 0.999, eps: 1e-8, t: t as u32 };
            let k = AdamConsts::new(hp);
            let mut out = vec![T::zero(); n];
            reference::adam(hp, &p_ref, &g, &mut m_ref, &mut v_ref, &mut out);
            p_ref = out;
            let mut out = vec![T::zero(); n];
            adam(&k, &p_fast, &g, &mut m_fast, &mut v_fast, &mut out);
            p_fast = out;
            assert!(m_fast == m_ref && v_fast == v_ref, "step {t}: moments differ");
            for i in 0..n {
                let (got, want) = (p_fast[i].to_f64(), p_ref[i].to_f64());
                let tol = t as f64 * ulp * eps_t * want.abs().max(1e-3);
                assert!(
                    (got - want).abs() <= tol,
                    "{} step {t} element {i}: {got} vs {want}",
                    T::NAME
                );
            }
        }
    }

    #[test]
    fn fast_adam_is_the_reference_within_rounding() {
        fast_matches_reference::<f32>(4.0);
        fast_matches_reference::<f64>(4.0);
    }
}
