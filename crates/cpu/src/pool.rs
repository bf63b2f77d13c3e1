//! Recycled tensor buffers, so a training step in steady state allocates
//! nothing.
//!
//! A training step makes the same tensors, of the same sizes, every step,
//! and drops them all at its end. So when a [`super::CpuTensor`] that is the
//! last owner of its buffer is dropped, the buffer (the `Arc` with its `Vec`
//! inside, both allocations) goes into a per-thread pool keyed by length,
//! and the next tensor of that length takes it back instead of allocating.
//!
//! A recycled buffer holds old values: every kernel that takes one writes
//! all of its elements before the tensor is handed out. The pool holds at
//! most [`MAX_ELEMENTS`] elements per element type and per thread (extra
//! buffers are freed as usual), so a step with other sizes than the last
//! one cannot grow it without bound.

use minimax_autodiff::Real;
use std::any::Any;
use std::cell::RefCell;
use std::sync::Arc;

/// At most this many elements are kept spare, per element type and thread
/// (64 MiB of `f32`).
pub const MAX_ELEMENTS: usize = 1 << 24;

/// Spare buffers of one element type, grouped by length.
struct Pool<T> {
    /// `(length, buffers of that length)`; a handful of distinct lengths in
    /// a training step, so a linear search is the fast choice.
    by_len: Vec<(usize, Vec<Arc<Vec<T>>>)>,
    /// Elements held in all buffers together.
    elements: usize,
}

impl<T> Pool<T> {
    const fn new() -> Self {
        Pool { by_len: Vec::new(), elements: 0 }
    }
}

thread_local! {
    static POOLS: RefCell<(Pool<f32>, Pool<f64>)> = const { RefCell::new((Pool::new(), Pool::new())) };
}

/// Runs `f` on this thread's pool for `T`; `None` if `T` has none (only
/// `f32` and `f64` do) or the pool is gone (during thread exit).
fn with_pool<T: Real, R>(f: impl FnOnce(&mut Pool<T>) -> R) -> Option<R> {
    POOLS
        .try_with(|pools| {
            let mut pools = pools.try_borrow_mut().ok()?;
            let (f32_pool, f64_pool) = &mut *pools;
            let pool = (f32_pool as &mut dyn Any)
                .downcast_mut::<Pool<T>>()
                .or_else(|| (f64_pool as &mut dyn Any).downcast_mut::<Pool<T>>())?;
            Some(f(pool))
        })
        .ok()
        .flatten()
}

/// A buffer of `len` elements, unshared, holding arbitrary (old) values.
pub fn take<T: Real>(len: usize) -> Arc<Vec<T>> {
    let spare = with_pool::<T, _>(|pool| {
        let (_, buffers) = pool.by_len.iter_mut().find(|(l, _)| *l == len)?;
        let buffer = buffers.pop()?;
        pool.elements -= len;
        Some(buffer)
    });
    spare.flatten().unwrap_or_else(|| Arc::new(vec![T::zero(); len]))
}

/// Keeps `buffer` for a later [`take`] if nobody else holds it and there is
/// room; otherwise drops it.
pub fn give_back<T: Real>(mut buffer: Arc<Vec<T>>) {
    let len = buffer.len();
    if len == 0 || Arc::get_mut(&mut buffer).is_none() {
        return; // shared: another tensor still reads it
    }
    with_pool::<T, _>(|pool| {
        if pool.elements + len > MAX_ELEMENTS {
            return;
        }
        pool.elements += len;
        match pool.by_len.iter_mut().find(|(l, _)| *l == len) {
            Some((_, buffers)) => buffers.push(buffer),
            None => pool.by_len.push((len, vec![buffer])),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_returned_buffer_is_taken_again_and_a_shared_one_is_not() {
        let a = take::<f32>(1234);
        let ptr = Arc::as_ptr(&a);
        give_back(a);
        let b = take::<f32>(1234);
        assert_eq!(Arc::as_ptr(&b), ptr, "the same buffer came back");
        let shared = b.clone();
        give_back(b); // `shared` still holds it: not pooled
        let c = take::<f32>(1234);
        assert_ne!(Arc::as_ptr(&c), ptr);
        assert_eq!((c.len(), shared.len()), (1234, 1234));
    }

    #[test]
    fn the_pool_is_bounded() {
        let held = || with_pool::<f64, _>(|pool| pool.elements).unwrap_or(0);
        let before = held();
        let len = MAX_ELEMENTS / 3 + 1;
        let big: Vec<_> = (0..3).map(|_| take::<f64>(len)).collect();
        big.into_iter().for_each(give_back); // the third does not fit
        assert_eq!(held(), before + 2 * len);
    }
}
