//! What an IDX file may cost in memory (issue 20, item 9), measured by this
//! binary's own counting allocator: the most bytes held at once while a
//! file is read.
//!
//! - a header that claims 1,369,568 images of 28×28 (1 GiB less 512 bytes,
//!   under [`MAX_BYTES`]) over a stream that holds a few kilobytes is refused,
//!   naming the file, the claim and the limit, having held about what the
//!   stream held, never the claim;
//! - a gzip bomb that really holds what it claims (1 GiB of zeros in about
//!   1 MB) is read into its bytes and no more: about 1 GiB at the peak, not
//!   the 5 GiB of bytes plus `f32` values it took when sets were held in
//!   `f32`.
//!
//! The two share the allocator's peak, so they take turns (one lock).

use flate2::write::GzEncoder;
use flate2::Compression;
use minimax_io::datasets::{read_idx_images, read_idx_pair, DatasetError, MAX_BYTES};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

/// The system allocator, counting the bytes held now and the most held.
struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn hold(bytes: usize) {
    let now = HELD.fetch_add(bytes, Relaxed) + bytes;
    PEAK.fetch_max(now, Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        hold(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        hold(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(layout.size(), Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as the block growing (or shrinking) in place: a large
        // block's pages are moved, not copied, by glibc's realloc (mremap),
        // which the peak resident size below checks.
        match new_size.checked_sub(layout.size()) {
            Some(more) => hold(more),
            None => _ = HELD.fetch_sub(layout.size() - new_size, Relaxed),
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

static TURNS: Mutex<()> = Mutex::new(());

/// The most bytes held at once beyond those held before, while `f` runs.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = HELD.load(Relaxed);
    PEAK.store(before, Relaxed);
    let out = f();
    (out, PEAK.load(Relaxed) - before)
}

/// This process's peak resident size in bytes (`VmHWM`), after resetting
/// it to the current size: `None` where /proc cannot do that (not Linux).
fn peak_resident_during<T>(f: impl FnOnce() -> T) -> (T, Option<usize>) {
    let hwm = || -> Option<usize> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        Some(line.split_whitespace().nth(1)?.parse::<usize>().ok()? * 1024)
    };
    let rss = || -> Option<usize> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        Some(line.split_whitespace().nth(1)?.parse::<usize>().ok()? * 1024)
    };
    // "5" resets the peak to the current resident size (Linux 4.0 on).
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = rss();
    let out = f();
    let peak = match (reset, before, hwm()) {
        (true, Some(b), Some(h)) => Some(h.saturating_sub(b)),
        _ => None,
    };
    (out, peak)
}

/// The bomb's claim: 1,369,568 images of 28×28.
const COUNT: usize = 1_369_568;
const SIDE: usize = 28;
const CLAIM: usize = COUNT * SIDE * SIDE; // 1,073,741,312 bytes

fn header(magic: u32, dims: &[usize]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for &d in dims {
        out.extend((d as u32).to_be_bytes());
    }
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn a_header_claiming_1369568_images_over_a_short_stream_is_refused_naming_claim_and_limit() {
    let _turn = TURNS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train-images-idx3-ubyte.gz");
    // The header's claim, then 1,000 images' worth of bytes.
    let mut file = header(0x0803, &[COUNT, SIDE, SIDE]);
    file.extend(vec![7u8; 1000 * SIDE * SIDE]);
    std::fs::write(&path, gzip(&file)).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 10_000, "a small file");
    const { assert!(CLAIM < MAX_BYTES, "a claim the header check alone lets through") };

    let started = std::time::Instant::now();
    let (err, peak) = peak_during(|| read_idx_images(&path).unwrap_err());
    let took = started.elapsed();
    assert!(
        matches!(err, DatasetError::Truncated { expected: CLAIM, found: 784_000, .. }),
        "{err}"
    );
    let text = err.to_string();
    for part in [
        path.display().to_string(),
        format!("[{COUNT}, {SIDE}, {SIDE}]"),
        format!("{CLAIM} bytes"),
        format!("the limit is {MAX_BYTES}"),
        "the file holds 784000".to_string(),
    ] {
        assert!(text.contains(&part), "{part:?} missing from: {text}");
    }
    // What the stream held (784 kB) and a growth step (1 MiB) and the
    // decoder's buffers, never the claim.
    assert!(peak < 4 << 20, "held {peak} bytes at the peak reading a 784 kB stream");
    println!("refused in {took:?}, {peak} bytes held at the peak: {text}");
}

#[test]
fn a_gzip_bomb_that_holds_its_claim_costs_its_bytes_not_their_f32s() {
    let _turn = TURNS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("bomb-images.gz");
    let labels = dir.path().join("bomb-labels.gz");
    // 1 GiB of zeros in about 1 MB: the header in one gzip member, then one
    // member of 1 MiB of zeros written again and again (a file of several
    // members stands for their contents joined), then the rest.
    let block = gzip(&vec![0u8; 1 << 20]);
    let mut file = gzip(&header(0x0803, &[COUNT, SIDE, SIDE]));
    for _ in 0..CLAIM >> 20 {
        file.extend(&block);
    }
    file.extend(gzip(&vec![0u8; CLAIM % (1 << 20)]));
    write_file(&images, &file);
    assert!(std::fs::metadata(&images).unwrap().len() < 2 << 20, "about 1 MB");
    let mut label_file = header(0x0801, &[COUNT]);
    label_file.extend((0..COUNT).map(|i| (i % 10) as u8));
    write_file(&labels, &gzip(&label_file));

    let ((set, peak), resident) =
        peak_resident_during(|| peak_during(|| read_idx_pair(&images, &labels).unwrap()));
    assert_eq!((set.len(), set.rows, set.cols), (COUNT, SIDE, SIDE));
    assert_eq!(set.images.len(), CLAIM);
    // The bytes, their last growth step (an eighth), the labels and the
    // decoders' buffers: under 1.2 GiB. Held as f32 as well, it was over 5.
    let bound = CLAIM + CLAIM / 8 + COUNT + (16 << 20);
    assert!(peak <= bound, "held {peak} bytes at the peak for {CLAIM} bytes of pixels");
    // Resident, only the bytes written count: the pixels, the labels, the
    // buffers (a copy on growth would show here as twice the pixels).
    if let Some(resident) = resident {
        let bound = CLAIM + CLAIM / 16;
        assert!(resident <= bound, "{resident} bytes resident at the peak for {CLAIM} of pixels");
    }
    println!(
        "read {CLAIM} bytes of pixels holding {peak} bytes at the peak, \
         {resident:?} more resident"
    );
}

fn write_file(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}
