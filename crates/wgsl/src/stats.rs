//! Counters of what the GPU backend has asked of the device.

use std::fmt;

/// Counts of GPU work since the backend was created or since
/// [`crate::Wgpu::reset_stats`].
///
/// They make the cost model of the backend visible: a training step in
/// steady state should show a fixed number of `dispatches` in one pass, one
/// `submit` (its `flush`), no `readbacks` unless the host asked for a value,
/// no `copies` (updates in place), no `bind_groups_created` (the cache) and
/// no `buffers_allocated` (every buffer comes back from the pool).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Compute dispatches recorded (one per kernel launch).
    pub dispatches: u64,
    /// Compute passes recorded. The dispatches go into one open pass, ended
    /// only by a copy, a readback or a submit: one per step in steady state.
    pub passes: u64,
    /// Bind groups created. They are cached, so a step recorded like the
    /// last one creates none.
    pub bind_groups_created: u64,
    /// Buffer-to-buffer copies recorded (copy-on-write of shared optimizer
    /// state; not counting the copies of `download`).
    pub copies: u64,
    /// Command buffers handed to the queue (by `flush`, `sync` or `download`).
    pub submits: u64,
    /// Host-to-device transfers (`upload`).
    pub uploads: u64,
    /// Bytes moved by those uploads.
    pub upload_bytes: u64,
    /// Device-to-host transfers (`download`).
    pub readbacks: u64,
    /// Bytes moved by those readbacks.
    pub readback_bytes: u64,
    /// GPU buffers created (tensor storage, readback staging and uniform
    /// chunks). Zero in steady state: the pool recycles buffers.
    pub buffers_allocated: u64,
    /// Total size of those buffers, in bytes.
    pub bytes_allocated: u64,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} dispatches, {} passes, {} bind groups created, {} copies, {} submits, \
             {} uploads ({} B), {} readbacks ({} B), {} buffers allocated ({} B)",
            self.dispatches,
            self.passes,
            self.bind_groups_created,
            self.copies,
            self.submits,
            self.uploads,
            self.upload_bytes,
            self.readbacks,
            self.readback_bytes,
            self.buffers_allocated,
            self.bytes_allocated
        )
    }
}
