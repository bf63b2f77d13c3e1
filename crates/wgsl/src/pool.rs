//! A size-bucketed pool of GPU buffers, so that a training step in steady
//! state creates no buffers at all.
//!
//! Every buffer is rounded up to a power of two (at least 256 bytes) and
//! lives in a bucket of that size. A [`GpuBuffer`] is a handle on one of
//! them: when the last tensor holding it drops, the buffer goes back to the
//! pool instead of being destroyed, and the next request of the same bucket
//! gets it back.
//!
//! ## Clean and dirty buffers
//!
//! Work is *recorded* into one command encoder and runs only at the next
//! submit (see `context.rs`). A buffer returned to the pool may still be read
//! or written by recorded commands that have not run yet. Reusing it as the
//! **output of another recorded command** is safe: commands run in the order
//! they were recorded, and wgpu puts a barrier between them. Reusing it as
//! the target of **`queue.write_buffer`** (an upload) is not: a queue write
//! runs at the next submit *before* every recorded command, so it would
//! clobber a value that earlier-recorded commands have yet to read.
//!
//! So the pool keeps buffers returned since the last submit apart, as
//! *dirty*, and [`Pool::take`] hands an upload only *clean* buffers (never
//! touched by an unsubmitted command). At each submit the dirty buffers
//! become clean.
//!
//! ## The same buffers every step
//!
//! Within a bucket, [`Pool::take`] hands out the free buffer with the
//! lowest number ([`GpuBuffer::id`]), whatever order they were freed in,
//! and (for recorded commands) whether or not a submit came between. So
//! which buffer an op gets depends only on *which* buffers are free, and a
//! training step recorded like the last one, starting from the same free
//! buffers, gets the same buffers in the same places: its bind groups are
//! all found in the cache (`context.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// The smallest bucket, in bytes. Also keeps zero-element tensors valid:
/// wgpu does not allow a binding of size zero.
const MIN_BUCKET: u64 = 256;

/// What a pooled buffer is for; each purpose has its own buckets.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Purpose {
    /// Tensor storage: bound to kernels, copied to and from.
    Storage,
    /// Host-mappable buffers that `download` copies into and reads.
    Readback,
}

impl Purpose {
    fn usages(self) -> wgpu::BufferUsages {
        use wgpu::BufferUsages as U;
        match self {
            Purpose::Storage => U::STORAGE | U::COPY_SRC | U::COPY_DST,
            Purpose::Readback => U::MAP_READ | U::COPY_DST,
        }
    }
}

/// Who will use a buffer taken from the pool (see the module docs).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Use {
    /// Written by a recorded command: any free buffer will do.
    Recorded,
    /// Written by `queue.write_buffer`: must be clean.
    QueueWrite,
}

type Key = (Purpose, u64);

/// A free buffer and the number it was created with.
type Free = (wgpu::Buffer, u64);

/// Puts `free` into a bucket's list, kept sorted by decreasing number so
/// that `pop` returns the lowest.
fn put<T>(list: &mut Vec<(T, u64)>, free: (T, u64)) {
    let at = list.partition_point(|(_, id)| *id > free.1);
    list.insert(at, free);
}

/// The free buffers, by purpose and bucket size.
pub(crate) struct Pool {
    device: wgpu::Device,
    /// The largest buffer of each purpose this device can create (and, for
    /// storage, bind whole): no bucket is larger.
    max_storage: u64,
    max_readback: u64,
    /// Free and not used by any unsubmitted command.
    clean: HashMap<Key, Vec<Free>>,
    /// Free since the last submit: unsubmitted commands may still use them.
    dirty: HashMap<Key, Vec<Free>>,
    /// The number of the last buffer created (see [`GpuBuffer::id`]).
    next_id: u64,
    /// Buffers created since the last reset of the statistics.
    pub(crate) created: u64,
    /// Their total size in bytes.
    pub(crate) created_bytes: u64,
}

/// The bucket size for a buffer of `bytes`: the next power of two, at least
/// [`MIN_BUCKET`], but never more than `limit`, the largest buffer the
/// device allows (a multiple of 4; `bytes ≤ limit` is checked before). At
/// most half of a buffer is wasted.
pub(crate) fn bucket(bytes: u64, limit: u64) -> u64 {
    debug_assert!(bytes <= limit);
    bytes.max(MIN_BUCKET).next_power_of_two().min(limit)
}

/// Locks a mutex, carrying on if another thread panicked while holding it
/// (the data it guards stays consistent: every update is one push or pop).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Pool {
    /// An empty pool creating buffers on `device`.
    pub(crate) fn new(device: wgpu::Device) -> Arc<Mutex<Pool>> {
        let limits = device.limits();
        let max_readback = limits.max_buffer_size & !3;
        Arc::new(Mutex::new(Pool {
            device,
            max_storage: limits.max_storage_buffer_binding_size.min(max_readback) & !3,
            max_readback,
            clean: HashMap::new(),
            dirty: HashMap::new(),
            next_id: 0,
            created: 0,
            created_bytes: 0,
        }))
    }

    /// A buffer of at least `bytes` for `purpose`: a free one of the right
    /// bucket if there is one that `usage` allows, else a new one.
    pub(crate) fn take(
        pool: &Arc<Mutex<Pool>>,
        purpose: Purpose,
        bytes: u64,
        usage: Use,
    ) -> GpuBuffer {
        let mut p = lock(pool);
        let limit = match purpose {
            Purpose::Storage => p.max_storage,
            Purpose::Readback => p.max_readback,
        };
        let size = bucket(bytes, limit);
        let key = (purpose, size);
        // The lowest-numbered buffer of the bucket that `usage` allows: for
        // a recorded command any free one, dirty or clean (so that which one
        // it gets does not depend on when the others were freed relative to
        // the last submit); for an upload a clean one.
        let lowest = |list: Option<&Vec<Free>>| list.and_then(|l| l.last()).map(|f| f.1);
        let from_dirty = match usage {
            Use::Recorded => match (lowest(p.dirty.get(&key)), lowest(p.clean.get(&key))) {
                (Some(dirty), Some(clean)) => dirty < clean,
                (dirty, _) => dirty.is_some(),
            },
            Use::QueueWrite => false,
        };
        let list = if from_dirty { &mut p.dirty } else { &mut p.clean };
        let reused = list.get_mut(&key).and_then(Vec::pop);
        let (buffer, id) = reused.unwrap_or_else(|| {
            p.created += 1;
            p.created_bytes += size;
            p.next_id += 1;
            let buffer = p.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(match purpose {
                    Purpose::Storage => "minimax tensor",
                    Purpose::Readback => "minimax readback",
                }),
                size,
                usage: purpose.usages(),
                mapped_at_creation: false,
            });
            (buffer, p.next_id)
        });
        GpuBuffer { buffer, key, id, pool: Arc::downgrade(pool) }
    }

    /// Called right after a submit: every command recorded so far has been
    /// handed to the queue, so the buffers freed meanwhile are clean again.
    pub(crate) fn submitted(&mut self) {
        for (key, buffers) in self.dirty.drain() {
            let clean = self.clean.entry(key).or_default();
            for free in buffers {
                put(clean, free);
            }
        }
    }

    /// How many free buffers the pool holds.
    pub(crate) fn free_count(&self) -> usize {
        self.clean.values().chain(self.dirty.values()).map(Vec::len).sum()
    }
}

/// A pooled GPU buffer; goes back to the pool (as dirty) when dropped.
pub(crate) struct GpuBuffer {
    buffer: wgpu::Buffer,
    key: Key,
    id: u64,
    pool: Weak<Mutex<Pool>>,
}

impl GpuBuffer {
    /// The wgpu buffer.
    pub(crate) fn raw(&self) -> &wgpu::Buffer {
        &self.buffer
    }

    /// Its size in bytes (its bucket's).
    pub(crate) fn size(&self) -> u64 {
        self.key.1
    }

    /// The buffer's number, unique in its pool and kept when the buffer is
    /// recycled: the bind-group cache (`context.rs`) is keyed by it.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for GpuBuffer {
    fn drop(&mut self) {
        // If the backend itself is gone, so is the pool: let wgpu free it.
        if let Some(pool) = self.pool.upgrade() {
            put(lock(&pool).dirty.entry(self.key).or_default(), (self.buffer.clone(), self.id));
        }
    }
}

impl std::fmt::Debug for GpuBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} buffer of {} bytes", self.key.0, self.key.1)
    }
}

#[cfg(test)]
mod tests {
    use super::{bucket, put};

    #[test]
    fn a_bucket_hands_out_its_lowest_numbered_buffer_whatever_the_order_of_return() {
        for order in [[3, 1, 4, 2], [1, 2, 3, 4], [4, 3, 2, 1], [2, 4, 1, 3]] {
            let mut list = Vec::new();
            for id in order {
                put(&mut list, ((), id));
            }
            let popped: Vec<u64> = std::iter::from_fn(|| list.pop().map(|(_, id)| id)).collect();
            assert_eq!(popped, [1, 2, 3, 4], "returned in the order {order:?}");
        }
    }

    #[test]
    fn buckets_are_powers_of_two_of_at_least_256_bytes() {
        let no_limit = u64::MAX - 3; // the largest multiple of 4
        assert_eq!(bucket(0, no_limit), 256);
        assert_eq!(bucket(4, no_limit), 256);
        assert_eq!(bucket(256, no_limit), 256);
        assert_eq!(bucket(257, no_limit), 512);
        assert_eq!(bucket(3 * 1024 * 1024, no_limit), 4 * 1024 * 1024);
    }

    #[test]
    fn no_bucket_is_larger_than_the_device_allows() {
        // A limit that is no power of two, as many are (lavapipe's
        // max_buffer_size is 2³¹ - 1; wgpu's default binding 2²⁷): 70 MB
        // fit, but their power-of-two bucket, 128 MiB, would not.
        let limit = 100_000_000;
        assert_eq!(bucket(70_000_000, limit), limit);
        assert_eq!(bucket(limit, limit), limit);
        assert_eq!(bucket(40_000_000, limit), 1 << 26);
        let limit = (u32::MAX as u64) & !3; // 2³² - 4
        assert_eq!(bucket(3 << 30, limit), limit);
    }
}
