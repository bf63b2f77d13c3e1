//! The element type of a tensor: `f32` or `f64`.
//!
//! A tiny trait of our own (rather than a numeric-traits crate) listing the
//! handful of functions the CPU kernels call.
//!
//! **The same bits on every target.** `f32::exp`, `ln`, `tanh`, … are not
//! Rust code: natively they call the C library (glibc on Linux, which picks
//! an FMA variant at run time on CPUs that have one), and on
//! `wasm32-unknown-unknown` Rust's own port of musl's libm. The two differ
//! in the last bit for a few inputs in a million (measured for `expf`,
//! `logf`, `log1pf`, `tanhf`, and f64 `exp`, `log`, `sin`, `cos`), which is
//! enough for a training run in the browser to leave the native one after
//! a few steps. So the transcendental functions here call the `libm`
//! crate, that same portable Rust, on every target: a run on the reference
//! backend gives the same bits natively and in WebAssembly (tested by
//! `crates/gan/tests/wasm_golden.rs`). `√x` and `xⁿ` stay `std`'s: IEEE
//! square root and plain multiplications, the same everywhere.

use std::fmt::{Debug, Display};
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

/// A floating-point element type: implemented for `f32` and `f64`.
pub trait Real:
    Copy
    + Debug
    + Display
    + PartialOrd
    + Default
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
{
    /// A short name, `"f32"` or `"f64"`.
    const NAME: &'static str;
    /// Converts from `f64` (rounding for `f32`).
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64` (exact).
    fn to_f64(self) -> f64;
    /// 0.
    fn zero() -> Self {
        Self::from_f64(0.0)
    }
    /// 1.
    fn one() -> Self {
        Self::from_f64(1.0)
    }
    /// e^x.
    fn exp(self) -> Self;
    /// ln x.
    fn ln(self) -> Self;
    /// ln(1 + x), accurate for small x.
    fn ln_1p(self) -> Self;
    /// √x.
    fn sqrt(self) -> Self;
    /// tanh x.
    fn tanh(self) -> Self;
    /// x^n.
    fn powi(self, n: i32) -> Self;
    /// |x|.
    fn abs(self) -> Self;
    /// The larger of the two (NaN-propagating is not promised).
    fn max(self, other: Self) -> Self;
    /// The smaller of the two.
    fn min(self, other: Self) -> Self;
    /// Whether the value is neither infinite nor NaN.
    fn is_finite(self) -> bool;
    /// Whether the value is NaN.
    fn is_nan(self) -> bool;
}

/// `Real` for a float type, with the `libm` functions of its width (see
/// the module docs).
macro_rules! impl_real {
    ($t:ty, $exp:ident, $ln:ident, $ln_1p:ident, $tanh:ident) => {
        impl Real for $t {
            const NAME: &'static str = stringify!($t);
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn exp(self) -> Self {
                libm::$exp(self)
            }
            fn ln(self) -> Self {
                libm::$ln(self)
            }
            fn ln_1p(self) -> Self {
                libm::$ln_1p(self)
            }
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn tanh(self) -> Self {
                libm::$tanh(self)
            }
            fn powi(self, n: i32) -> Self {
                <$t>::powi(self, n)
            }
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            fn max(self, other: Self) -> Self {
                <$t>::max(self, other)
            }
            fn min(self, other: Self) -> Self {
                <$t>::min(self, other)
            }
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
        }
    };
}

impl_real!(f32, expf, logf, log1pf, tanhf);
impl_real!(f64, exp, log, log1p, tanh);
