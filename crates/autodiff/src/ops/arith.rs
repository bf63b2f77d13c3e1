//! Elementwise arithmetic with broadcasting, and scalar ops.
//!
//! The broadcasting rule (see [`crate::Binary`]): the right operand may have
//! the left's shape, or be a row `[1, c]`, a column `[r, 1]` or a scalar
//! `[1, 1]`. A broadcast operand was used once per row (or column, or
//! element), so its gradient is the *sum* of the output gradient over the
//! repeated axis: `reduce_like` below.

use crate::backend::{binary_name, broadcast_rule, Broadcast};
use crate::ops::Rule;
use crate::tape::InputGrads;
use crate::{Axis, Backend, Binary, Result, Unary, Var};

impl<B: Backend> Var<B> {
    fn binary(&self, op: Binary, rhs: &Var<B>) -> Result<Var<B>> {
        let rule = broadcast_rule(binary_name(op), self.shape(), rhs.shape())?;
        let y = self.backend().binary(op, &self.value, &rhs.value)?;
        let (a, b, out) = (self.value.clone(), rhs.value.clone(), y.clone());
        self.tape.record_op(y, &[self, rhs], BinaryRule { op, rule, a, b, y: out })
    }
}

/// What the backward below needs, saved when the op is recorded.
pub(crate) struct BinaryRule<B: Backend> {
    pub(crate) op: Binary,
    pub(crate) rule: Broadcast,
    pub(crate) a: B::Tensor,
    pub(crate) b: B::Tensor,
    pub(crate) y: B::Tensor,
}

/// The backward of `a ∘ b` ([`Var::add`], [`Var::sub`], [`Var::mul`],
/// [`Var::div`]), given the gradient `g` of the output `y`:
///
/// ```text
/// y = a + b:  da = g,      db = g
/// y = a - b:  da = g,      db = -g
/// y = a · b:  da = g · b,  db = g · a
/// y = a / b:  da = g / b,  db = -g · a / b² = -(g · y) / b
/// ```
///
/// `db` has `a`'s shape until `reduce_like` sums it down to `b`'s.
impl<B: Backend> Rule<B> for BinaryRule<B> {
    fn name(&self) -> &'static str {
        binary_name(self.op)
    }

    fn backward(&self, be: &B, g: &B::Tensor, inputs: &mut InputGrads<'_, B>) -> Result<()> {
        let BinaryRule { op, rule, ref a, ref b, ref y } = *self;
        if inputs.needs(0) {
            let da = match op {
                Binary::Add | Binary::Sub => g.clone(),
                Binary::Mul => be.binary(Binary::Mul, g, b)?,
                Binary::Div => be.binary(Binary::Div, g, b)?,
            };
            inputs.add(0, da)?;
        }
        if inputs.needs(1) {
            let db = match op {
                Binary::Add => g.clone(),
                Binary::Sub => be.unary(Unary::Neg, g),
                Binary::Mul => be.binary(Binary::Mul, g, a)?,
                Binary::Div => {
                    let gy = be.binary(Binary::Mul, g, y)?;
                    be.binary(Binary::Div, &be.unary(Unary::Neg, &gy), b)?
                }
            };
            inputs.add(1, reduce_like(be, db, rule))?;
        }
        Ok(())
    }
}

/// Sums a gradient of the left operand's shape down to the right operand's.
fn reduce_like<B: Backend>(be: &B, g: B::Tensor, rule: Broadcast) -> B::Tensor {
    match rule {
        Broadcast::Same => g,
        Broadcast::Row => be.sum(&g, Some(Axis::Rows)),
        Broadcast::Col => be.sum(&g, Some(Axis::Cols)),
        Broadcast::Scalar => be.sum(&g, None),
    }
}

impl<B: Backend> Var<B> {
    /// `self + rhs`, `rhs` broadcast (a bias `[1, c]` is the common case).
    pub fn add(&self, rhs: &Var<B>) -> Result<Var<B>> {
        self.binary(Binary::Add, rhs)
    }

    /// `self - rhs`, `rhs` broadcast.
    pub fn sub(&self, rhs: &Var<B>) -> Result<Var<B>> {
        self.binary(Binary::Sub, rhs)
    }

    /// `self · rhs` elementwise, `rhs` broadcast.
    pub fn mul(&self, rhs: &Var<B>) -> Result<Var<B>> {
        self.binary(Binary::Mul, rhs)
    }

    /// `self / rhs` elementwise, `rhs` broadcast.
    pub fn div(&self, rhs: &Var<B>) -> Result<Var<B>> {
        self.binary(Binary::Div, rhs)
    }

    /// `-self`. Derivative: -1.
    pub fn neg(&self) -> Var<B> {
        self.map(Unary::Neg)
    }

    /// `self + c`. Derivative: 1.
    pub fn add_scalar(&self, c: f64) -> Var<B> {
        self.map(Unary::AddScalar(c))
    }

    /// `c · self`. Derivative: c.
    pub fn mul_scalar(&self, c: f64) -> Var<B> {
        self.map(Unary::MulScalar(c))
    }
}
