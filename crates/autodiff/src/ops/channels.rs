//! Per-channel work on a batch of images `[batch, C·P]` (`P = H·W`
//! positions, the layout of [`crate::conv`]): a bias or a scale per channel,
//! and the mean of each channel over the batch and the positions. All
//! composed from [`Var::reshape`] and [`Var::broadcast_to`] with the row and
//! column ops, so none has a backward of its own.
//!
//! The trick is one reshape: the row-major batch `[batch, C·P]` read as
//! `[batch·C, P]` has one channel of one image per row, row `n·C + c`. A
//! per-channel value `v` (`[1, C]`) repeated down the batch (`[batch, C]`)
//! and read as `[batch·C, 1]` is then the column that lines up with those
//! rows, and broadcasts across each row's positions.

use crate::{Axis, Backend, Error, Result, Shape, Var};

impl<B: Backend> Var<B> {
    /// The batch `[batch, C·P]` as `[batch·C, P]`: channel `c` of image `n`
    /// in row `n·C + c`. An error unless `channels` (≥ 1) divides the
    /// columns.
    pub fn channel_rows(&self, channels: usize) -> Result<Var<B>> {
        let x = self.shape(); // [batch, C·P]
        if channels == 0 || !x.cols.is_multiple_of(channels) {
            return Err(Error::Invalid {
                op: "channel_rows",
                why: format!("{x} does not split into {channels} channels of equal size"),
            });
        }
        self.reshape(Shape::new(x.rows * channels, x.cols / channels))
    }

    /// A per-channel value (`self`, `[1, C]`) as the column `[batch·C, 1]`
    /// that lines up with [`Var::channel_rows`] of a batch of `batch` images.
    pub fn channel_column(&self, batch: usize) -> Result<Var<B>> {
        let c = self.shape().cols;
        self.broadcast_to(Shape::new(batch, c))?.reshape(Shape::new(batch * c, 1))
    }

    /// `x + b` with `b` (`[1, C]`) added to every position of channel `c`:
    /// a convolution's bias. `self` is `[batch, C·P]`.
    pub fn add_channels(&self, b: &Var<B>) -> Result<Var<B>> {
        let x = self.shape();
        let rows = self.channel_rows(b.shape().cols)?; // [batch·C, P]
        rows.add(&b.channel_column(x.rows)?)?.reshape(x)
    }

    /// `x · s` with `s` (`[1, C]`) multiplying every position of channel
    /// `c`: a batch norm's scale γ. `self` is `[batch, C·P]`.
    pub fn mul_channels(&self, s: &Var<B>) -> Result<Var<B>> {
        let x = self.shape();
        let rows = self.channel_rows(s.shape().cols)?; // [batch·C, P]
        rows.mul(&s.channel_column(x.rows)?)?.reshape(x)
    }

    /// The mean of each channel over the batch and the positions,
    /// `[batch, C·P] -> [1, C]`: the mean over each row of
    /// [`Var::channel_rows`] (`[batch·C, 1]`), read as `[batch, C]`, then over
    /// the batch. (Every row has `P` positions, so the mean of the means is
    /// the mean.)
    pub fn mean_channels(&self, channels: usize) -> Result<Var<B>> {
        let batch = self.shape().rows;
        let per_row = self.channel_rows(channels)?.mean_axis(Axis::Cols); // [batch·C, 1]
        Ok(per_row.reshape(Shape::new(batch, channels))?.mean_axis(Axis::Rows)) // [1, C]
    }
}
