//! The differentiable ops, as methods on [`crate::Var`].
//!
//! Each op computes its output with the backend, then records, directly
//! below, the closure that turns the output's gradient into the inputs'
//! gradients, with the derivative written in a comment. Only primitives have
//! hand-written backward closures; composites (mean, the losses, the moments)
//! are built from primitives and get their gradients for free.
//!
//! | file | ops |
//! |---|---|
//! | `matmul.rs` | `matmul`, `matmul_t`, `transpose` |
//! | `arith.rs` | `add`, `sub`, `mul`, `div` (with broadcasting), `neg`, `add_scalar`, `mul_scalar` |
//! | `unary.rs` | `exp`, `log`, `sqrt`, `powi`, `square`, `tanh`, `sigmoid`, `relu`, `leaky_relu`, `elu`, `softplus`, `clamp` |
//! | `reduce.rs` | `sum`, `sum_axis`, `mean`, `mean_axis` |
//! | `concat.rs` | `concat_cols`, `slice_cols` |
//! | `loss.rs` | `log_sigmoid`, `bce_with_logits`, `mse` |
//! | `stats.rs` | `moments` (mean, std, skew, excess kurtosis) |

mod arith;
mod concat;
mod loss;
mod matmul;
mod reduce;
mod stats;
mod unary;

pub use concat::concat_cols;
