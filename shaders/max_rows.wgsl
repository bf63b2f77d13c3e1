// max_rows.wgsl: the maximum of each row, and its adjoint,
//
//   max_rows:           out[i]   = x[i, a_i]
//   max_rows_backward:  dx[i, j] = dy[i] if j = a_i, else 0
//
// where a_i, the row's argmax, is the first column holding its largest
// value, a NaN counting as larger than every number (so a row with a NaN
// gives NaN, as on the CPU: `reference/rows.rs`, `argmax`) and -0 tying
// with +0. The backward finds a_i again from x rather than reading it from
// a buffer the forward wrote: one kernel per direction, nothing saved.
//
// One workgroup per row, as logsumexp.wgsl: each invocation takes a
// strided share of the row (columns lane, lane + 256, …) and keeps the best
// (rank, column) it has seen, then the workgroup combines the 256 pairs as
// a tree. The values are compared by `rank`, an integer made from their
// bits, not by float comparisons: WGSL lets an implementation assume there
// are no ±∞ or NaN, and `max` may drop a NaN, but integers are exact. No
// invocation loops more than 2 · cols / 256 + 8 times (llvmpipe stops a
// shader's loops after 65 535 iterations in all: rows of up to 8 million
// columns).
//
// A row of no columns never gets here: the host fills the forward's output
// with -∞, and the backward's dx is empty.
//
// Bindings (the backward adds dy to the forward's, as unary.wgsl does):
//   0  params  uniform
//   1  x       read        [rows, cols]
//   2  out     read_write  [rows, 1] (forward) or dx [rows, cols] (backward)
//   3  dy      read        [rows, 1] (backward only)

struct Params {
    rows: u32,
    cols: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;

const WORKGROUP_SIZE: u32 = 256u;

// The column of a lane that has seen nothing (a lane past the end of a
// short row): above every real column, so it loses every tie.
const NO_COLUMN: u32 = 0xffffffffu;

// One (rank, column) pair per invocation, for the tree.
var<workgroup> ranks: array<u32, WORKGROUP_SIZE>;
var<workgroup> columns: array<u32, WORKGROUP_SIZE>;

// The value's place in the order the maximum is taken in, as an integer:
// larger numbers have larger ranks, ±0 share one, and every NaN ranks above
// +∞. Read from the bits (IEEE 754 orders positive floats as their bits
// and negative ones reversed). Every rank is above 0, the rank of "nothing".
fn rank(v: f32) -> u32 {
    let bits = bitcast<u32>(v);
    let magnitude = bits & 0x7fffffffu;
    if magnitude > 0x7f800000u {
        return 0xffffffffu; // NaN: above everything
    }
    if magnitude == 0u {
        return 0x80000000u; // -0 and +0 tie
    }
    if (bits >> 31u) == 1u {
        return ~bits; // negative: the larger the magnitude, the lower
    }
    return bits | 0x80000000u; // positive: above every negative
}

// Whether the pair (rank b, column cb) beats (rank a, column ca): a higher
// rank, or the same rank at an earlier column (the first maximum wins).
fn beats(b: u32, cb: u32, a: u32, ca: u32) -> bool {
    return b > a || (b == a && cb < ca);
}

// The argmax of row i, returned to every invocation of the workgroup:
// strided scans, then a tree of log2(256) = 8 rounds. Every invocation of
// the workgroup must call it (it contains barriers).
fn row_argmax(i: u32, lane: u32) -> u32 {
    let row = i * params.cols;
    var best = 0u; // below every rank
    var col = NO_COLUMN;
    for (var j = lane; j < params.cols; j += WORKGROUP_SIZE) {
        let r = rank(x[row + j]);
        if r > best { // strictly: this lane's columns come in order
            best = r;
            col = j;
        }
    }
    ranks[lane] = best;
    columns[lane] = col;
    workgroupBarrier();
    for (var half = WORKGROUP_SIZE / 2u; half > 0u; half = half / 2u) {
        if lane < half {
            let other = lane + half;
            if beats(ranks[other], columns[other], ranks[lane], columns[lane]) {
                ranks[lane] = ranks[other];
                columns[lane] = columns[other];
            }
        }
        workgroupBarrier();
    }
    let result = columns[0];
    workgroupBarrier(); // everyone has read it before the arrays are reused
    return result;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn max_rows(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let i = group.y * groups.x + group.x; // this workgroup's row
    if i >= params.rows {
        return; // the whole workgroup leaves: the barriers stay uniform
    }
    let a = row_argmax(i, lane);
    if lane == 0u {
        out[i] = x[i * params.cols + a]; // the value itself: a NaN's bits too
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn max_rows_backward(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let i = group.y * groups.x + group.x;
    if i >= params.rows {
        return;
    }
    let a = row_argmax(i, lane);
    let g = dy[i];
    let row = i * params.cols;
    // Every element of the row is written (dx may be a recycled buffer).
    for (var j = lane; j < params.cols; j += WORKGROUP_SIZE) {
        out[row + j] = select(0.0, g, j == a);
    }
}
