//! Elementwise maps on the CPU, over whole slices.
//!
//! The functions and their derivatives are defined once, in
//! [`minimax_autodiff::reference::unary`] (`f` and `df` side by side). The
//! backend runs them through [`forward`] and [`backward`], which apply them
//! to whole slices with the `match` on the op hoisted out of the loop (so
//! the loop vectorises), and which, for `f32` only, use the fast e^x, tanh
//! and σ of [`super::approx`] (a few ulp from the exact value; `f64` is
//! exactly `f`).

use super::approx;
pub use minimax_autodiff::reference::unary::{df, f, powi, sigmoid};
use minimax_autodiff::{Real, Unary};
use std::any::TypeId;

/// Whether `T` is `f32` (known at compile time, so the test compiles away).
pub(crate) fn is_f32<T: Real>() -> bool {
    TypeId::of::<T>() == TypeId::of::<f32>()
}

/// An `f32` function applied to a `T` that is `f32`: both conversions are
/// exact and compile to nothing.
#[inline(always)]
fn on_f32<T: Real>(f: fn(f32) -> f32, x: T) -> T {
    T::from_f64(f(x.to_f64() as f32) as f64)
}

/// `ys[i] = g(xs[i])`.
#[inline(always)]
fn map<T: Real>(xs: &[T], ys: &mut [T], g: impl Fn(T) -> T) {
    for (y, &x) in ys.iter_mut().zip(xs) {
        *y = g(x);
    }
}

/// `ys[i] = f(xs[i])`; for `f32`, e^x, tanh and σ are the fast versions.
///
/// `inline(always)` so that it is compiled into the caller's AVX2 copy when
/// the backend runs it through `simd::vectorized`.
#[inline(always)]
pub fn forward<T: Real>(op: Unary, xs: &[T], ys: &mut [T]) {
    debug_assert_eq!(xs.len(), ys.len());
    let c = T::from_f64;
    match op {
        Unary::Exp if is_f32::<T>() => map(xs, ys, |x| on_f32(approx::exp, x)),
        Unary::Tanh if is_f32::<T>() => map(xs, ys, |x| on_f32(approx::tanh, x)),
        Unary::Sigmoid if is_f32::<T>() => map(xs, ys, |x| on_f32(approx::sigmoid, x)),
        // The common cheap maps, each its own loop.
        Unary::Neg => map(xs, ys, |x| -x),
        Unary::AddScalar(s) => map(xs, ys, |x| x + c(s)),
        Unary::MulScalar(s) => map(xs, ys, |x| c(s) * x),
        // One loop per small power, with the power a constant in each, so
        // no `match` on the power and no call to `powi` stays in the loop.
        Unary::Powi(2) => map(xs, ys, |x| powi(x, 2)),
        Unary::Powi(3) => map(xs, ys, |x| powi(x, 3)),
        Unary::Powi(4) => map(xs, ys, |x| powi(x, 4)),
        Unary::Powi(n) => map(xs, ys, |x| powi(x, n)),
        Unary::Relu => map(xs, ys, |x| x.max(T::zero())),
        Unary::LeakyRelu(slope) => {
            let slope = c(slope);
            map(xs, ys, |x| if x > T::zero() { x } else { slope * x })
        }
        Unary::Clamp(lo, hi) => {
            let (lo, hi) = (c(lo), c(hi));
            map(xs, ys, |x| x.max(lo).min(hi))
        }
        Unary::Sqrt => map(xs, ys, |x| x.sqrt()),
        // The rest call a math function per element (e^x, ln) that does not
        // vectorise: the reference `f`, op by op.
        Unary::Exp => map(xs, ys, |x| x.exp()),
        Unary::Log => map(xs, ys, |x| x.ln()),
        Unary::Tanh => map(xs, ys, |x| x.tanh()),
        Unary::Sigmoid => map(xs, ys, sigmoid),
        Unary::Elu(_) | Unary::Softplus => map(xs, ys, |x| f(op, x)),
    }
}

/// `dx[i] = dy[i] · f'(x[i])`, given `x`, `y = f(x)` and `dy` (inlined into
/// the caller, as [`forward`]).
#[inline(always)]
pub fn backward<T: Real>(op: Unary, x: &[T], y: &[T], dy: &[T], dx: &mut [T]) {
    debug_assert!(x.len() == y.len() && y.len() == dy.len() && dy.len() == dx.len());
    // dx[i] = dy[i] · g(x[i], y[i]), one loop per g, each with no branch on
    // the op inside (so each vectorises).
    #[inline(always)]
    fn each<T: Real>(x: &[T], y: &[T], dy: &[T], dx: &mut [T], g: impl Fn(T, T) -> T) {
        let n = dx.len();
        let (x, y, dy) = (&x[..n], &y[..n], &dy[..n]);
        for i in 0..n {
            dx[i] = dy[i] * g(x[i], y[i]);
        }
    }
    let (one, zero, c) = (T::one(), T::zero(), T::from_f64);
    match op {
        // The derivatives in terms of the output, and the polynomial ones,
        // written out so their loops vectorise (the same formulas as `df`).
        Unary::Tanh => {
            for i in 0..dx.len() {
                dx[i] = dy[i] * (one - y[i] * y[i]);
            }
        }
        Unary::Sigmoid => {
            for i in 0..dx.len() {
                dx[i] = dy[i] * (y[i] * (one - y[i]));
            }
        }
        // dx = dy · n x^(n-1), one loop per small power with the power a
        // constant (as in `forward`).
        Unary::Powi(2) => each(x, y, dy, dx, |x, _| c(2.0) * powi(x, 1)),
        Unary::Powi(3) => each(x, y, dy, dx, |x, _| c(3.0) * powi(x, 2)),
        Unary::Powi(4) => each(x, y, dy, dx, |x, _| c(4.0) * powi(x, 3)),
        Unary::Powi(n) if n != 0 => each(x, y, dy, dx, |x, _| c(n as f64) * powi(x, n - 1)),
        // The same formulas as `df`, each its own loop.
        Unary::Neg => each(x, y, dy, dx, |_, _| -one),
        Unary::AddScalar(_) => each(x, y, dy, dx, |_, _| one),
        Unary::MulScalar(s) => {
            let s = c(s);
            each(x, y, dy, dx, |_, _| s)
        }
        Unary::Exp => each(x, y, dy, dx, |_, y| y),
        Unary::Log => each(x, y, dy, dx, |x, _| one / x),
        Unary::Sqrt => each(x, y, dy, dx, |_, y| one / (c(2.0) * y)),
        Unary::Powi(_) => each(x, y, dy, dx, |x, y| df(op, x, y)), // n = 0: zero
        Unary::Relu => each(x, y, dy, dx, |x, _| if x > zero { one } else { zero }),
        Unary::LeakyRelu(slope) => {
            let slope = c(slope);
            each(x, y, dy, dx, |x, _| if x > zero { one } else { slope })
        }
        Unary::Elu(alpha) => {
            let alpha = c(alpha);
            each(x, y, dy, dx, |x, y| if x > zero { one } else { y + alpha })
        }
        Unary::Softplus => each(x, y, dy, dx, |x, _| sigmoid(x)),
        Unary::Clamp(lo, hi) => {
            let (lo, hi) = (c(lo), c(hi));
            each(x, y, dy, dx, |x, _| if x > lo && x < hi { one } else { zero })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minimax_autodiff::reference::unary::EVERY_OP as OPS;

    /// Points in `(0, 6]` and `[-6, 6]`, for ops with and without a domain.
    fn inputs(op: Unary) -> Vec<f64> {
        let positive = matches!(op, Unary::Log | Unary::Sqrt);
        (1..=600)
            .map(|i| if positive { i as f64 / 100.0 } else { -6.0 + 12.0 * i as f64 / 600.0 })
            .collect()
    }

    #[test]
    fn f64_slices_are_exactly_the_reference() {
        for op in OPS {
            let x = inputs(op);
            let mut y = vec![0.0; x.len()];
            forward(op, &x, &mut y);
            let dy: Vec<f64> = x.iter().map(|v| 0.5 - v / 7.0).collect();
            let mut dx = vec![0.0; x.len()];
            backward(op, &x, &y, &dy, &mut dx);
            for i in 0..x.len() {
                assert_eq!(y[i].to_bits(), f(op, x[i]).to_bits(), "{op:?} f({})", x[i]);
                let want = dy[i] * df(op, x[i], y[i]);
                assert_eq!(dx[i].to_bits(), want.to_bits(), "{op:?} df({})", x[i]);
            }
        }
    }

    #[test]
    fn f32_slices_are_within_4_ulp_of_the_reference() {
        for op in OPS {
            let x: Vec<f32> = inputs(op).into_iter().map(|v| v as f32).collect();
            let mut y = vec![0.0f32; x.len()];
            forward(op, &x, &mut y);
            let mut dx = vec![0.0f32; x.len()];
            let dy = vec![1.0f32; x.len()];
            backward(op, &x, &y, &dy, &mut dx);
            for i in 0..x.len() {
                let (want, got) = (f(op, x[i]), y[i]);
                // 4 ulp of the larger, or 1e-7 absolute near 0.
                let tol = (4.0 * f32::EPSILON * want.abs()).max(1e-7);
                assert!((got - want).abs() <= tol, "{op:?} f({}): {got} vs {want}", x[i]);
                // The backward is `df` at the fast y: exactly that.
                assert_eq!(dx[i].to_bits(), df(op, x[i], y[i]).to_bits(), "{op:?} df({})", x[i]);
            }
        }
    }
}
