//! The differentiable ops, as methods on [`crate::Var`].
//!
//! Each primitive op computes its output with the backend, then records on
//! the tape a `Backward` value naming its backward rule, with what the rule
//! needs (saved inputs or output, flags). The rule itself, which turns the
//! output's gradient into the inputs' gradients, is the function directly
//! below the op, `*_backward`, with the derivative written in its comment;
//! `tape.rs` calls it with one `match`. A rule computes the gradient of an
//! input only if that input needs one. Only primitives have hand-written
//! rules; composites (mean, the losses, the moments) are built from
//! primitives and get their gradients for free. (An op defined outside this
//! crate records a boxed closure instead, with [`crate::Tape::record`].)
//!
//! | file | ops | backward rules |
//! |---|---|---|
//! | `matmul.rs` | `matmul`, `matmul_t`, `transpose` | `matmul_backward`, `transpose_backward` |
//! | `arith.rs` | `add`, `sub`, `mul`, `div` (with broadcasting) | `binary_backward` |
//! | | `neg`, `add_scalar`, `mul_scalar` | (maps, see `unary.rs`) |
//! | `unary.rs` | `map`, and through it `exp`, `log`, `sqrt`, `powi`, `square`, `tanh`, `sigmoid`, `relu`, `leaky_relu`, `elu`, `softplus`, `clamp` | `map_backward` |
//! | `reduce.rs` | `sum`, `sum_axis` | `sum_backward` |
//! | | `mean`, `mean_axis` | (composed) |
//! | `concat.rs` | `concat_cols`, `slice_cols`, `concat_rows`, `slice_rows` | `concat_cols_backward`, `slice_cols_backward`, `concat_rows_backward`, `slice_rows_backward` |
//! | `gather.rs` | `gather_rows` (by [`crate::Backend::Indices`]) | `gather_rows_backward` (a scatter-add) |
//! | `softmax.rs` | `logsumexp_rows`, `pick_cols` (by label) | `logsumexp_rows_backward` (the softmax), `pick_cols_backward` (a one-hot) |
//! | | `log_softmax_rows`, `softmax_rows` | (composed) |
//! | `loss.rs` | `log_sigmoid`, `bce_with_logits`, `mse`, `cross_entropy`, `cross_entropy_probs` | (composed) |
//! | `fused.rs` | `linear` (a layer `f(x·W + b)`), `bce_logits` (`bce_with_logits` as one op) | `linear_backward`, `bce_logits_backward` |
//! | `stats.rs` | `moments` (mean, std, skew, excess kurtosis) | (composed) |
//! | `norm.rs` | `batch_norm` (training mode, with the batch statistics), `batch_norm_eval` | (composed) |

pub(crate) mod arith;
pub(crate) mod concat;
pub(crate) mod fused;
pub(crate) mod gather;
mod loss;
pub(crate) mod matmul;
mod norm;
pub(crate) mod reduce;
pub(crate) mod softmax;
mod stats;
pub(crate) mod unary;

pub use concat::{concat_cols, concat_rows};
pub use norm::BatchNormOutput;
