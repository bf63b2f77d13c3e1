//! The device, and the one pending command encoder that all work is
//! recorded into.
//!
//! Nothing runs when an op is called. Each op *records* a dispatch into the
//! pending encoder; the encoder is finished and submitted only by
//! [`Context::flush`] (submit, don't wait), [`Context::sync`] (submit and
//! wait) and [`Context::download`] (submit, wait, read back). A training
//! step that ends with one `flush` is therefore one submit, however many
//! kernels it launched.
//!
//! ## What one dispatch costs the host, and how little it is kept to
//!
//! On a real GPU a training step of small layers is bound by the host's
//! time per command, not by the kernels. So a dispatch here is:
//!
//! - **one compute pass for many dispatches.** The dispatches are recorded
//!   into one open compute pass, ended only when something that cannot go
//!   in a pass comes (a buffer copy, a readback, the submit). Within a
//!   pass, wgpu tracks each dispatch's buffers and inserts a barrier
//!   wherever one dispatch reads or writes what an earlier one wrote, so
//!   the order of the recorded ops is kept (wgpu-core: "compute passes have
//!   a separate usage scope for each dispatch").
//! - **a cached bind group.** A bind group names a kernel's buffers. The
//!   pool hands out buffers in the same order every step (`pool.rs`), so
//!   the same step asks for the same bind groups: they are kept in a cache
//!   keyed by the kernel, the uniform chunk and the buffers' numbers, and a
//!   step in steady state creates none. The kernel's parameters are not
//!   part of the key: they are reached through a dynamic offset
//!   (`uniforms.rs`).
//!
//! [`Stats`] counts dispatches, passes and bind groups created, so both
//! can be checked.

use crate::kernels::{Kernels, ADAM_SLOTS, K, MAX_STORAGE};
use crate::pool::{lock, GpuBuffer, Pool, Purpose, Use};
use crate::readback::oneshot;
use crate::uniforms::{UniformArena, SLOT};
use crate::Stats;
use minimax_autodiff::{Error, Result, Shape};
use std::any::{type_name, TypeId};
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

/// How many submits may be queued ahead of the device before `flush`
/// waits for the oldest: a training loop that only flushes would otherwise
/// let the host run arbitrarily far ahead, holding every step's command
/// buffers and bind groups in memory.
const MAX_IN_FLIGHT: usize = 3;

/// How many distinct placeholder buffers a dispatch may need: Adam over
/// six tensors with one used leaves five slots of three writable bindings.
pub(crate) const PLACEHOLDERS: usize = 3 * (ADAM_SLOTS - 1);

/// Bind groups the cache keeps before it drops those the last submit did
/// not use. A training step uses a few hundred; a test suite trying many
/// shapes would otherwise keep every one it ever made.
const BIND_GROUP_CACHE: usize = 4096;

/// What a bind group is made of: the kernel, the uniform chunk its
/// parameters are in, and the numbers of its storage buffers in binding
/// order (unused places 0; buffer numbers start at 1).
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
struct BindKey {
    kernel: K,
    chunk: u32,
    buffers: [u64; MAX_STORAGE],
}

/// A cached bind group, and the submit that last used it.
struct Cached {
    group: wgpu::BindGroup,
    epoch: u64,
}

/// FxHash (rustc's hasher): a rotate, a xor and a multiply per word. The
/// keys are small integers made by this crate, so a DoS-resistant hash buys
/// nothing, and SipHash over a key of 26 words would cost more than the
/// rest of the lookup.
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_u32(&mut self, word: u32) {
        self.write_u64(word as u64);
    }
    fn write_u8(&mut self, word: u8) {
        self.write_u64(word as u64);
    }
    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Everything the backend owns; shared by every clone of [`crate::Wgpu`].
pub(crate) struct Context {
    pub(crate) device: wgpu::Device,
    queue: wgpu::Queue,
    pub(crate) info: wgpu::AdapterInfo,
    /// The largest tensor buffer this device can both create and bind to
    /// a kernel: the smaller of `max_buffer_size` and
    /// `max_storage_buffer_binding_size`, in whole f32s.
    pub(crate) max_binding: u64,
    kernels: Kernels,
    pool: Arc<Mutex<Pool>>,
    /// See [`Context::placeholder`]; made on first use.
    placeholders: OnceLock<Vec<GpuBuffer>>,
    state: Mutex<State>,
    /// The first error the device reported (validation, out of memory),
    /// returned by the next `flush`, `sync` or `download`.
    error: Arc<Mutex<Option<String>>>,
}

/// What changes while recording.
struct State {
    /// The open compute pass in the pending encoder, if any (declared
    /// before the encoder: it must end first). It holds the encoder locked
    /// until it is dropped, which ends it.
    pass: Option<wgpu::ComputePass<'static>>,
    /// The kernel whose pipeline the open pass has set.
    pass_kernel: Option<K>,
    /// The pending encoder; `None` right after a submit.
    encoder: Option<wgpu::CommandEncoder>,
    /// This submit's kernel parameters.
    uniforms: UniformArena,
    /// The bind groups made so far (see the module docs).
    bind_groups: HashMap<BindKey, Cached, BuildHasherDefault<FxHasher>>,
    /// Submits so far: the age of a cached bind group.
    epoch: u64,
    /// Whether anything (a command or a queued write) awaits a submit.
    pending: bool,
    /// The submits not yet known to be finished, oldest first.
    in_flight: VecDeque<wgpu::SubmissionIndex>,
    /// Counters; buffer creations are counted by the pool and the arena.
    stats: Stats,
}

impl Context {
    /// A context on an opened device.
    pub(crate) fn new(device: wgpu::Device, queue: wgpu::Queue, info: wgpu::AdapterInfo) -> Self {
        // Device errors are values: keep the first one and hand it back from
        // the next flush, sync or download instead of panicking (wgpu's
        // default) in the middle of an op.
        let error = Arc::new(Mutex::new(None));
        let slot = error.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            lock(&slot).get_or_insert_with(|| e.to_string());
        }));
        let limits = device.limits();
        let max_binding = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size) & !3;
        Context {
            pool: Pool::new(device.clone()),
            device,
            queue,
            info,
            max_binding,
            kernels: Kernels::new(),
            placeholders: OnceLock::new(),
            state: Mutex::new(State {
                pass: None,
                pass_kernel: None,
                encoder: None,
                uniforms: UniformArena::new(),
                bind_groups: HashMap::default(),
                epoch: 0,
                pending: false,
                in_flight: VecDeque::new(),
                stats: Stats::default(),
            }),
            error,
        }
    }

    /// Records a device error found by the backend itself.
    pub(crate) fn report(&self, message: String) {
        lock(&self.error).get_or_insert(message);
    }

    /// The first device error since the last call, as an `Err`.
    pub(crate) fn take_error(&self) -> Result<()> {
        match lock(&self.error).take() {
            Some(message) => Err(Error::Device(message)),
            None => Ok(()),
        }
    }

    /// A buffer for a tensor of `shape` that a recorded command will write,
    /// for the ops that cannot return an error (`fill`, `unary`, …). A shape
    /// too large for this adapter is reported as a device error (returned
    /// by the next flush, sync or download) and gets a minimal buffer
    /// (wgpu's bounds checks keep the kernel inside it, and `download`
    /// refuses it).
    pub(crate) fn output(&self, op: &'static str, shape: Shape) -> GpuBuffer {
        let bytes = self.checked_bytes(op, shape).unwrap_or_else(|message| {
            self.report(message);
            0
        });
        Pool::take(&self.pool, Purpose::Storage, bytes, Use::Recorded)
    }

    /// [`Context::output`] for the ops that can return an error (`matmul`,
    /// `broadcast`, …): a shape too large for this adapter is an error now.
    pub(crate) fn try_output(&self, op: &'static str, shape: Shape) -> Result<GpuBuffer> {
        let bytes = self.checked_bytes(op, shape).map_err(Error::Device)?;
        Ok(Pool::take(&self.pool, Purpose::Storage, bytes, Use::Recorded))
    }

    /// The size in bytes of an f32 tensor of `shape`, or why this adapter
    /// cannot hold it. The pool rounds a buffer up to a power of two, but
    /// never past this limit (see `pool.rs`), so what is checked here is
    /// what gets created and bound.
    fn checked_bytes(&self, op: &'static str, shape: Shape) -> std::result::Result<u64, String> {
        let bytes = shape.checked_numel(op).map_err(|e| e.to_string())? as u64 * 4;
        if bytes > self.max_binding {
            return Err(format!(
                "{op}: a tensor of shape {shape} needs {bytes} bytes; this adapter holds at most \
                 {} in one buffer (the smaller of its max_buffer_size and \
                 max_storage_buffer_binding_size)",
                self.max_binding
            ));
        }
        Ok(bytes)
    }

    /// The `i`-th of [`PLACEHOLDERS`] small buffers, each bound to a
    /// writable binding that a dispatch leaves unused (no activation output
    /// of a product, no bias gradient, an empty slot of Adam over several
    /// tensors); the kernel never touches it.
    ///
    /// Why not bind one of the dispatch's own outputs there: WebGPU
    /// forbids one buffer in two writable bindings of a dispatch (Chromium
    /// refuses the command buffer: "writable storage buffer binding
    /// aliasing"), though wgpu's native validation lets it through. So each
    /// unused writable binding gets a buffer of its own.
    pub(crate) fn placeholder(&self, i: usize) -> &GpuBuffer {
        let all = self.placeholders.get_or_init(|| {
            let take = |_| Pool::take(&self.pool, Purpose::Storage, 4, Use::Recorded);
            (0..PLACEHOLDERS).map(take).collect()
        });
        &all[i]
    }

    /// Copies host data into a new buffer.
    ///
    /// `queue.write_buffer` runs at the next submit *before* the recorded
    /// commands; the pool therefore hands us a clean buffer, one that no
    /// unsubmitted command uses (see `pool.rs`).
    pub(crate) fn upload(&self, shape: Shape, data: &[f32]) -> Result<GpuBuffer> {
        let bytes = self.checked_bytes("upload", shape).map_err(Error::Device)?;
        let buffer = Pool::take(&self.pool, Purpose::Storage, bytes, Use::QueueWrite);
        if bytes > 0 {
            self.queue.write_buffer(buffer.raw(), 0, bytemuck::cast_slice(data));
        }
        let mut st = lock(&self.state);
        st.pending = true;
        st.stats.uploads += 1;
        st.stats.upload_bytes += bytes;
        Ok(buffer)
    }

    /// Copies host `u32`s (indices) into a new buffer, as [`Context::upload`].
    pub(crate) fn upload_words(&self, words: &[u32]) -> Result<GpuBuffer> {
        let shape = Shape::new(1, words.len()); // 4 bytes a word, as an f32
        let bytes = self.checked_bytes("upload_indices", shape).map_err(Error::Device)?;
        let buffer = Pool::take(&self.pool, Purpose::Storage, bytes, Use::QueueWrite);
        if bytes > 0 {
            self.queue.write_buffer(buffer.raw(), 0, bytemuck::cast_slice(words));
        }
        let mut st = lock(&self.state);
        st.pending = true;
        st.stats.uploads += 1;
        st.stats.upload_bytes += bytes;
        Ok(buffer)
    }

    /// Records one dispatch of kernel `k` over `groups` workgroups, with
    /// `params` in binding 0 and `buffers` in bindings 1, 2, … (the order
    /// of the shader's header). A grid with no workgroups records nothing.
    ///
    /// Panics if `params` is not the struct of `k`'s row in the kernel
    /// table, or `buffers` not as many as its storage bindings: a bug in
    /// the caller, found the first time it records a dispatch.
    pub(crate) fn dispatch<P: bytemuck::Pod>(
        &self,
        k: K,
        params: &P,
        buffers: &[&GpuBuffer],
        groups: [u32; 3],
    ) {
        if groups.contains(&0) {
            return;
        }
        let kernel = self.kernels.get(&self.device, k); // compiled on first use
        let (name, params_type) = kernel.params;
        assert!(params_type == TypeId::of::<P>(), "{k:?} takes {name}, not {}", type_name::<P>());
        assert_eq!(buffers.len(), kernel.storage, "{k:?}: storage buffers");
        let mut guard = lock(&self.state);
        let st = &mut *guard;
        let (chunk, offset) = st.uniforms.push(&self.device, bytemuck::bytes_of(params));
        let group = self.bind_group(st, k, &kernel.layout, chunk, buffers);
        self.begin_pass(st);
        let pass = st.pass.as_mut().expect("a pass was just begun");
        if st.pass_kernel != Some(k) {
            pass.set_pipeline(&kernel.pipeline);
            st.pass_kernel = Some(k);
        }
        pass.set_bind_group(0, &group, &[offset]);
        pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        st.pending = true;
        st.stats.dispatches += 1;
    }

    /// The bind group of kernel `k` with its parameters in uniform chunk
    /// `chunk` and `buffers` in bindings 1, 2, …: from the cache, or made
    /// now and cached.
    fn bind_group(
        &self,
        st: &mut State,
        k: K,
        layout: &wgpu::BindGroupLayout,
        chunk: usize,
        buffers: &[&GpuBuffer],
    ) -> wgpu::BindGroup {
        assert!(buffers.len() <= MAX_STORAGE, "{k:?}: more storage bindings than MAX_STORAGE");
        let mut key = BindKey { kernel: k, chunk: chunk as u32, buffers: [0; MAX_STORAGE] };
        for (slot, b) in key.buffers.iter_mut().zip(buffers) {
            *slot = b.id();
        }
        let epoch = st.epoch;
        if let Some(cached) = st.bind_groups.get_mut(&key) {
            cached.epoch = epoch;
            return cached.group.clone();
        }
        // Binding 0: one slot of the chunk, its offset given at each use.
        let mut entries = Vec::with_capacity(buffers.len() + 1);
        entries.push(wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: st.uniforms.chunk(chunk),
                offset: 0,
                size: wgpu::BufferSize::new(SLOT),
            }),
        });
        for (i, b) in buffers.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: b.raw().as_entire_binding(),
            });
        }
        let group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout,
            entries: &entries,
        });
        st.stats.bind_groups_created += 1;
        st.bind_groups.insert(key, Cached { group: group.clone(), epoch });
        group
    }

    /// Opens a compute pass in the pending encoder unless one is open.
    fn begin_pass(&self, st: &mut State) {
        if st.pass.is_some() {
            return;
        }
        let pass = self
            .encoder(&mut st.encoder)
            .begin_compute_pass(&wgpu::ComputePassDescriptor::default())
            .forget_lifetime(); // kept in `State` until `end_pass`
        st.pass = Some(pass);
        st.pass_kernel = None;
        st.stats.passes += 1;
    }

    /// Ends the open compute pass, if any, so the encoder can record a copy
    /// or be finished.
    fn end_pass(st: &mut State) {
        st.pass = None; // dropping a pass ends it
        st.pass_kernel = None;
    }

    /// The pending encoder, started if there is none.
    fn encoder<'s>(
        &self,
        encoder: &'s mut Option<wgpu::CommandEncoder>,
    ) -> &'s mut wgpu::CommandEncoder {
        encoder.get_or_insert_with(|| {
            self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("minimax step"),
            })
        })
    }

    /// Records a copy of `bytes` from `src` to `dst`, ordered with the
    /// dispatches around it.
    pub(crate) fn copy(&self, src: &GpuBuffer, dst: &GpuBuffer, bytes: u64) {
        if bytes == 0 {
            return;
        }
        let mut st = lock(&self.state);
        Self::end_pass(&mut st);
        let encoder = self.encoder(&mut st.encoder);
        encoder.copy_buffer_to_buffer(src.raw(), 0, dst.raw(), 0, bytes);
        st.pending = true;
        st.stats.copies += 1;
    }

    /// Submits everything recorded, without waiting. Nothing to submit is
    /// not a submit.
    pub(crate) fn flush(&self) -> Result<()> {
        self.submit(&mut lock(&self.state));
        self.take_error()
    }

    fn submit(&self, st: &mut State) {
        if !st.pending {
            return;
        }
        // The parameter writes run first in this submit, then the commands.
        st.uniforms.write(&self.queue);
        Self::end_pass(st);
        let commands = st.encoder.take().map(|e| e.finish());
        st.in_flight.push_back(self.queue.submit(commands));
        st.pending = false;
        st.stats.submits += 1;
        if st.bind_groups.len() > BIND_GROUP_CACHE {
            let epoch = st.epoch;
            st.bind_groups.retain(|_, cached| cached.epoch == epoch);
        }
        st.epoch += 1;
        // Everything recorded so far is on the queue: buffers freed during
        // recording may now be the target of uploads again.
        lock(&self.pool).submitted();
        if st.in_flight.len() > MAX_IN_FLIGHT {
            let oldest = st.in_flight.pop_front();
            let wait = wgpu::PollType::Wait { submission_index: oldest, timeout: None };
            if let Err(e) = self.device.poll(wait) {
                self.report(format!("waiting for the GPU: {e}"));
            }
        }
    }

    /// Submits everything recorded and waits until the device is done.
    ///
    /// In a browser no thread may wait for the GPU (see `readback.rs`):
    /// there this is an error, and [`crate::Wgpu::download_async`] the way
    /// to wait.
    pub(crate) fn sync(&self) -> Result<()> {
        if cfg!(target_arch = "wasm32") {
            return Err(blocking_in_browser("sync"));
        }
        let mut st = lock(&self.state);
        self.submit(&mut st);
        self.wait()?;
        st.in_flight.clear();
        drop(st);
        self.take_error()
    }

    fn wait(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| Error::Device(format!("waiting for the GPU: {e}")))
    }

    /// Copies the first `bytes` of `src` to the host, blocking: records a
    /// copy into a mappable readback buffer, submits, waits, and maps it.
    /// It is [`Context::download_many`] awaited on this thread, which works
    /// natively only (see `readback.rs`): in a browser it is an error.
    pub(crate) fn download(&self, src: &GpuBuffer, bytes: u64) -> Result<Vec<f32>> {
        #[cfg(target_arch = "wasm32")]
        {
            let _ = (src, bytes);
            Err(blocking_in_browser("download"))
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let mut data = pollster::block_on(self.download_many(&[(src, bytes)]))?;
            Ok(data.pop().expect("one tensor asked for, one read back"))
        }
    }

    /// Copies the first `bytes` of each `(src, bytes)` to the host, in one
    /// submit (with whatever was recorded before it: a training step and
    /// its readback are one submit), one readback buffer and one mapping
    /// each, all asked for before any is awaited.
    ///
    /// Natively the mappings complete inside a blocking poll here; in a
    /// browser the `.await`s give control back to the event loop, which
    /// completes them (see `readback.rs`).
    pub(crate) async fn download_many(&self, srcs: &[(&GpuBuffer, u64)]) -> Result<Vec<Vec<f32>>> {
        // An error already pending, such as the op that made a source
        // finding its shape too large for this adapter, says what went
        // wrong: return it before trying to read anything.
        self.take_error()?;
        // Record one copy per tensor into a mappable buffer, then submit.
        let readbacks: Vec<Option<(GpuBuffer, u64)>> = {
            let mut st = lock(&self.state);
            let readbacks = srcs
                .iter()
                .map(|&(src, bytes)| {
                    (bytes > 0).then(|| {
                        let readback =
                            Pool::take(&self.pool, Purpose::Readback, bytes, Use::Recorded);
                        Self::end_pass(&mut st);
                        let encoder = self.encoder(&mut st.encoder);
                        encoder.copy_buffer_to_buffer(src.raw(), 0, readback.raw(), 0, bytes);
                        st.pending = true;
                        st.stats.readbacks += 1;
                        st.stats.readback_bytes += bytes;
                        (readback, bytes)
                    })
                })
                .collect();
            self.submit(&mut st);
            readbacks
        };
        // Ask for every mapping; each callback sends its result to the
        // future kept beside its buffer.
        let mapped: Vec<_> = readbacks
            .iter()
            .map(|r| {
                r.as_ref().map(|(readback, bytes)| {
                    let (tx, rx) = oneshot();
                    readback
                        .raw()
                        .slice(0..*bytes)
                        .map_async(wgpu::MapMode::Read, move |result| tx.send(result));
                    rx
                })
            })
            .collect();
        // Natively, the callbacks run inside this poll; in a browser it
        // does nothing, and the awaits below let the browser run them.
        self.wait()?;
        let mut data = Vec::with_capacity(srcs.len());
        let mut first_error = None;
        for (readback, mapped) in readbacks.into_iter().zip(mapped) {
            let (Some((readback, bytes)), Some(mapped)) = (readback, mapped) else {
                data.push(Vec::new()); // an empty tensor: nothing to read
                continue;
            };
            match read_mapped(&readback, bytes, mapped.await) {
                Ok(values) => data.push(values),
                // Keep going: every buffer mapped must be unmapped before
                // it goes back to the pool.
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        self.take_error()?;
        Ok(data)
    }

    /// The counters, with the buffer creations of the pool and the arena.
    pub(crate) fn stats(&self) -> Stats {
        let st = lock(&self.state);
        let pool = lock(&self.pool);
        Stats {
            buffers_allocated: pool.created + st.uniforms.created,
            bytes_allocated: pool.created_bytes + st.uniforms.created * UniformArena::CHUNK_BYTES,
            ..st.stats
        }
    }

    /// Zeroes every counter.
    pub(crate) fn reset_stats(&self) {
        let mut st = lock(&self.state);
        st.stats = Stats::default();
        st.uniforms.created = 0;
        let mut pool = lock(&self.pool);
        pool.created = 0;
        pool.created_bytes = 0;
    }

    /// How many free buffers the pool holds (for tests of the pool).
    pub(crate) fn pooled_buffers(&self) -> usize {
        lock(&self.pool).free_count()
    }
}

/// The values of a readback buffer whose mapping finished with `mapped`
/// (`None`: its callback was dropped), copied out (without assuming the
/// mapping is 4-byte aligned); the buffer is unmapped after, so it can go
/// back to the pool.
fn read_mapped(
    readback: &GpuBuffer,
    bytes: u64,
    mapped: Option<std::result::Result<(), wgpu::BufferAsyncError>>,
) -> Result<Vec<f32>> {
    let mapped = mapped.ok_or_else(|| Error::Device("the readback was never mapped".into()))?;
    mapped.map_err(|e| Error::Device(format!("mapping the readback buffer: {e}")))?;
    let slice = readback.raw().slice(0..bytes);
    let data = slice.get_mapped_range().map(|view| bytemuck::pod_collect_to_vec(&view));
    readback.raw().unmap();
    data.map_err(|e| Error::Device(format!("reading the readback buffer: {e}")))
}

/// The error of a blocking wait (`op`: `"download"`, `"sync"`) in a browser.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn blocking_in_browser(op: &str) -> Error {
    Error::Device(format!(
        "Wgpu::{op}: a blocking readback cannot complete in a browser (the GPU answers only \
         after control returns to the event loop): use Wgpu::download_async or \
         Wgpu::download_many_async"
    ))
}
