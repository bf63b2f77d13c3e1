//! Fast `f32` versions of e^x, tanh x and σ(x) for the CPU kernels, and of
//! ln x and cos 2πt for the Box–Muller normal draws.
//!
//! glibc's `tanhf` and `expf` are exact to within an ulp but are scalar
//! calls with branches; in a training step that applies tanh to every
//! hidden unit they were over a third of the time. These are straight-line
//! code (arithmetic, a bit trick, and selects), so a loop over a slice
//! vectorises. Each is tested against the `f64` libm function over a dense
//! range in the tests below, which also pin the error bounds quoted here.
//! `f64` keeps libm (see `unary.rs`), so gradchecks stay exact.

/// `ln 2 = LN2_HI + LN2_LO`, split so that `n · LN2_HI` is exact for the
/// integers `n` that [`exp`] and [`ln`] multiply it by (`LN2_HI` = 355/512
/// has 9 significant bits), while `LN2_LO` carries the rest.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

/// Above this, e^x overflows `f32` (ln of `f32::MAX` is 88.7228…).
const EXP_HI: f32 = 88.722_83;
/// Below this, e^x is 0 in `f32` even as a subnormal (ln 2⁻¹⁵⁰ ≈ -103.97).
const EXP_LO: f32 = -103.972_08;

/// e^x, within 2 ulp of the exact value for normal results (Cephes' `expf`).
///
/// ```text
/// x = n ln 2 + r,   n = round(x / ln 2),   |r| ≤ ln 2 / 2 (about)
/// e^x = 2ⁿ · e^r,   e^r ≈ 1 + r + r² p(r)   (p: degree-5 minimax polynomial)
/// ```
///
/// `ln 2` is split in two (`LN2_HI + LN2_LO`) so `n · LN2_HI` is
/// exact and `r` keeps its low bits. `2ⁿ` is built from the exponent bits,
/// in two halves so `n = 128` (results just below `f32::MAX`) and `n < -126`
/// (subnormal results) stay representable.
#[inline]
pub fn exp(x: f32) -> f32 {
    let xc = x.clamp(EXP_LO, EXP_HI);
    // n = round(x / ln 2) without `f32::round` (a libm call on baseline
    // x86-64, which would stop the loop from vectorising): adding 1.5 · 2²³
    // leaves no bits below the units, so `t` holds 1.5 · 2²³ + n exactly,
    // and n is both `t - ROUND` and the difference of their bit patterns.
    const ROUND: f32 = 12_582_912.0;
    let t = xc * std::f32::consts::LOG2_E + ROUND;
    let n = t - ROUND;
    let n_int = t.to_bits() as i32 - ROUND.to_bits() as i32;
    let r = xc - n * LN2_HI - n * LN2_LO;
    let p = ((((1.987_569_1e-4 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let er = p * r * r + r + 1.0;
    // 2ⁿ = 2^(n/2) · 2^(n - n/2), each factor a normal number (n is in
    // [-150, 128], each half in [-75, 64]).
    let half = n_int >> 1;
    let pow2 = |k: i32| f32::from_bits(((k + 127) as u32) << 23);
    let y = er * pow2(half) * pow2(n_int - half);
    // Outside the range the clamp gave a finite number: the limits instead.
    if x > EXP_HI {
        f32::INFINITY
    } else if x < EXP_LO {
        0.0
    } else {
        y // also NaN for a NaN x: the clamp and the arithmetic keep it
    }
}

/// tanh x, within 4 ulp and 1.2e-7 (2 ulp of 1) absolute of the exact value.
///
/// ```text
/// |x| < 0.625:  tanh x ≈ x · P(x²) / Q(x²)      (Eigen's rational, degrees 13/6)
/// otherwise:    tanh x = sign(x) (1 - 2 / (e^(2|x|) + 1))
/// ```
///
/// The rational avoids the cancellation in `1 - 2/(e^(2|x|) + 1)` near 0;
/// the exponential form is exact enough away from 0, where the rational
/// loses digits as tanh approaches ±1. Both are computed and one selected,
/// which costs less than a branch once the loop is vectorised.
#[inline]
pub fn tanh(x: f32) -> f32 {
    // The odd numerator x·P(x²) and even denominator Q(x²).
    let x2 = x * x;
    let p = ((((((-2.760_768_5e-16 * x2 + 2.000_188e-13) * x2 - 8.604_672e-11) * x2
        + 5.122_297e-8)
        * x2
        + 1.485_722_4e-5)
        * x2
        + 6.372_619_3e-4)
        * x2
        + 4.893_524_6e-3)
        * x;
    let q = ((1.198_258_4e-6 * x2 + 1.185_347_1e-4) * x2 + 2.268_434_6e-3) * x2 + 4.893_525e-3;
    let near_zero = p / q;
    let e = exp(2.0 * x.abs()); // ∞ for |x| > 44: then 2 / (∞ + 1) = 0, tanh = ±1
    let far = (1.0 - 2.0 / (e + 1.0)).copysign(x);
    if x.abs() < 0.625 {
        near_zero
    } else {
        far
    }
}

/// σ(x) = 1 / (1 + e^-x), within 3 ulp of the exact value, finite for any x.
///
/// With `e = e^-|x|` (never overflows): σ(|x|) = 1 / (1 + e), and for
/// negative x, σ(x) = 1 - σ(|x|) = e / (1 + e), written as a product so the
/// tiny values keep their relative accuracy.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    let e = exp(-x.abs());
    let s = 1.0 / (1.0 + e);
    if x >= 0.0 {
        s
    } else {
        e * s
    }
}

/// ln x for a positive, normal `x` (not 0, subnormal, ∞ or NaN: the
/// random draws, its only users, give it numbers in [2⁻²⁴, 1]), within
/// 1 ulp of the exact value (Cephes' `logf`).
///
/// ```text
/// x = 2^e · m,   m in [√½, √2)     (from the exponent and mantissa bits)
/// ln x = e ln 2 + ln(1 + f),  f = m - 1,  ln(1 + f) ≈ f - f²/2 + f³ P(f)
/// ```
///
/// `ln 2` is split in two (`LN2_HI + LN2_LO`, as in [`exp`]) so `e · LN2_HI`
/// is exact.
#[inline]
pub fn ln(x: f32) -> f32 {
    let bits = x.to_bits();
    // x = 2^e0 · m0 with m0 in [0.5, 1): set the exponent bits to those of 0.5.
    let e0 = ((bits >> 23) & 0xff) as i32 - 126;
    let m0 = f32::from_bits((bits & 0x007f_ffff) | 0x3f00_0000);
    // Move m into [√½, √2): below √½, double it and take one from e.
    let low = m0 < std::f32::consts::FRAC_1_SQRT_2;
    let f = if low { m0 + m0 - 1.0 } else { m0 - 1.0 };
    let e = (if low { e0 - 1 } else { e0 }) as f32;
    let z = f * f;
    let p = ((((((((7.037_683_6e-2 * f - 1.151_461e-1) * f + 1.167_699_9e-1) * f
        - 1.242_014_1e-1)
        * f
        + 1.424_932_3e-1)
        * f
        - 1.666_805_8e-1)
        * f
        + 2.000_071_4e-1)
        * f
        - 2.499_999_4e-1)
        * f
        + 3.333_333e-1)
        * f
        * z;
    let y = p + e * LN2_LO - 0.5 * z;
    f + y + e * LN2_HI
}

/// cos 2πt for `t` in [0, 1) (a fraction of a turn, as the uniform draws
/// give it), within 1e-7 absolute of the exact value (Cephes' `sinf` and
/// `cosf` polynomials).
///
/// ```text
/// q = round(4t),  r = t - q/4 in [-1/8, 1/8]   (exact: t has 24 bits)
/// θ = 2πr in [-π/4, π/4]
/// cos 2πt = cos(θ + qπ/2) = cos θ, -sin θ, -cos θ, sin θ   for q mod 4 = 0, 1, 2, 3
/// ```
///
/// Reducing in turns rather than radians loses nothing: `r` is exact, and
/// only `θ = 2πr` rounds.
#[inline]
pub fn cos_turns(t: f32) -> f32 {
    let q = (4.0 * t + 0.5) as i32; // round(4t) for t ≥ 0
    let r = t - q as f32 * 0.25;
    let theta = r * std::f32::consts::TAU;
    let z = theta * theta;
    let cos = ((2.443_315_7e-5 * z - 1.388_731_6e-3) * z + 4.166_664_6e-2) * z * z - 0.5 * z + 1.0;
    let sin = ((-1.951_529_6e-4 * z + 8.332_161e-3) * z - 1.666_665_5e-1) * z * theta + theta;
    // q mod 4 = 0, 1, 2, 3: cos θ, -sin θ, -cos θ, sin θ (as selects, which
    // vectorise, rather than a four-way branch).
    let v = if q & 1 == 0 { cos } else { sin };
    let negate = (q + 1) & 2 != 0; // q mod 4 is 1 or 2
    if negate {
        -v
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error of `got` in units of the last place of the exact value
    /// rounded to `f32` (at least the smallest normal's ulp).
    fn ulps(got: f32, exact: f64) -> f64 {
        let rounded = (exact as f32).abs().max(f32::MIN_POSITIVE);
        let ulp = (f32::from_bits(rounded.to_bits() + 1) - rounded) as f64;
        (got as f64 - exact).abs() / ulp
    }

    /// `n` evenly spaced points of `[lo, hi]`.
    fn grid(lo: f32, hi: f32, n: u32) -> impl Iterator<Item = f32> {
        (0..=n).map(move |i| lo + (hi - lo) * (i as f32 / n as f32))
    }

    #[test]
    fn exp_is_within_2_ulp() {
        // Every result from the smallest normal (e^-87.3) to the largest.
        let worst = grid(-87.3, 88.72, 1_000_000)
            .map(|x| ulps(exp(x), (x as f64).exp()))
            .fold(0.0, f64::max);
        assert!(worst <= 2.0, "exp: {worst} ulp");
    }

    #[test]
    fn exp_limits_match_libm() {
        for x in [89.0, 1000.0, f32::INFINITY, -104.0, -1000.0, f32::NEG_INFINITY, 0.0] {
            assert_eq!(exp(x), x.exp(), "exp({x})");
        }
        assert!(exp(f32::NAN).is_nan());
        // A subnormal result, within 2 of its (coarse) last place.
        assert!((exp(-100.0) - (-100.0f32).exp()).abs() <= 2.0 * f32::from_bits(1));
    }

    #[test]
    fn tanh_is_within_4_ulp_and_2_ulp_of_1_absolute() {
        let mut worst = (0.0f64, 0.0f64);
        for x in grid(-20.0, 20.0, 2_000_000).chain(grid(-1e-3, 1e-3, 10_000)) {
            let exact = (x as f64).tanh();
            worst.0 = worst.0.max(ulps(tanh(x), exact));
            worst.1 = worst.1.max((tanh(x) as f64 - exact).abs());
        }
        assert!(
            worst.0 <= 4.0 && worst.1 <= 1.2e-7,
            "tanh: {} ulp, {:e} absolute",
            worst.0,
            worst.1
        );
        for x in [0.0f32, -0.0, 100.0, -100.0, f32::INFINITY, f32::NEG_INFINITY] {
            assert_eq!(tanh(x), x.tanh(), "tanh({x})");
        }
        assert!(tanh(f32::NAN).is_nan());
    }

    #[test]
    fn ln_is_within_1_ulp_on_the_draws_range() {
        // Every 24-bit uniform 1 - k/2²⁴ the normal draws can give, and
        // beyond: a dense grid of positive normal numbers.
        let draws = (1..=1u32 << 24).step_by(7).map(|k| k as f32 / 16_777_216.0);
        let wide = grid(-40.0, 40.0, 200_000).map(|e| e.exp2());
        let worst = draws
            .chain(wide)
            .filter(|&x| x != 1.0) // ln 1 = 0: no ulp; checked below
            .map(|x| ulps(ln(x), (x as f64).ln()))
            .fold(0.0, f64::max);
        assert!(worst <= 1.0, "ln: {worst} ulp");
        assert_eq!(ln(1.0), 0.0);
    }

    #[test]
    fn cos_turns_is_within_1e_7_absolute() {
        // Every 24-bit uniform k/2²⁴ (every 3rd), the draws' whole range.
        let worst = (0..1u32 << 24)
            .step_by(3)
            .map(|k| k as f32 / 16_777_216.0)
            .map(|t| (cos_turns(t) as f64 - (std::f64::consts::TAU * t as f64).cos()).abs())
            .fold(0.0, f64::max);
        assert!(worst <= 1e-7, "cos_turns: {worst:e} absolute");
        assert_eq!((cos_turns(0.0), cos_turns(0.5)), (1.0, -1.0));
    }

    #[test]
    fn sigmoid_is_within_3_ulp() {
        let worst = grid(-80.0, 80.0, 2_000_000)
            .map(|x| ulps(sigmoid(x), 1.0 / (1.0 + (-(x as f64)).exp())))
            .fold(0.0, f64::max);
        assert!(worst <= 3.0, "sigmoid: {worst} ulp");
        assert_eq!((sigmoid(-1000.0), sigmoid(1000.0)), (0.0, 1.0));
    }
}
