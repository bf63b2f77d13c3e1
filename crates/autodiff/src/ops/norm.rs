//! Batch normalisation (Ioffe & Szegedy, 2015) of a batch `[n, k]`, each
//! column (feature) on its own, composed from primitives: the gradient
//! needs no code of its own. The learned scale and shift (γ, β) and the
//! running statistics belong to a layer; these are the ops it calls.

use crate::{shape_error, Axis, Backend, Binary, Error, Result, Shape, TensorShape, Unary, Var};

/// What [`Var::batch_norm`] returns: the normalised batch and the batch
/// statistics it was normalised with, all on the tape.
pub struct BatchNormOutput<B: Backend> {
    /// `(x - mean) / √(var + ε)`, `[n, k]`.
    pub normalised: Var<B>,
    /// The mean of each column, `[1, k]`.
    pub mean: Var<B>,
    /// The biased variance of each column, `Σ_i (x_i - mean)² / n`, `[1, k]`:
    /// the one the batch is normalised with (as PyTorch does).
    pub var: Var<B>,
    /// How many elements each statistic is over: `n` for [`Var::batch_norm`],
    /// `batch·H·W` for [`Var::batch_norm2d`].
    count: usize,
}

impl<B: Backend> BatchNormOutput<B> {
    /// The unbiased variance of each column (or channel), `Σ_i (x_i - mean)² / (n - 1)
    /// = var · n / (n - 1)` for the `n` elements each statistic is over,
    /// `[1, k]`: what PyTorch folds into `running_var`. (`n ≥ 2`: the ops
    /// refuse less.)
    pub fn unbiased_var(&self) -> Var<B> {
        let n = self.count as f64;
        self.var.mul_scalar(n / (n - 1.0))
    }

    /// The running statistics after this batch, as PyTorch's `BatchNorm1d`
    /// updates them (not on the tape):
    ///
    /// ```text
    /// running_mean ← (1 - momentum) · running_mean + momentum · mean
    /// running_var  ← (1 - momentum) · running_var  + momentum · unbiased_var
    /// ```
    ///
    /// `momentum` is PyTorch's (default 0.1). Returns `(mean, var)`, each
    /// `[1, k]`; an error if a running statistic is not `[1, k]`.
    pub fn updated_running_stats(
        &self,
        running_mean: &B::Tensor,
        running_var: &B::Tensor,
        momentum: f64,
    ) -> Result<(B::Tensor, B::Tensor)> {
        let be = self.mean.backend();
        // The batch [n, k] (or [batch, C·P]) and its statistics' shape [1, k] (or [1, C]).
        let (x, stats) = (self.normalised.shape(), self.mean.shape());
        for running in [running_mean.shape(), running_var.shape()] {
            if running != stats {
                let op = "BatchNormOutput::updated_running_stats";
                let why = format!("running statistics must be one row [1, cols], here {stats}");
                return Err(shape_error(op, x, running, why));
            }
        }
        // (1 - momentum) · old + momentum · scale · new, on the tensors: off the tape.
        let blend = |old: &B::Tensor, new: &B::Tensor, scale: f64| {
            let old = be.unary(Unary::MulScalar(1.0 - momentum), old);
            be.binary(Binary::Add, &old, &be.unary(Unary::MulScalar(momentum * scale), new))
        };
        let n = self.count as f64; // unbiased_var = var · n / (n - 1)
        Ok((
            blend(running_mean, self.mean.value(), 1.0)?,
            blend(running_var, self.var.value(), n / (n - 1.0))?,
        ))
    }
}

/// Checks that a running statistic is `[1, k]` for a batch `x` of `[n, k]`.
fn running_stats_rule(op: &'static str, x: Shape, stat: Shape) -> Result<()> {
    if stat != Shape::new(1, x.cols) {
        return Err(shape_error(op, x, stat, "running statistics must be one row [1, cols]"));
    }
    Ok(())
}

/// Checks that `eps` is a number ≥ 0.
fn eps_rule(op: &'static str, eps: f64) -> Result<()> {
    if !(eps >= 0.0 && eps.is_finite()) {
        return Err(Error::Invalid {
            op,
            why: format!("eps must be finite and ≥ 0 (PyTorch's default is 1e-5), got {eps}"),
        });
    }
    Ok(())
}

impl<B: Backend> Var<B> {
    /// Batch normalisation in training mode: each column of the batch
    /// `x` (`[n, k]`) normalised with the batch's own statistics,
    ///
    /// ```text
    /// mean = Σ_i x_i / n      var = Σ_i (x_i - mean)² / n      y = (x - mean) / √(var + ε)
    /// ```
    ///
    /// (the biased variance, as PyTorch normalises with). Composed from
    /// primitives (a mean over the rows, row-broadcast sub and div, square,
    /// add ε, sqrt), so the gradient, which flows through the mean and the
    /// variance too, comes from theirs.
    ///
    /// Returns the normalised batch and the statistics; a layer detaches
    /// those for its running statistics
    /// ([`BatchNormOutput::updated_running_stats`]).
    ///
    /// A batch of one row is an error: its variance is 0 and its mean is
    /// the row itself, so it would normalise to exactly 0 and pass no
    /// gradient back, whatever the input (PyTorch refuses it too). At
    /// evaluation, use [`Var::batch_norm_eval`] with running statistics.
    pub fn batch_norm(&self, eps: f64) -> Result<BatchNormOutput<B>> {
        eps_rule("batch_norm", eps)?;
        let x = self.shape(); // [n, k]
        if x.rows < 2 {
            return Err(Error::Invalid {
                op: "batch_norm",
                why: format!(
                    "a batch {x} of fewer than 2 rows normalises to 0 and passes no gradient; \
                     training-mode batch norm needs at least 2 rows (at evaluation, use \
                     batch_norm_eval with running statistics)"
                ),
            });
        }
        let mean = self.mean_axis(Axis::Rows); // [1, k]
        let d = self.sub(&mean)?; // [n, k]
        let var = d.square().mean_axis(Axis::Rows); // [1, k], biased
        let std = var.add_scalar(eps).sqrt(); // [1, k]
        let normalised = d.div(&std)?; // [n, k]
        Ok(BatchNormOutput { normalised, mean, var, count: x.rows })
    }

    /// Batch normalisation in evaluation mode: each column normalised with
    /// given statistics (a layer's running mean and variance, `[1, k]`
    /// each), `y = (x - mean) / √(var + ε)`. Composed; any batch size.
    pub fn batch_norm_eval(&self, mean: &Var<B>, var: &Var<B>, eps: f64) -> Result<Var<B>> {
        eps_rule("batch_norm_eval", eps)?;
        // A [n, 1] statistic would broadcast down the columns instead: refuse it.
        running_stats_rule("batch_norm_eval", self.shape(), mean.shape())?;
        running_stats_rule("batch_norm_eval", self.shape(), var.shape())?;
        self.sub(mean)?.div(&var.add_scalar(eps).sqrt())
    }
}

impl<B: Backend> Var<B> {
    /// Batch normalisation of images in training mode (PyTorch's
    /// `BatchNorm2d`): `self` is `[batch, C·H·W]` (the layout of
    /// [`crate::conv`]) and each channel is normalised with its own mean and
    /// biased variance over the batch and the `P = H·W` positions, the
    /// `n = batch·P` elements of that channel:
    ///
    /// ```text
    /// mean_c = Σ_{b,p} x[b, c, p] / n    var_c = Σ_{b,p} (x[b, c, p] - mean_c)² / n
    /// y[b, c, p] = (x[b, c, p] - mean_c) / √(var_c + ε)
    /// ```
    ///
    /// Composed, as [`Var::batch_norm`] is, on [`Var::channel_rows`]
    /// (`[batch·C, P]`, a channel of an image per row) with the per-channel
    /// statistics as columns lined up with those rows
    /// ([`Var::channel_column`]): the gradient needs no code of its own.
    /// Returns the statistics `[1, C]` with the batch; fewer than 2
    /// elements per channel is an error, as for [`Var::batch_norm`].
    pub fn batch_norm2d(&self, channels: usize, eps: f64) -> Result<BatchNormOutput<B>> {
        eps_rule("batch_norm2d", eps)?;
        let x = self.shape(); // [batch, C·P]
        let rows = self.channel_rows(channels)?; // [batch·C, P]
        let count = x.rows * rows.shape().cols;
        if count < 2 {
            return Err(Error::Invalid {
                op: "batch_norm2d",
                why: format!(
                    "{x} in {channels} channels has {count} element per channel: training-mode \
                     batch norm needs at least 2 (at evaluation, use batch_norm2d_eval)"
                ),
            });
        }
        let mean = self.mean_channels(channels)?; // [1, C]
        let d = rows.sub(&mean.channel_column(x.rows)?)?; // [batch·C, P]
        let var = d.square().reshape(x)?.mean_channels(channels)?; // [1, C], biased
        let std = var.add_scalar(eps).sqrt().channel_column(x.rows)?; // [batch·C, 1]
        let normalised = d.div(&std)?.reshape(x)?; // [batch, C·P]
        Ok(BatchNormOutput { normalised, mean, var, count })
    }

    /// Batch normalisation of images in evaluation mode: each channel of
    /// `self` (`[batch, C·H·W]`) normalised with given statistics (a
    /// layer's running mean and variance, `[1, C]` each),
    /// `y = (x - mean_c) / √(var_c + ε)`. Composed; any batch size.
    pub fn batch_norm2d_eval(&self, mean: &Var<B>, var: &Var<B>, eps: f64) -> Result<Var<B>> {
        eps_rule("batch_norm2d_eval", eps)?;
        let x = self.shape();
        let c = mean.shape().cols;
        running_stats_rule("batch_norm2d_eval", Shape::new(1, c), mean.shape())?;
        running_stats_rule("batch_norm2d_eval", Shape::new(1, c), var.shape())?;
        let rows = self.channel_rows(c)?; // [batch·C, P]
        let std = var.add_scalar(eps).sqrt().channel_column(x.rows)?; // [batch·C, 1]
        rows.sub(&mean.channel_column(x.rows)?)?.div(&std)?.reshape(x)
    }
}
