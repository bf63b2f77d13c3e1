//! # minimax-autodiff
//!
//! Tensors, a [`Backend`] trait of primitive kernels with a plain reference
//! backend ([`Reference`]), and a tape-based reverse-mode autodiff
//! ([`Tape`], [`Var`]). The tuned CPU backend (crate `minimax-cpu`) and the
//! GPU backend (crate `minimax-wgsl`) implement the same trait and are
//! tested against the reference.
//!
//! ## Reading order
//!
//! 1. `shape.rs`, `error.rs`: 2-D shapes and the error type.
//! 2. `backend.rs`: the primitives every device implements.
//! 3. `tape.rs`: how ops are recorded and how `backward` walks them.
//! 4. `ops/unary.rs` then `ops/matmul.rs`: an op, and right under it its
//!    backward rule.
//! 5. `reference/unary.rs`: each function and its derivative side by side;
//!    `reference/mod.rs`: every primitive as a plain loop.
//! 6. `gradcheck.rs`: how every gradient above is checked.
//!
//! ## Example
//!
//! ```
//! use minimax_autodiff::{Backend, Reference, Shape, Tape};
//!
//! // y = x² + 5x  =>  dy/dx = 2x + 5 = 11 at x = 3
//! let be = Reference::<f64>::new();
//! let tape = Tape::new(be);
//! let x = tape.leaf(be.upload(Shape::scalar(), &[3.0]).unwrap());
//! let y = x.square().add(&x.mul_scalar(5.0)).unwrap();
//! let grads = tape.backward(&y).unwrap();
//! assert_eq!(y.item().unwrap(), 24.0);
//! assert_eq!(be.download(grads.get(&x).unwrap()).unwrap(), vec![11.0]);
//! ```

pub mod backend;
pub mod conv;
mod error;
pub mod gradcheck;
pub mod ops;
mod real;
pub mod reference;
pub mod rng;
mod shape;
mod tape;

pub use backend::{
    AdamStep, AdamTensors, Axis, Backend, Binary, Dist, IndexInfo, Product, TensorShape, Unary,
};
pub use conv::ConvGeometry;
pub use error::{shape_error, Error, Result};
pub use gradcheck::{gradcheck, gradcheck_with, GradcheckError, GradcheckOptions};
pub use ops::{concat_cols, concat_rows, BatchNormOutput};
pub use real::Real;
pub use reference::{HostIndices, RefTensor, Reference};
pub use shape::Shape;
pub use tape::{BackwardFn, Grads, Tape, Var};

impl<B: Backend> Tape<B> {
    /// A constant of `shape` filled with `value`.
    pub fn fill(&self, shape: Shape, value: f64) -> Var<B> {
        self.constant(self.backend().fill(shape, value))
    }

    /// A constant of `shape` drawn from `dist` (see [`Backend::random`]).
    pub fn random(&self, shape: Shape, dist: Dist, seed: u64) -> Var<B> {
        self.constant(self.backend().random(shape, dist, seed))
    }
}
