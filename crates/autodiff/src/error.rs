//! Errors are values with messages that say what was wrong.
//!
//! A shape mismatch names the op and both shapes, so that
//! `matmul: [3, 4] x [5, 2]: inner dimensions differ (4 != 5)` is all a
//! reader needs to find the bug.

use crate::Shape;
use std::fmt;

/// Everything that can go wrong in the engine.
#[derive(Clone, Debug, PartialEq)]
pub enum Error {
    /// Two operands whose shapes do not fit together.
    Shape {
        /// The op that was asked, such as `"matmul"` or `"add"`.
        op: &'static str,
        /// The left operand's shape.
        lhs: Shape,
        /// The right operand's shape.
        rhs: Shape,
        /// Why they do not fit.
        why: String,
    },
    /// Host data whose length does not match the shape it was given.
    DataLength {
        /// The op that was asked, usually `"upload"`.
        op: &'static str,
        /// The shape the data was meant to have.
        shape: Shape,
        /// How many elements were given.
        got: usize,
    },
    /// An op that needs a `[1, 1]` tensor was given something else.
    NotScalar {
        /// The op that was asked, such as `"backward"`.
        op: &'static str,
        /// The shape it was given.
        shape: Shape,
    },
    /// An argument outside the range an op accepts.
    Invalid {
        /// The op that was asked.
        op: &'static str,
        /// What was wrong.
        why: String,
    },
    /// The device (GPU adapter, driver, buffer mapping) failed.
    Device(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shape { op, lhs, rhs, why } => write!(f, "{op}: {lhs} and {rhs}: {why}"),
            Error::DataLength { op, shape, got } => write!(
                f,
                "{op}: shape {shape} holds {} elements but {got} were given",
                shape.rows as u128 * shape.cols as u128 // cannot overflow
            ),
            Error::NotScalar { op, shape } => {
                write!(f, "{op}: needs a scalar [1, 1] tensor, got {shape}")
            }
            Error::Invalid { op, why } => write!(f, "{op}: {why}"),
            Error::Device(msg) => write!(f, "device: {msg}"),
        }
    }
}

impl std::error::Error for Error {}

/// The engine's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Builds an [`Error::Shape`].
pub fn shape_error(op: &'static str, lhs: Shape, rhs: Shape, why: impl Into<String>) -> Error {
    Error::Shape { op, lhs, rhs, why: why.into() }
}
