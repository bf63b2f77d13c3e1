//! The CPU backend's tensor storage is recycled: once a step has run, the
//! same step's kernels allocate nothing (see `crates/autodiff/src/cpu/pool.rs`).
//!
//! A counting global allocator, private to this test binary, counts the
//! allocations made *on the current thread* (so tests running in parallel
//! do not count each other's). Two kinds of step are measured:
//!
//! - the elementwise, reduction, broadcast, column and optimizer kernels on
//!   their own: zero allocations per step in steady state;
//! - a whole taped training step (forward, backward, update): its tensor
//!   storage is recycled too, so the *bytes* it still allocates (the tape's
//!   per-op bookkeeping: nodes, backward closures) do not grow with the
//!   batch. (The number of those allocations, not yet zero, is reported by
//!   `cargo bench --bench train_step -- alloc`.)

use minimax::autodiff::{
    concat_cols, AdamStep, Axis, Backend, Binary, Cpu, CpuTensor, Dist, Shape, Tape, Unary,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting allocations per thread.
struct Counting;

thread_local! {
    /// (allocations, bytes) made on this thread.
    static ALLOCATED: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

fn count(bytes: usize) {
    // `try_with`: the counter may be gone while the thread exits.
    let _ = ALLOCATED.try_with(|c| c.set((c.get().0 + 1, c.get().1 + bytes as u64)));
}

// SAFETY: every call is forwarded unchanged to `System`; counting touches
// only a const-initialised thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// (allocations, bytes) made on this thread by `f`.
fn allocated(f: impl FnOnce()) -> (u64, u64) {
    let before = ALLOCATED.with(Cell::get);
    f();
    let after = ALLOCATED.with(Cell::get);
    (after.0 - before.0, after.1 - before.1)
}

type T32 = CpuTensor<f32>;

/// One "step" of kernels: what a forward, backward and update call, minus
/// matmul. Returns the new parameter, velocity and Adam state.
fn kernel_step(be: Cpu<f32>, step: u32, p: T32, vel: T32, m: T32, v: T32) -> [T32; 4] {
    let shape = Shape::new(500, 5);
    let x = be.random(shape, Dist::Normal { mean: 0.0, std: 1.0 }, step as u64); // [500, 5]
    let h = be.binary(Binary::Add, &x, &p).unwrap(); // + a bias [1, 5]
    let y = be.unary(Unary::Tanh, &h);
    let s = be.unary(Unary::Sigmoid, &y);
    let z = be.binary(Binary::Mul, &s, &be.fill(Shape::scalar(), 0.5)).unwrap();
    let col = be.sum(&z, Some(Axis::Cols)); // [500, 1]
    let both = be.concat_cols(&[&z, &col]).unwrap(); // [500, 6]
    let back = be.slice_cols(&both, 1, 5).unwrap(); // [500, 5]
    let dy = be.broadcast(&be.sum(&back, None), shape).unwrap();
    let dh = be.unary_backward(Unary::Tanh, &h, &y, &dy);
    let dx = be.transpose(&dh); // [5, 500]
    let g = be.sum(&be.transpose(&dx), Some(Axis::Rows)); // [1, 5]
    let (mut p, mut vel, mut m, mut v) = (p, vel, m, v);
    be.sgd_step(&mut p, &g, &mut vel, 1e-3, 0.9).unwrap();
    let hp = AdamStep { lr: 1e-3, beta1: 0.5, beta2: 0.999, eps: 1e-8, t: step };
    be.adam_step(&mut p, &g, &mut m, &mut v, hp).unwrap();
    [p, vel, m, v]
}

#[test]
fn the_cpu_kernels_allocate_nothing_in_steady_state() {
    let be = Cpu::<f32>::new();
    let zeros = || be.fill(Shape::new(1, 5), 0.0);
    let mut state = [zeros(), zeros(), zeros(), zeros()];
    let mut per_step = Vec::new();
    for step in 1..=5 {
        let [p, vel, m, v] = state;
        let mut next = None;
        per_step.push(allocated(|| next = Some(kernel_step(be, step, p, vel, m, v))).0);
        state = next.unwrap();
    }
    // The first step fills the pool; every later one takes from it.
    assert!(per_step[0] > 0, "the first step allocates its buffers: {per_step:?}");
    assert_eq!(&per_step[2..], &[0, 0, 0], "allocations per step: {per_step:?}");
}

/// One taped step of a small moments-fed GAN discriminator, batch `n`:
/// bytes allocated, in steady state.
fn taped_step_bytes(n: usize) -> u64 {
    let be = Cpu::<f32>::new();
    let mut w = be.random(Shape::new(4, 8), Dist::Uniform { lo: -0.5, hi: 0.5 }, 1);
    let mut vel = be.fill(Shape::new(4, 8), 0.0);
    let mut step = |seed: u64| {
        let tape = Tape::new(be);
        let wv = tape.leaf(w.clone());
        let x = tape.random(Shape::new(n, 1), Dist::Normal { mean: 4.0, std: 1.25 }, seed);
        let moments = x.moments().unwrap(); // [1, 4]
        let h = concat_cols(&[&moments.matmul(&wv).unwrap().tanh()]).unwrap(); // [1, 8]
        let loss = h.square().mean();
        let grads = tape.backward(&loss).unwrap();
        let g = grads.get(&wv).unwrap().clone();
        drop((grads, loss, h, moments, x, wv, tape));
        be.sgd_step(&mut w, &g, &mut vel, 1e-3, 0.9).unwrap();
    };
    for seed in 0..3 {
        step(seed);
    }
    allocated(|| step(3)).1
}

#[test]
fn a_taped_step_allocates_no_tensor_storage() {
    // The batch's tensors are [n, 1]: 200 kB each at n = 50 000, so one
    // unrecycled buffer would show. The tape's bookkeeping does not scale.
    let (small, large) = (taped_step_bytes(500), taped_step_bytes(50_000));
    assert!(small < 200_000, "batch 500: {small} bytes per step");
    assert_eq!(small, large, "bytes per step: batch 500 {small}, batch 50 000 {large}");
}
