//! Per-dispatch parameters (sizes, op codes, learning rates) in uniform
//! buffers, written in a way that is ordered with the recorded commands.
//!
//! Every dispatch gets its own 256-byte *slot* in a *chunk* of uniform
//! memory. During recording the parameters only go into a host-side copy
//! ([`UniformArena::push`]); just before the submit, [`UniformArena::write`]
//! copies all of them with one `queue.write_buffer` per chunk. That write
//! runs at the start of the submit, before every recorded command, which is
//! exactly what we want: each slot belongs to one recorded dispatch of that
//! submit, so no command ever sees another's parameters, and the slots are
//! reused only by the next submit, which the queue orders after this one.
//!
//! A kernel's bind group binds a whole chunk with a *dynamic offset*: the
//! slot is chosen when the bind group is set (`set_bind_group(0, bg,
//! &[offset])`), not when it is created. So the bind group of a dispatch
//! depends only on its kernel, its chunk and its storage buffers, and the
//! same step recorded again finds it in the cache (`context.rs`).
//!
//! (The alternative, a fresh uniform buffer per dispatch, would allocate in
//! every step; writing into a buffer an unsubmitted command still reads
//! would be a race, see `pool.rs`.)

/// Bytes per slot: the largest `min_uniform_buffer_offset_alignment` an
/// adapter may ask for, so any slot offset is valid everywhere. Every
/// kernel's parameters fit.
pub(crate) const SLOT: u64 = 256;
/// Slots per chunk: 64 KiB chunks.
const SLOTS_PER_CHUNK: u64 = 256;
const CHUNK: u64 = SLOT * SLOTS_PER_CHUNK;

/// The uniform chunks, and the parameters recorded since the last submit.
pub(crate) struct UniformArena {
    /// Chunks created so far; reused by every submit.
    chunks: Vec<wgpu::Buffer>,
    /// Host copy of this submit's slots, back to back.
    staged: Vec<u8>,
    /// Chunks created since the last reset of the statistics.
    pub(crate) created: u64,
}

impl UniformArena {
    /// An arena with no chunks yet.
    pub(crate) fn new() -> Self {
        UniformArena { chunks: Vec::new(), staged: Vec::new(), created: 0 }
    }

    /// Reserves the next slot for `params`; returns the number of its chunk
    /// (see [`UniformArena::chunk`]) and the offset of the slot in it.
    pub(crate) fn push(&mut self, device: &wgpu::Device, params: &[u8]) -> (usize, u32) {
        assert!(params.len() as u64 <= SLOT, "kernel parameters larger than a uniform slot");
        let slot = self.staged.len() as u64 / SLOT;
        let chunk = (slot / SLOTS_PER_CHUNK) as usize;
        if chunk == self.chunks.len() {
            self.created += 1;
            self.chunks.push(device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("minimax uniforms"),
                size: CHUNK,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }));
        }
        self.staged.extend_from_slice(params);
        self.staged.resize(((slot + 1) * SLOT) as usize, 0);
        (chunk, ((slot % SLOTS_PER_CHUNK) * SLOT) as u32)
    }

    /// Chunk number `i`, as returned by [`UniformArena::push`].
    pub(crate) fn chunk(&self, i: usize) -> &wgpu::Buffer {
        &self.chunks[i]
    }

    /// Queues the writes of every slot recorded since the last submit.
    /// Call right before `queue.submit`.
    pub(crate) fn write(&mut self, queue: &wgpu::Queue) {
        for (chunk, bytes) in self.chunks.iter().zip(self.staged.chunks(CHUNK as usize)) {
            queue.write_buffer(chunk, 0, bytes);
        }
        self.staged.clear();
    }

    /// Size of one chunk, in bytes (for the statistics).
    pub(crate) const CHUNK_BYTES: u64 = CHUNK;
}
