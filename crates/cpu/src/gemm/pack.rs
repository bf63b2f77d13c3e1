//! Packing: copying blocks of `op(A)` and `op(B)` into the order the
//! micro-kernel reads them, and the reusable buffers they are copied into.
//!
//! A packed `A` block is a run of `MR`-row panels; in each panel, step `p`
//! holds the `MR` values of column `p`, so the kernel reads it front to back:
//!
//! ```text
//! op(A) rows i..i+MR, cols p0..p0+kc   ->   [a(i,p0) a(i+1,p0) .. a(i+5,p0)] [a(i,p0+1) ..] ..
//! ```
//!
//! A packed `B` block is a run of `NR`-column panels; step `p` holds the `NR`
//! values of row `p`. Panels are zero-padded past the block's edge, so the
//! kernel always sees full `[MR, NR]` tiles.

use super::MicroKernel;
use std::sync::Mutex;

/// A read-only matrix view: element `(i, j)` is `data[i * row_stride + j * col_stride]`.
///
/// A row-major `[r, c]` matrix has strides `(c, 1)`; its transpose is the
/// same storage with the strides swapped, `(1, c)`. This is how packing
/// absorbs the `ta`/`tb` flags: nothing else ever sees a transpose.
#[derive(Clone, Copy)]
pub(super) struct View<'a> {
    data: &'a [f32],
    row_stride: usize,
    col_stride: usize,
}

impl<'a> View<'a> {
    /// `op(x)` for a row-major `x` stored `[rows, cols]`: `x` itself, or its
    /// transpose when `transposed`.
    pub(super) fn new(data: &'a [f32], cols: usize, transposed: bool) -> View<'a> {
        if transposed {
            View { data, row_stride: 1, col_stride: cols }
        } else {
            View { data, row_stride: cols, col_stride: 1 }
        }
    }

    /// Whether rows lie contiguously in memory (the view is not transposed);
    /// otherwise columns do.
    fn rows_contiguous(&self) -> bool {
        self.col_stride == 1
    }

    /// Everything from `(i, j)` on, in memory order.
    fn from(&self, i: usize, j: usize) -> &'a [f32] {
        &self.data[i * self.row_stride + j * self.col_stride..]
    }

    /// The `len` elements that are contiguous in memory from `(i, j)`: along
    /// row `i` if [`View::rows_contiguous`], else down column `j`.
    fn run(&self, i: usize, j: usize, len: usize) -> &'a [f32] {
        let start = i * self.row_stride + j * self.col_stride;
        &self.data[start..start + len]
    }
}

// Each packer picks the loop order that reads memory contiguously: a whole
// panel step at once when the step is contiguous in the source, otherwise
// one source run at a time, scattered into the panel with a stride.

/// Packs rows `i0..i0 + mc`, columns `p0..p0 + kc` of `a` into `MR`-row
/// panels in `out` (panel `q` is `out[q*MR*kc..][..MR*kc]`, element `(r, p)`
/// at `p*MR + r`). Rows past `mc` are zero.
///
/// `inline(always)` so that it is compiled into the caller's SIMD copy
/// (`MicroKernel::simd`), as [`pack_b`] is.
#[inline(always)]
pub(super) fn pack_a<K: MicroKernel>(
    kernel: K,
    a: View,
    i0: usize,
    mc: usize,
    p0: usize,
    kc: usize,
    out: &mut [f32],
) {
    let panels = out[..mc.next_multiple_of(K::MR) * kc].chunks_exact_mut(K::MR * kc);
    for (q, panel) in panels.enumerate() {
        let i = i0 + q * K::MR; // first row of this panel
        let live = K::MR.min(mc - q * K::MR); // rows of this panel inside the block
        if live < K::MR {
            panel.fill(0.0);
        }
        if a.rows_contiguous() {
            // Each row of the panel is a run in the source.
            transpose_runs(kernel, a.from(i, p0), a.row_stride, live, kc, panel, K::MR);
        } else if live == K::MR {
            // A whole panel: `MR` contiguous values per step, a copy of a
            // length known at compile time (a few vector moves; with the
            // length `live` it was a call to `memcpy` per step).
            for (p, step) in panel.chunks_exact_mut(K::MR).enumerate() {
                step.copy_from_slice(a.run(i, p0 + p, K::MR));
            }
        } else {
            for (p, step) in panel.chunks_exact_mut(K::MR).enumerate() {
                step[..live].copy_from_slice(a.run(i, p0 + p, live));
            }
        }
    }
}

/// Packs rows `p0..p0 + kc`, columns `j0..j0 + nc` of `b` into `NR`-column
/// panels in `out` (panel `q` is `out[q*NR*kc..][..NR*kc]`, element `(p, j)`
/// at `p*NR + j`). Columns past `nc` are zero.
#[inline(always)]
pub(super) fn pack_b<K: MicroKernel>(
    kernel: K,
    b: View,
    p0: usize,
    kc: usize,
    j0: usize,
    nc: usize,
    out: &mut [f32],
) {
    if b.rows_contiguous() {
        return pack_b_by_rows::<K>(b, p0, kc, j0, nc, out);
    }
    // Transposed: each column of a panel is contiguous in the source.
    let panels = out[..nc.next_multiple_of(K::NR) * kc].chunks_exact_mut(K::NR * kc);
    for (q, panel) in panels.enumerate() {
        let j = j0 + q * K::NR; // first column of this panel
        let live = K::NR.min(nc - q * K::NR); // columns of this panel inside the block
        if live < K::NR {
            panel.fill(0.0);
        }
        transpose_runs(kernel, b.from(p0, j), b.col_stride, live, kc, panel, K::NR);
    }
}

/// `panel[p * width + c] = src[c * lane_stride + p]` for lanes `c < live`
/// and steps `p < steps`: one run per lane, contiguous in the source,
/// dealt out to that lane of every step of a panel `width` wide (the rows
/// of a row-major `A` into an `A` panel, the columns of a transposed `B`
/// into a `B` panel). Blocks of 16 steps × up to 16 lanes go through the
/// kernel's in-register transpose where it has one; the rest (everything,
/// without one) a float at a time.
#[inline(always)]
fn transpose_runs<K: MicroKernel>(
    kernel: K,
    src: &[f32],
    lane_stride: usize,
    live: usize,
    steps: usize,
    panel: &mut [f32],
    width: usize,
) {
    let mut done = 0; // steps before `done` are packed, for every lane
    'blocks: while done + 16 <= steps {
        let block = &mut panel[done * width..];
        let mut c = 0; // lanes before c are packed for this block
        while c < live {
            let lanes = (live - c).min(16);
            let run = &src[c * lane_stride + done..];
            if !kernel.transpose16(run, lane_stride, lanes, &mut block[c..], width) {
                break 'blocks; // no in-register transpose: the loop below does it all
            }
            c += lanes;
        }
        done += 16;
    }
    for c in 0..live {
        let run = &src[c * lane_stride + done..c * lane_stride + steps];
        for (step, &v) in panel[done * width..].chunks_exact_mut(width).zip(run) {
            step[c] = v;
        }
    }
}

/// [`pack_b`] for a `B` whose rows are contiguous (not transposed), source
/// row by source row: each row's `nc` values are read front to back (one
/// stream the prefetcher follows, from L3 for a large weight matrix) and
/// dealt out, `NR` at a time, to step `p` of every panel. Panel by panel
/// instead, each step read 128 bytes from another row of the source.
#[inline(always)]
fn pack_b_by_rows<K: MicroKernel>(
    b: View,
    p0: usize,
    kc: usize,
    j0: usize,
    nc: usize,
    out: &mut [f32],
) {
    let (full, rest) = (nc / K::NR, nc % K::NR); // whole panels, columns of the last
    let panel_len = K::NR * kc;
    if rest > 0 {
        out[full * panel_len..(full + 1) * panel_len].fill(0.0); // zero padding
    }
    for p in 0..kc {
        let row = b.run(p0 + p, j0, nc);
        for (q, values) in row.chunks_exact(K::NR).enumerate() {
            let step = &mut out[q * panel_len + p * K::NR..][..K::NR];
            step.copy_from_slice(values);
        }
        if rest > 0 {
            let step = &mut out[full * panel_len + p * K::NR..][..rest];
            step.copy_from_slice(&row[full * K::NR..]);
        }
    }
}

/// A packing buffer whose usable part starts on a 64-byte cache-line
/// boundary, so each 16-float step of a `B` panel is exactly one cache line
/// and no SIMD load straddles two.
///
/// Buffers are recycled through a small pool: a fresh multi-megabyte
/// allocation per product would cost a page fault per 4 KiB touched, which
/// measurably slows products of a few hundred rows.
pub(super) struct PackBuffer {
    buf: Vec<f32>,
    start: usize,
    len: usize,
}

/// Buffers returned by finished products, ready for the next one.
///
/// Which spare a product gets must not depend on the order in which the
/// parts of the last job ended (that is timing): so `take` picks the
/// smallest spare that fits, else the largest to grow, and a full pool
/// keeps the larger buffers. After a few steps of the same products every
/// spare fits every request and nothing is allocated (before, the last
/// one returned was handed out whatever its size, and a step now and then
/// grew one: `tests/alloc_steady_state.rs` caught it, about one run in
/// twelve on a loaded machine).
static SPARE: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());
/// At most this many spare buffers are kept: an A and a B panel buffer for
/// each part of a product split in two, for two products at once (two
/// trainers, or tests, on two cores).
const MAX_SPARE: usize = 8;
/// Slack so the usable part can start on a cache line: 16 floats = 64 bytes.
const SLACK: usize = 16;

impl PackBuffer {
    /// A buffer of at least `len` floats (contents unspecified: packing
    /// overwrites every element it later reads).
    pub(super) fn take(len: usize) -> PackBuffer {
        let need = len + SLACK;
        let spare = SPARE.lock().ok().and_then(|mut pool| {
            let fits =
                (0..pool.len()).filter(|&i| pool[i].len() >= need).min_by_key(|&i| pool[i].len());
            let i = fits.or_else(|| (0..pool.len()).max_by_key(|&i| pool[i].len()))?;
            Some(pool.swap_remove(i))
        });
        let mut buf = spare.unwrap_or_default();
        if buf.len() < need {
            buf.resize(need, 0.0);
        }
        let start = buf.as_ptr().align_offset(64).min(SLACK);
        PackBuffer { buf, start, len }
    }

    /// The usable, cache-line-aligned part.
    pub(super) fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.buf[self.start..self.start + self.len]
    }
}

impl Drop for PackBuffer {
    fn drop(&mut self) {
        if let Ok(mut pool) = SPARE.lock() {
            let buf = std::mem::take(&mut self.buf);
            if pool.len() < MAX_SPARE {
                pool.push(buf);
            } else if let Some(smallest) = pool.iter_mut().min_by_key(|b| b.len()) {
                if smallest.len() < buf.len() {
                    *smallest = buf; // keep the larger; the smaller is freed
                }
            }
        }
    }
}
