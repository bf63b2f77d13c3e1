//! A counter-based random number generator shared by every backend.
//!
//! Element `i` of a random tensor is a pure function of `(seed, i)`: no
//! state is carried from one draw to the next. That makes it trivial to run
//! on a GPU (each invocation computes its own element) and means the CPU and
//! the GPU draw the *same* numbers: `shaders/random.wgsl` is a line-by-line
//! copy of this file. Only 32-bit integer arithmetic is used because WGSL has
//! no 64-bit integers.
//!
//! The mixing function is the "PCG hash" of Jarzynski and Olano, *Hash
//! Functions for GPU Rendering* (JCGT 2020), a well-tested 32-bit hash.

/// One round of the PCG hash: a 32-bit to 32-bit bijection with good mixing.
#[inline]
pub fn pcg_hash(x: u32) -> u32 {
    let state = x.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

/// Folds a 64-bit seed into a 32-bit key.
#[inline]
pub fn seed_key(seed: u64) -> u32 {
    pcg_hash((seed as u32) ^ pcg_hash((seed >> 32) as u32))
}

/// 32 random bits for counter `i` under `key`.
#[inline]
pub fn bits(key: u32, i: u32) -> u32 {
    pcg_hash(key ^ pcg_hash(i))
}

/// A uniform number in `[0, 1)` with 24 random bits (exact in `f32`).
#[inline]
pub fn uniform(key: u32, i: u32) -> f64 {
    (bits(key, i) >> 8) as f64 * (1.0 / 16_777_216.0)
}

/// A standard normal number for element `i` by Box–Muller, from the two
/// uniforms at counters `2i` and `2i + 1`:
/// `z = √(-2 ln u₁) · cos(2π u₂)` with `u₁ ∈ (0, 1]`. (The tuned CPU backend
/// computes the same formula from the same uniforms in `f32` arithmetic, as
/// the GPU does; see `normal_f32` in crate `minimax-cpu`.)
#[inline]
pub fn normal(key: u32, i: u32) -> f64 {
    let u1 = 1.0 - uniform(key, i.wrapping_mul(2));
    let u2 = uniform(key, i.wrapping_mul(2).wrapping_add(1));
    // libm's ln and cos, not std's: the same bits on every target (see
    // `real.rs`).
    (-2.0 * libm::log(u1)).sqrt() * libm::cos(std::f64::consts::TAU * u2)
}

/// Mixes several numbers (a run's seed, a step, a purpose) into one seed, so
/// each draw of a training run gets its own stream.
pub fn derive_seed(parts: &[u64]) -> u64 {
    let mut h: u64 = 0x9E37_79B9_7F4A_7C15;
    for &p in parts {
        let lo = pcg_hash((h as u32) ^ (p as u32));
        let hi = pcg_hash(((h >> 32) as u32) ^ ((p >> 32) as u32) ^ lo);
        h = ((hi as u64) << 32 | lo as u64).rotate_left(17) ^ h.wrapping_mul(0x2545_F491_4F6C_DD1D);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_has_the_right_mean_and_range() {
        let key = seed_key(42);
        let n = 100_000;
        let xs: Vec<f64> = (0..n).map(|i| uniform(key, i)).collect();
        assert!(xs.iter().all(|&x| (0.0..1.0).contains(&x)));
        let mean = xs.iter().sum::<f64>() / n as f64;
        // The mean of U[0,1) is 1/2 with standard error 1/√(12n) ≈ 0.0009.
        assert!((mean - 0.5).abs() < 0.005, "mean {mean}");
    }

    #[test]
    fn normal_has_the_right_moments() {
        let key = seed_key(7);
        let n = 100_000;
        let xs: Vec<f64> = (0..n).map(|i| normal(key, i)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "var {var}");
    }

    #[test]
    fn different_seeds_give_different_streams() {
        assert_ne!(bits(seed_key(1), 0), bits(seed_key(2), 0));
        assert_ne!(derive_seed(&[1, 2]), derive_seed(&[2, 1]));
    }
}
