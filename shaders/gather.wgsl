// gather.wgsl: rows of a matrix picked by index, and the adjoint, which
// adds rows back where they came from.
//
//   gather_rows       out[i, :] = x[idx[i], :]          x [rows, cols] -> out [n, cols]
//   scatter_add_rows  dx[r, :] = Σ_{i : idx[i] = r} dy[i, :]
//                                                       dy [n, cols]   -> dx [rows, cols]
//
// Both run one invocation per element of the [n, cols] side (out, dy).
//
// scatter_add_rows uses no atomics (WGSL has no float atomics, and their
// order would vary from run to run). Instead the host, when it uploaded
// the indices, chained together the positions that hold the same index
// (`WgpuIndices` in crates/wgsl/src/tensor.rs): next[i] is the next
// position after i with idx[i]'s index, and head[i] is 1 where i is the
// first. The invocation for (i, j) with head[i] = 1 walks that chain,
// adds up dy[·, j] in increasing position, and writes dx[idx[i], j]: one
// writer per element, a fixed order of additions, the same sum as the
// CPU's `out[idx[i]] += dy[i]` loop (bit for bit; WGSL's f32 + is
// correctly rounded). Rows of dx that no index names are not written:
// the host fills dx with zeros first.
//
// Bindings (both entry points):
//   0  params   uniform
//   1  x        read        gather_rows: x [rows, cols];  scatter_add_rows: dy [n, cols]
//   2  indices  read        [3n] u32: idx [n], then next [n], then head [n]
//   3  out      read_write  gather_rows: out [n, cols];   scatter_add_rows: dx [rows, cols]

struct Params {
    n: u32,     // number of indices
    cols: u32,  // columns of every matrix here
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> indices: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const WORKGROUP_SIZE: u32 = 256u; // one invocation per element, as in fill.wgsl

// The end of a chain of positions.
const NONE: u32 = 0xffffffffu;

fn idx(i: u32) -> u32 {
    return indices[i];
}

fn next(i: u32) -> u32 {
    return indices[params.n + i];
}

fn head(i: u32) -> bool {
    return indices[2u * params.n + i] != 0u;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn gather_rows(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let e = (group.y * groups.x + group.x) * WORKGROUP_SIZE + lane;
    if e >= params.n * params.cols {
        return;
    }
    let i = e / params.cols; // row of out
    let j = e % params.cols;
    out[e] = x[idx(i) * params.cols + j];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn scatter_add_rows(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let e = (group.y * groups.x + group.x) * WORKGROUP_SIZE + lane;
    if e >= params.n * params.cols {
        return;
    }
    let i = e / params.cols; // row of dy
    let j = e % params.cols;
    if !head(i) {
        return; // the chain's first position adds this row in
    }
    var s = 0.0;
    var p = i;
    loop {
        s += x[p * params.cols + j]; // dy[p, j]
        p = next(p);
        if p == NONE {
            break;
        }
    }
    out[idx(i) * params.cols + j] = s;
}
