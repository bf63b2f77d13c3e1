//! Elementwise maps: each function `f` and its derivative `df` side by side,
//! one `match` arm each. This is the definition of every [`Unary`] op: the
//! reference backend applies it element by element, the tuned CPU backend
//! runs the same formulas through vectorised loops (and fast e^x, tanh and σ
//! in `f32`), and the WGSL kernels (`shaders/unary.wgsl`) are tested against
//! it.
//!
//! `df` is given both `x` and `y = f(x)` because several derivatives are
//! cheapest in terms of the output: tanh' = 1 - y², σ' = y(1 - y).

use crate::{Real, Unary};

/// `y = f(x)`.
#[inline]
pub fn f<T: Real>(op: Unary, x: T) -> T {
    let c = T::from_f64;
    match op {
        Unary::Neg => -x,
        Unary::AddScalar(s) => x + c(s),
        Unary::MulScalar(s) => c(s) * x,
        Unary::Exp => x.exp(),
        Unary::Log => x.ln(),
        Unary::Sqrt => x.sqrt(),
        Unary::Powi(n) => powi(x, n),
        Unary::Tanh => x.tanh(),
        Unary::Sigmoid => sigmoid(x),
        Unary::Relu => x.max(T::zero()),
        Unary::LeakyRelu(slope) => {
            if x > T::zero() {
                x
            } else {
                c(slope) * x
            }
        }
        Unary::Elu(alpha) => {
            if x > T::zero() {
                x
            } else {
                c(alpha) * (x.exp() - T::one())
            }
        }
        Unary::Softplus => x.max(T::zero()) + (-x.abs()).exp().ln_1p(),
        Unary::Clamp(lo, hi) => x.max(c(lo)).min(c(hi)),
    }
}

/// `dy/dx`, given `x` and `y = f(x)`.
#[inline]
pub fn df<T: Real>(op: Unary, x: T, y: T) -> T {
    let c = T::from_f64;
    let one = T::one();
    let zero = T::zero();
    match op {
        // d(-x)/dx = -1
        Unary::Neg => -one,
        // d(x + s)/dx = 1
        Unary::AddScalar(_) => one,
        // d(s·x)/dx = s
        Unary::MulScalar(s) => c(s),
        // d(e^x)/dx = e^x = y
        Unary::Exp => y,
        // d(ln x)/dx = 1/x
        Unary::Log => one / x,
        // d(√x)/dx = 1/(2√x) = 1/(2y)
        Unary::Sqrt => one / (c(2.0) * y),
        // d(x^0)/dx = 0: x^0 = 1 is constant (n x^(n-1) would be 0·0⁻¹ = NaN at x = 0)
        Unary::Powi(0) => zero,
        // d(x^n)/dx = n x^(n-1)
        Unary::Powi(n) => c(n as f64) * powi(x, n - 1),
        // d(tanh x)/dx = 1 - tanh²x = 1 - y²
        Unary::Tanh => one - y * y,
        // dσ/dx = σ(1 - σ) = y(1 - y)
        Unary::Sigmoid => y * (one - y),
        // relu' = 1 for x > 0, else 0 (0 at the kink, as PyTorch)
        Unary::Relu => {
            if x > zero {
                one
            } else {
                zero
            }
        }
        // leaky' = 1 for x > 0, else slope
        Unary::LeakyRelu(slope) => {
            if x > zero {
                one
            } else {
                c(slope)
            }
        }
        // elu' = 1 for x > 0, else α e^x = y + α
        Unary::Elu(alpha) => {
            if x > zero {
                one
            } else {
                y + c(alpha)
            }
        }
        // d ln(1 + e^x)/dx = e^x / (1 + e^x) = σ(x)
        Unary::Softplus => sigmoid(x),
        // clamp' = 1 strictly inside (lo, hi), else 0
        Unary::Clamp(lo, hi) => {
            if x > c(lo) && x < c(hi) {
                one
            } else {
                zero
            }
        }
    }
}

/// σ(x) = 1 / (1 + e^-x), written so `e^…` never overflows:
/// for x ≥ 0 use 1 / (1 + e^-x); for x < 0 use e^x / (1 + e^x).
#[inline]
pub fn sigmoid<T: Real>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

/// x^n, with the small powers written out as products so a loop over them
/// vectorises (the same products, in the same order, as `powi`'s repeated
/// squaring).
#[inline]
pub fn powi<T: Real>(x: T, n: i32) -> T {
    match n {
        0 => T::one(),
        1 => x,
        2 => x * x,
        3 => x * (x * x),
        4 => (x * x) * (x * x),
        _ => x.powi(n),
    }
}

/// Every [`Unary`] op, with parameters (and each small power the tuned CPU
/// loops treat apart, `x⁰` to `x⁴`, and a larger one): for the tests that
/// check a kernel on all of them.
pub const EVERY_OP: [Unary; 19] = [
    Unary::Neg,
    Unary::AddScalar(0.5),
    Unary::MulScalar(-1.5),
    Unary::Exp,
    Unary::Log,
    Unary::Sqrt,
    Unary::Powi(0),
    Unary::Powi(1),
    Unary::Powi(2),
    Unary::Powi(3),
    Unary::Powi(4),
    Unary::Powi(5),
    Unary::Tanh,
    Unary::Sigmoid,
    Unary::Relu,
    Unary::LeakyRelu(0.2),
    Unary::Elu(1.0),
    Unary::Softplus,
    Unary::Clamp(-0.5, 0.5),
];
