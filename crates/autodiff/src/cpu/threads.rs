//! How many threads the CPU backend uses, and the few worker threads it
//! keeps to use them.
//!
//! **How many.** [`threads`]: the count set by [`with_threads`] on this
//! thread if any, else the `MINIMAX_THREADS` environment variable (read
//! once, a whole number ≥ 1), else the number of cores
//! (`std::thread::available_parallelism`). Each kernel then decides whether
//! a job is big enough to split (below a size measured per kernel, a second
//! thread costs more than it saves) and into how many parts.
//!
//! **The workers.** Starting a thread costs tens of microseconds, longer
//! than most of a training step's kernels, so the backend keeps up to
//! `threads() - 1` workers alive, parked, and [`run_parts`] hands part `i`
//! of a job to worker `i - 1` while the calling thread does part 0. After
//! finishing a part a worker spins briefly before parking again, because
//! the next kernel of a step usually follows within microseconds.
//!
//! **Determinism.** A job's parts are fixed by its caller from the sizes
//! and the thread count, never by timing, and every kernel here splits only
//! work whose result does not depend on the split (rows of a matmul,
//! elements of a map), so the results are the same bits for any thread
//! count. When the workers are busy with another caller's job (two threads
//! using the backend at once, or a part that itself starts a job), the
//! parts run one after another on the calling thread: the same results,
//! later.

use std::cell::Cell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

thread_local! {
    /// The count [`with_threads`] set on this thread, if any.
    static OVERRIDE: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The thread count the CPU backend uses for work started on this thread:
/// [`with_threads`]'s, else `MINIMAX_THREADS`, else the number of cores.
pub fn threads() -> usize {
    OVERRIDE.with(Cell::get).unwrap_or_else(|| *DEFAULT.get_or_init(from_env))
}

/// The process-wide default, read once.
static DEFAULT: OnceLock<usize> = OnceLock::new();

/// `MINIMAX_THREADS` if it is a whole number ≥ 1, else the number of cores.
fn from_env() -> usize {
    let cores = || thread::available_parallelism().map_or(1, |n| n.get());
    let set = std::env::var("MINIMAX_THREADS").ok();
    set.and_then(|v| v.trim().parse::<usize>().ok()).filter(|&n| n >= 1).unwrap_or_else(cores)
}

/// Runs `f` with the CPU backend using `n` threads (at least 1) for the
/// work `f` starts on this thread; the previous setting is restored after,
/// even if `f` panics. For tests and benches that compare thread counts in
/// one process.
pub fn with_threads<R>(n: usize, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<usize>);
    impl Drop for Restore {
        fn drop(&mut self) {
            OVERRIDE.with(|o| o.set(self.0));
        }
    }
    let _restore = Restore(OVERRIDE.with(|o| o.replace(Some(n.max(1)))));
    f()
}

/// Runs `part(0)`, …, `part(parts - 1)`, part 0 on this thread and the
/// others on the workers if they are free (else here, in order), and
/// returns when all are done. A panic in any part is resumed here after all
/// parts have finished.
pub(crate) fn run_parts(parts: usize, part: &(dyn Fn(usize) + Sync)) {
    if parts <= 1 {
        return (0..parts).for_each(part);
    }
    let Ok(mut workers) = WORKERS.try_lock() else {
        return (0..parts).for_each(part); // busy: run here
    };
    while workers.len() < parts - 1 {
        workers.push(Worker::start());
    }
    let latch = Latch {
        remaining: AtomicUsize::new(parts - 1),
        panicked: AtomicBool::new(false),
        caller: thread::current(),
    };
    // SAFETY: the workers use `part` (and what it captures) and `latch` only
    // until they count their part done on `latch` (a worker touches neither
    // after its decrement), and this function does not return or unwind
    // before the count is zero: the wait below comes before any panic is
    // resumed, and nothing between here and it can panic.
    let (job, latch): (&'static (dyn Fn(usize) + Sync), &'static Latch) =
        unsafe { (std::mem::transmute(part), std::mem::transmute(&latch)) };
    for (i, worker) in workers.iter().take(parts - 1).enumerate() {
        worker.give(Task { job, part: i + 1, latch });
    }
    let mine = catch_unwind(AssertUnwindSafe(|| part(0)));
    while latch.remaining.load(Ordering::Acquire) != 0 {
        thread::park(); // a worker unparks us when the last part is done
    }
    drop(workers);
    if let Err(panic) = mine {
        resume_unwind(panic);
    }
    if latch.panicked.load(Ordering::Acquire) {
        panic!("a CPU backend worker thread panicked");
    }
}

/// Splits `data` into parts of `part_len` elements (the last may be
/// shorter) and runs `f(start, part)` on each, `start` being the part's
/// offset in `data`, through [`run_parts`]. `part_len` 0 means one part.
pub(crate) fn run_parts_mut<T: Send>(
    data: &mut [T],
    part_len: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    let len = data.len();
    let part_len = if part_len == 0 { len.max(1) } else { part_len };
    let parts = len.div_ceil(part_len);
    if parts <= 1 {
        return f(0, data);
    }
    /// The start of `data`, to be shared by the parts.
    struct Base<T>(*mut T);
    // SAFETY: only used to make disjoint `&mut` slices of a `&mut [T]` whose
    // `T` is `Send`, one per part.
    unsafe impl<T: Send> Sync for Base<T> {}
    let base = &Base(data.as_mut_ptr());
    run_parts(parts, &|i| {
        let start = i * part_len;
        let end = len.min(start + part_len);
        // SAFETY: parts are disjoint ranges inside `data`, each made into a
        // slice by exactly one part, and `data` is borrowed mutably for the
        // whole of `run_parts`, which returns only after every part is done.
        let part = unsafe { std::slice::from_raw_parts_mut(base.0.add(start), end - start) };
        f(start, part)
    });
}

/// The workers, started on first use; locked by the job using them.
static WORKERS: Mutex<Vec<Worker>> = Mutex::new(Vec::new());

/// How long a worker spins for its next task before it parks.
const SPIN: Duration = Duration::from_micros(100);

/// Counts a job's outstanding parts; the caller waits for zero.
struct Latch {
    remaining: AtomicUsize,
    panicked: AtomicBool,
    caller: Thread,
}

/// One part of a job for one worker.
struct Task {
    job: &'static (dyn Fn(usize) + Sync),
    part: usize,
    latch: &'static Latch,
}

/// A worker's mailbox: at most one task, and a flag to find it by spinning.
struct Mailbox {
    task: Mutex<Option<Task>>,
    has_task: AtomicBool,
    wake: Condvar,
}

/// A worker thread and its mailbox.
struct Worker {
    mailbox: Arc<Mailbox>,
}

impl Worker {
    fn start() -> Worker {
        let mailbox = Arc::new(Mailbox {
            task: Mutex::new(None),
            has_task: AtomicBool::new(false),
            wake: Condvar::new(),
        });
        let inbox = mailbox.clone();
        thread::Builder::new()
            .name("minimax-cpu".into())
            .spawn(move || work(&inbox))
            .expect("the CPU backend could not start a worker thread");
        Worker { mailbox }
    }

    fn give(&self, task: Task) {
        let mut slot = self.mailbox.task.lock().unwrap_or_else(|e| e.into_inner());
        *slot = Some(task);
        self.mailbox.has_task.store(true, Ordering::Release);
        self.mailbox.wake.notify_one();
    }
}

/// A worker's life: take a task, run it, count it done; spin a little for
/// the next one, then sleep until one comes.
fn work(mailbox: &Mailbox) {
    loop {
        let spin_until = Instant::now() + SPIN;
        while !mailbox.has_task.load(Ordering::Acquire) && Instant::now() < spin_until {
            std::hint::spin_loop();
        }
        let task = {
            let mut slot = mailbox.task.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(task) = slot.take() {
                    mailbox.has_task.store(false, Ordering::Relaxed);
                    break task;
                }
                slot = mailbox.wake.wait(slot).unwrap_or_else(|e| e.into_inner());
            }
        };
        if catch_unwind(AssertUnwindSafe(|| (task.job)(task.part))).is_err() {
            task.latch.panicked.store(true, Ordering::Release);
        }
        // The latch lives on the caller's stack until the count is zero: take
        // what is needed from it before the decrement, touch it not after.
        let caller = task.latch.caller.clone();
        if task.latch.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            caller.unpark();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_runs_once_whatever_the_thread_count() {
        for parts in [1, 2, 3, 7] {
            let hits: Vec<AtomicUsize> = (0..parts).map(|_| AtomicUsize::new(0)).collect();
            run_parts(parts, &|i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1), "{parts} parts");
        }
    }

    #[test]
    fn a_panicking_part_panics_the_caller_after_all_parts_finish() {
        let done = AtomicUsize::new(0);
        let result = catch_unwind(AssertUnwindSafe(|| {
            run_parts(3, &|i| {
                if i == 1 {
                    panic!("part 1 fails");
                }
                done.fetch_add(1, Ordering::Relaxed);
            })
        }));
        assert!(result.is_err());
        assert_eq!(done.load(Ordering::Relaxed), 2);
        // The workers still serve the next job.
        let count = AtomicUsize::new(0);
        run_parts(3, &|_| {
            count.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(count.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn with_threads_sets_and_restores() {
        let outer = threads();
        with_threads(5, || {
            assert_eq!(threads(), 5);
            with_threads(0, || assert_eq!(threads(), 1));
            assert_eq!(threads(), 5);
        });
        assert_eq!(threads(), outer);
    }
}
