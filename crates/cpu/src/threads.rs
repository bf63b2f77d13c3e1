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
//! `threads() - 1` workers alive, parked. `run_parts` wakes them and
//! they and the calling thread claim the job's parts one by one from a
//! shared counter, so a worker that is slow to wake (on a busy machine)
//! delays nothing: the caller does its parts too. After a job a worker
//! spins briefly before parking again, because the next kernel of a step
//! usually follows within microseconds.
//!
//! **In a browser** (wasm32) there are no threads to start: std's
//! `thread::spawn` fails on `wasm32-unknown-unknown`. There [`threads`] is
//! always 1 (whatever [`with_threads`] or `MINIMAX_THREADS` say), every job
//! runs on the calling thread, and no worker is ever started; natively too,
//! a worker that cannot be started leaves its parts to the caller.
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
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::{self, Thread};
#[cfg(not(target_arch = "wasm32"))]
use std::time::{Duration, Instant};

thread_local! {
    /// The count [`with_threads`] set on this thread, if any.
    static OVERRIDE: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The thread count the CPU backend uses for work started on this thread:
/// [`with_threads`]'s, else `MINIMAX_THREADS`, else the number of cores.
/// On wasm32, always 1 (see the module docs).
pub fn threads() -> usize {
    if cfg!(target_arch = "wasm32") {
        return 1;
    }
    OVERRIDE.with(Cell::get).unwrap_or_else(|| *DEFAULT.get_or_init(from_env))
}

/// The process-wide default, read once.
static DEFAULT: OnceLock<usize> = OnceLock::new();

/// `MINIMAX_THREADS` if it is a whole number ≥ 1, else the number of cores.
fn from_env() -> usize {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    parse_threads(std::env::var("MINIMAX_THREADS").ok().as_deref(), cores)
}

/// The thread count for a `MINIMAX_THREADS` of `var` (unset: `None`): a
/// whole number ≥ 1, else (unset, empty, 0 or not a number) `cores`.
fn parse_threads(var: Option<&str>, cores: usize) -> usize {
    var.and_then(|v| v.trim().parse::<usize>().ok()).filter(|&n| n >= 1).unwrap_or(cores)
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

/// Runs `part(0)`, …, `part(parts - 1)`, each exactly once, on this thread
/// and on the workers, and returns when all are done. A panic in any part
/// is resumed here after all parts have finished.
///
/// Parts are claimed one at a time from a shared counter, by this thread
/// and by the workers alike: if a worker is slow to wake (another program
/// holds its core), this thread simply does more of the parts, and never
/// waits for a worker that has not started one.
pub(crate) fn run_parts(parts: usize, part: &(dyn Fn(usize) + Sync)) {
    if parts <= 1 || cfg!(target_arch = "wasm32") {
        return (0..parts).for_each(part); // no workers on wasm32: all here
    }
    let Ok(mut workers) = WORKERS.try_lock() else {
        return (0..parts).for_each(part); // busy: run here
    };
    let helpers = parts - 1;
    while workers.len() < helpers {
        match Worker::start() {
            Some(worker) => workers.push(worker),
            None => break, // the parts of a worker not started are claimed here
        }
    }
    // A new job: the next generation, no part claimed, none done.
    let generation = (JOB.claims.load(Ordering::Relaxed) >> 32).wrapping_add(1) & 0xFFFF_FFFF;
    JOB.done.store(0, Ordering::Relaxed);
    JOB.panicked.store(false, Ordering::Relaxed);
    JOB.claims.store(generation << 32, Ordering::Release);
    // SAFETY: `part` is called only by whoever claims a part of this
    // generation (see `claim`), a claim succeeds only while parts of it are
    // unclaimed, and this function returns (or unwinds) only after every
    // claimed part is counted done: so `part` (and what it captures) is
    // alive at every call. A late worker finds nothing left to claim and
    // never calls it.
    let job: &'static (dyn Fn(usize) + Sync) = unsafe { std::mem::transmute(part) };
    let task = Task { job, parts, generation, caller: thread::current() };
    for worker in workers.iter().take(helpers) {
        worker.give(task.clone());
    }
    let mine = catch_unwind(AssertUnwindSafe(|| task.run_claims()));
    while JOB.done.load(Ordering::Acquire) < parts {
        thread::park(); // the worker finishing the last part unparks us
    }
    drop(workers);
    if let Err(panic) = mine {
        resume_unwind(panic);
    }
    if JOB.panicked.load(Ordering::Acquire) {
        panic!("a CPU backend worker thread panicked");
    }
}

/// Splits `N` slices of one length into parts of `part_len` elements (the
/// last may be shorter), the same ranges of each, and runs `f(start,
/// parts)` on each part through [`run_parts`], `start` being the parts'
/// offset. `part_len` 0 means one part.
///
/// # Panics
/// If the slices' lengths differ.
pub(crate) fn run_parts_mut<T: Send, const N: usize>(
    data: [&mut [T]; N],
    part_len: usize,
    f: impl Fn(usize, [&mut [T]; N]) + Sync,
) {
    let len = data.first().map_or(0, |d| d.len());
    assert!(data.iter().all(|d| d.len() == len), "run_parts_mut: slices of different lengths");
    let part_len = if part_len == 0 { len.max(1) } else { part_len };
    let parts = len.div_ceil(part_len);
    if parts <= 1 {
        return f(0, data);
    }
    /// The starts of the slices, to be shared by the parts.
    struct Bases<T, const N: usize>([*mut T; N]);
    // SAFETY: only used to make disjoint `&mut` sub-slices of `&mut [T]`s
    // whose `T` is `Send`, each range of each slice by exactly one part.
    unsafe impl<T: Send, const N: usize> Sync for Bases<T, N> {}
    let bases = &Bases(data.map(|d| d.as_mut_ptr()));
    run_parts(parts, &|i| {
        let start = i * part_len;
        let end = len.min(start + part_len);
        // SAFETY: the parts are disjoint ranges inside each slice, each made
        // into a sub-slice by exactly one part, and the slices are borrowed
        // mutably for the whole of `run_parts`, which returns only after
        // every part is done.
        let parts = bases
            .0
            .map(|base| unsafe { std::slice::from_raw_parts_mut(base.add(start), end - start) });
        f(start, parts)
    });
}

/// The workers, started on first use; locked by the job using them.
static WORKERS: Mutex<Vec<Worker>> = Mutex::new(Vec::new());

/// How long a worker spins for its next task before it parks.
#[cfg(not(target_arch = "wasm32"))]
const SPIN: Duration = Duration::from_micros(100);

/// The state of the current job, shared by its caller and the workers.
struct JobState {
    /// The job's generation (high 32 bits) and the next unclaimed part (low
    /// 32 bits), changed together so that a claim for an old job fails.
    claims: AtomicU64,
    /// Parts finished.
    done: AtomicUsize,
    /// Whether a part panicked on a worker.
    panicked: AtomicBool,
}

static JOB: JobState = JobState {
    claims: AtomicU64::new(0),
    done: AtomicUsize::new(0),
    panicked: AtomicBool::new(false),
};

/// A job as handed to a worker: what to run, how many parts, which
/// generation, and whom to wake when the last part is done.
#[derive(Clone)]
struct Task {
    job: &'static (dyn Fn(usize) + Sync),
    parts: usize,
    generation: u64,
    caller: Thread,
}

impl Task {
    /// The next unclaimed part of this task's job, if any is left.
    fn claim(&self) -> Option<usize> {
        let mut current = JOB.claims.load(Ordering::Acquire);
        loop {
            let next = (current & 0xFFFF_FFFF) as usize;
            if current >> 32 != self.generation || next >= self.parts {
                return None;
            }
            match JOB.claims.compare_exchange_weak(
                current,
                current + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(next),
                Err(seen) => current = seen,
            }
        }
    }

    /// Claims and runs parts until none is left, counts each done, and
    /// wakes the caller after the last. A panicking part is counted too,
    /// and claiming goes on; the first panic is resumed at the end.
    fn run_claims(&self) {
        let mut first_panic = None;
        while let Some(i) = self.claim() {
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| (self.job)(i))) {
                JOB.panicked.store(true, Ordering::Release);
                first_panic.get_or_insert(panic);
            }
            if JOB.done.fetch_add(1, Ordering::AcqRel) + 1 == self.parts {
                self.caller.unpark();
            }
        }
        if let Some(panic) = first_panic {
            resume_unwind(panic);
        }
    }
}

/// A worker's mailbox: the latest task, and a flag to find it by spinning.
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
    /// A new worker, parked until it is given a task; `None` if the OS
    /// refused a thread (the job then runs on fewer, the results the same).
    fn start() -> Option<Worker> {
        let mailbox = Arc::new(Mailbox {
            task: Mutex::new(None),
            has_task: AtomicBool::new(false),
            wake: Condvar::new(),
        });
        let inbox = mailbox.clone();
        let spawned = thread::Builder::new().name("minimax-cpu".into()).spawn(move || work(&inbox));
        spawned.ok().map(|_| Worker { mailbox })
    }

    fn give(&self, task: Task) {
        let mut slot = self.mailbox.task.lock().unwrap_or_else(|e| e.into_inner());
        *slot = Some(task);
        self.mailbox.has_task.store(true, Ordering::Release);
        self.mailbox.wake.notify_one();
    }
}

/// A worker's life: take the latest task, claim and run its parts; spin a
/// little for the next task, then sleep until one comes.
fn work(mailbox: &Mailbox) {
    loop {
        // Spinning yields the core at each turn: on a busy machine the
        // thread that would hand over the next task may be waiting for it.
        // (Natively only: on wasm32 no worker starts, and `Instant::now`
        // would panic there.)
        #[cfg(not(target_arch = "wasm32"))]
        {
            let spin_until = Instant::now() + SPIN;
            while !mailbox.has_task.load(Ordering::Acquire) && Instant::now() < spin_until {
                thread::yield_now();
            }
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
        // A panic was counted in `JOB.panicked` for the caller to report.
        let _ = catch_unwind(AssertUnwindSafe(|| task.run_claims()));
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
    fn minimax_threads_is_a_whole_number_else_the_cores() {
        assert_eq!(parse_threads(Some("3"), 2), 3);
        assert_eq!(parse_threads(Some(" 1 "), 2), 1);
        for bad in [None, Some(""), Some("0"), Some("two"), Some("-1"), Some("1.5")] {
            assert_eq!(parse_threads(bad, 2), 2, "{bad:?}");
        }
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
