//! [`DeviceCounters`]: what a device counts of its own work.

/// Counts a device keeps of its own work (the GPU backend's `Stats`), read
/// through a hook so this crate need not know the GPU crate.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct DeviceCounters {
    /// Compute passes dispatched.
    pub dispatches: u64,
    /// Command buffers submitted to the queue.
    pub submits: u64,
    /// Bytes copied from the device to the host.
    pub readback_bytes: u64,
}
