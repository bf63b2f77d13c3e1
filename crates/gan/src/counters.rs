//! [`DeviceCounters`]: what a device counts of its own work, and
//! [`PerStep`]: those counts averaged over a run's training steps.

use std::ops::{Add, Sub};

/// Counts a device keeps of its own work (the GPU backend's `Stats`), read
/// through a hook so this crate need not know the GPU crate.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceCounters {
    /// Kernels launched.
    pub dispatches: u64,
    /// Compute passes recorded (one per step when nothing breaks a pass).
    pub passes: u64,
    /// Bind groups created (none in steady state when they are cached).
    pub bind_groups: u64,
    /// Buffer-to-buffer copies (copy-on-write of a shared tensor).
    pub copies: u64,
    /// Command buffers submitted to the queue.
    pub submits: u64,
    /// Bytes copied from the device to the host.
    pub readback_bytes: u64,
}

impl DeviceCounters {
    /// Applies `f` to each pair of counts.
    fn zip(self, o: Self, f: impl Fn(u64, u64) -> u64) -> Self {
        DeviceCounters {
            dispatches: f(self.dispatches, o.dispatches),
            passes: f(self.passes, o.passes),
            bind_groups: f(self.bind_groups, o.bind_groups),
            copies: f(self.copies, o.copies),
            submits: f(self.submits, o.submits),
            readback_bytes: f(self.readback_bytes, o.readback_bytes),
        }
    }
}

impl Add for DeviceCounters {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        self.zip(o, u64::saturating_add)
    }
}

/// The work done between two readings (`later - earlier`).
impl Sub for DeviceCounters {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        self.zip(o, u64::saturating_sub)
    }
}

/// A hook that reads a device's counters (see `minimax::gpu_counters` for
/// the GPU backend's), as the trainers and the examples hold it.
pub type CounterHook = Box<dyn Fn() -> DeviceCounters>;

/// Average device work per training step.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct PerStep {
    /// Kernels launched per step.
    pub dispatches: f64,
    /// Compute passes per step.
    pub passes: f64,
    /// Bind groups created per step.
    pub bind_groups: f64,
    /// Buffer copies per step.
    pub copies: f64,
    /// Queue submissions per step.
    pub submits: f64,
    /// Bytes read back to the host per step.
    pub readback_bytes: f64,
}

impl PerStep {
    /// `total` work spread over `steps` steps (`None` for no steps).
    pub fn new(total: DeviceCounters, steps: u64) -> Option<PerStep> {
        let per = |n: u64| n as f64 / steps as f64;
        (steps > 0).then(|| PerStep {
            dispatches: per(total.dispatches),
            passes: per(total.passes),
            bind_groups: per(total.bind_groups),
            copies: per(total.copies),
            submits: per(total.submits),
            readback_bytes: per(total.readback_bytes),
        })
    }
}
