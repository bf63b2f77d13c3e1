//! [`Counters`]: the counts a device keeps of its own work, as totals
//! ([`DeviceCounters`]) and averaged over a run's training steps
//! ([`PerStep`]). One list of counts for the trainers, the facade's GPU hook
//! (`minimax::gpu_counters`) and `summary.json` (`minimax_io::summary`).

use std::ops::{Add, Sub};

/// Counts of a device's work, one field per kind of work; `T` is `u64` for
/// totals ([`DeviceCounters`]) and `f64` for averages ([`PerStep`]).
///
/// They make a backend's cost model visible: a GPU training step in steady
/// state should show a fixed number of `dispatches` in one pass, one
/// `submit`, no `readbacks` unless the host asked for a value, no `copies`
/// (updates in place), no `bind_groups` created (they are cached) and no
/// `buffers_allocated` (every buffer comes back from the pool). The GPU
/// backend counts them; this crate reads them through a [`CounterHook`],
/// so it need not know the GPU crate.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters<T> {
    /// Kernels launched (compute dispatches recorded).
    pub dispatches: T,
    /// Compute passes recorded. Dispatches go into one open pass, ended
    /// only by a copy, a readback or a submit: one per step in steady state.
    pub passes: T,
    /// Bind groups created (none in steady state when they are cached).
    pub bind_groups: T,
    /// Buffer-to-buffer copies recorded (copy-on-write of a shared tensor;
    /// not counting the copies of a readback).
    pub copies: T,
    /// Command buffers submitted to the queue.
    pub submits: T,
    /// Host-to-device transfers.
    pub uploads: T,
    /// Bytes moved by those uploads.
    pub upload_bytes: T,
    /// Device-to-host transfers.
    pub readbacks: T,
    /// Bytes moved by those readbacks.
    pub readback_bytes: T,
    /// Device buffers created (zero in steady state when a pool recycles
    /// them).
    pub buffers_allocated: T,
    /// Total size of those buffers, in bytes.
    pub bytes_allocated: T,
}

/// A device's work counted since some moment: totals.
pub type DeviceCounters = Counters<u64>;

/// Average device work per training step.
pub type PerStep = Counters<f64>;

impl<T: Copy> Counters<T> {
    /// Each count with its field's name, in declaration order (for
    /// reports that list them all, such as `summary.json`).
    pub fn fields(&self) -> [(&'static str, T); 11] {
        [
            ("dispatches", self.dispatches),
            ("passes", self.passes),
            ("bind_groups", self.bind_groups),
            ("copies", self.copies),
            ("submits", self.submits),
            ("uploads", self.uploads),
            ("upload_bytes", self.upload_bytes),
            ("readbacks", self.readbacks),
            ("readback_bytes", self.readback_bytes),
            ("buffers_allocated", self.buffers_allocated),
            ("bytes_allocated", self.bytes_allocated),
        ]
    }

    /// Applies `f` to each count.
    pub fn map<U>(self, f: impl Fn(T) -> U) -> Counters<U> {
        self.zip(self, |a, _| f(a))
    }

    /// Applies `f` to each pair of counts.
    fn zip<U>(self, o: Self, f: impl Fn(T, T) -> U) -> Counters<U> {
        Counters {
            dispatches: f(self.dispatches, o.dispatches),
            passes: f(self.passes, o.passes),
            bind_groups: f(self.bind_groups, o.bind_groups),
            copies: f(self.copies, o.copies),
            submits: f(self.submits, o.submits),
            uploads: f(self.uploads, o.uploads),
            upload_bytes: f(self.upload_bytes, o.upload_bytes),
            readbacks: f(self.readbacks, o.readbacks),
            readback_bytes: f(self.readback_bytes, o.readback_bytes),
            buffers_allocated: f(self.buffers_allocated, o.buffers_allocated),
            bytes_allocated: f(self.bytes_allocated, o.bytes_allocated),
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

impl PerStep {
    /// `total` work spread over `steps` steps (`None` for no steps).
    pub fn new(total: DeviceCounters, steps: u64) -> Option<PerStep> {
        (steps > 0).then(|| total.map(|n| n as f64 / steps as f64))
    }
}

/// A hook that reads a device's counters (see `minimax::gpu_counters` for
/// the GPU backend's), as the trainers and the examples hold it.
pub type CounterHook = Box<dyn Fn() -> DeviceCounters>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_subtract_and_average_field_by_field() {
        let a = DeviceCounters {
            dispatches: 10,
            readback_bytes: 8,
            buffers_allocated: 1,
            ..Default::default()
        };
        let b = DeviceCounters { dispatches: 4, submits: 2, ..Default::default() };
        let sum = a + b;
        assert_eq!((sum.dispatches, sum.submits, sum.readback_bytes), (14, 2, 8));
        assert_eq!(sum - a, b);
        assert_eq!((b - a).dispatches, 0, "a later reading never goes below an earlier one");
        let per = PerStep::new(sum, 2).unwrap();
        assert_eq!((per.dispatches, per.buffers_allocated), (7.0, 0.5));
        assert!(PerStep::new(sum, 0).is_none());
        let names: Vec<&str> = per.fields().iter().map(|(n, _)| *n).collect();
        assert_eq!(names.len(), 11);
        assert_eq!(names[..3], ["dispatches", "passes", "bind_groups"]);
    }
}
