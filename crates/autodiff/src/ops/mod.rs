//! The differentiable ops, as methods on [`crate::Var`].
//!
//! Each primitive op computes its output with the backend, then records on
//! the tape its backward rule: a small struct, defined in the op's file,
//! holding what the rule needs (saved inputs or output, flags), whose
//! `Rule::backward`, directly below the op with the derivative written in
//! its comment, turns the output's gradient into the inputs' gradients. A
//! rule computes the gradient of an input only if that input needs one.
//! Only primitives have hand-written rules; composites (mean, the losses,
//! the moments) are built from primitives and get their gradients for free.
//!
//! Every rule is registered once, in the `rules!` list at the bottom of
//! this file: one line that makes it a variant of the tape's `Backward`
//! enum, stored inline in its node, so recording an op allocates nothing.
//! (An op defined outside this crate records a boxed closure instead, with
//! [`crate::Tape::record`].)
//!
//! | file | ops | backward rules (`Rule` structs) |
//! |---|---|---|
//! | `matmul.rs` | `matmul`, `matmul_t`, `transpose` | `MatmulRule`, `TransposeRule` |
//! | `arith.rs` | `add`, `sub`, `mul`, `div` (with broadcasting) | `BinaryRule` |
//! | | `neg`, `add_scalar`, `mul_scalar` | (maps, see `unary.rs`) |
//! | `unary.rs` | `map`, and through it `exp`, `log`, `sqrt`, `powi`, `square`, `tanh`, `sigmoid`, `relu`, `leaky_relu`, `elu`, `softplus`, `clamp` | `MapRule` |
//! | `reduce.rs` | `sum`, `sum_axis` | `SumRule` |
//! | | `mean`, `mean_axis` | (composed) |
//! | `concat.rs` | `concat_cols`, `slice_cols`, `concat_rows`, `slice_rows` | `ConcatColsRule`, `SliceColsRule`, `ConcatRowsRule`, `SliceRowsRule` |
//! | `gather.rs` | `gather_rows` (by [`crate::Backend::Indices`]) | `GatherRowsRule` (a scatter-add) |
//! | `softmax.rs` | `logsumexp_rows`, `pick_cols` (by label) | `LogSumExpRule` (the softmax), `PickColsRule` (a one-hot) |
//! | | `log_softmax_rows`, `softmax_rows` | (composed) |
//! | `max.rs` | `max_rows` | `MaxRowsRule` (to the first maximum) |
//! | `reshape.rs` | `reshape`, `broadcast_to` | `ReshapeRule`, `BroadcastRule` (a sum) |
//! | `conv.rs` | `conv2d`, `conv_transpose2d` (images as rows, see [`crate::conv`]) | `ConvRule`, `ConvTransposeRule` (the same three kernels) |
//! | `channels.rs` | `channel_rows`, `channel_column`, `add_channels`, `mul_channels`, `mean_channels` | (composed) |
//! | `loss.rs` | `log_sigmoid`, `bce_with_logits`, `mse`, `cross_entropy`, `cross_entropy_probs` | (composed) |
//! | `fused.rs` | `linear` (a layer `f(x·W + b)`), `bce_logits` (`bce_with_logits` as one op) | `LinearRule`, `BceLogitsRule` |
//! | `stats.rs` | `moments` (mean, std, skew, excess kurtosis) | (composed) |
//! | `norm.rs` | `batch_norm`, `batch_norm2d` (training mode, with the batch statistics), `batch_norm_eval`, `batch_norm2d_eval` | (composed) |

mod arith;
mod channels;
mod concat;
mod conv;
mod fused;
mod gather;
mod loss;
mod matmul;
mod max;
mod norm;
mod reduce;
mod reshape;
mod softmax;
mod stats;
mod unary;

pub use concat::{concat_cols, concat_rows};
pub use norm::BatchNormOutput;

use crate::tape::{CustomRule, InputGrads};
use crate::{Backend, Result};

/// A backward rule: what an op saved when it was recorded, and how to turn
/// the gradient of its output into the gradients of its inputs.
pub(crate) trait Rule<B: Backend> {
    /// The op's name, for error messages.
    fn name(&self) -> &'static str;

    /// Sends each input that needs a gradient its share of `dy`, the
    /// gradient of the op's output (`inputs.add(k, dx_k)`).
    fn backward(&self, be: &B, dy: &B::Tensor, inputs: &mut InputGrads<'_, B>) -> Result<()>;
}

/// Makes the tape's `Backward` enum from a list of rules, `Variant(type)`:
/// one variant per rule, a `From` for each (so an op records its rule
/// struct as it is), and the dispatch of [`Rule`] over the variants.
macro_rules! rules {
    ($($variant:ident($rule:ty),)*) => {
        /// The backward rule of a node: one variant per op, stored inline.
        pub(crate) enum Backward<B: Backend> {
            $(
                #[allow(missing_docs)]
                $variant($rule),
            )*
        }

        $(
            impl<B: Backend> From<$rule> for Backward<B> {
                fn from(rule: $rule) -> Self {
                    Backward::$variant(rule)
                }
            }
        )*

        impl<B: Backend> Rule<B> for Backward<B> {
            fn name(&self) -> &'static str {
                match self {
                    $(Backward::$variant(rule) => Rule::<B>::name(rule),)*
                }
            }

            fn backward(&self, be: &B, dy: &B::Tensor, inputs: &mut InputGrads<'_, B>) -> Result<()> {
                match self {
                    $(Backward::$variant(rule) => Rule::<B>::backward(rule, be, dy, inputs),)*
                }
            }
        }
    };
}

// Every backward rule, one line each: a new primitive op adds its line here.
rules! {
    Matmul(matmul::MatmulRule<B>),
    Transpose(matmul::TransposeRule),
    Binary(arith::BinaryRule<B>),
    Map(unary::MapRule<B>),
    Sum(reduce::SumRule),
    ConcatCols(concat::ConcatColsRule),
    SliceCols(concat::SliceColsRule),
    ConcatRows(concat::ConcatRowsRule),
    SliceRows(concat::SliceRowsRule),
    GatherRows(gather::GatherRowsRule<B>),
    PickCols(softmax::PickColsRule<B>),
    LogSumExp(softmax::LogSumExpRule<B>),
    MaxRows(max::MaxRowsRule<B>),
    Reshape(reshape::ReshapeRule),
    Broadcast(reshape::BroadcastRule),
    Conv(conv::ConvRule<B>),
    ConvTranspose(conv::ConvTransposeRule<B>),
    Linear(fused::LinearRule<B>),
    BceLogits(fused::BceLogitsRule<B>),
    Custom(CustomRule<B>),
}
