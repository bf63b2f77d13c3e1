// broadcast.wgsl: repeats a row [1, cols], a column [rows, 1] or a scalar
// [1, 1] to [rows, cols] (the adjoint of sum.wgsl).
//
// Bindings:
//   0  params  uniform
//   1  x       read        [1, cols], [rows, 1] or [1, 1]
//   2  out     read_write  [rows, cols]

struct Params {
    rows: u32,       // of the output
    cols: u32,       // of the output
    broadcast: u32,  // ROW, COL or SCALAR (SAME is a plain copy)
}

// SAME, ROW, COL and SCALAR: the host appends their declarations,
// generated from the table in crates/wgsl/src/codes.rs.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const WORKGROUP_SIZE: u32 = 256u; // one invocation per output element, as in fill.wgsl

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let idx = (group.y * groups.x + group.x) * WORKGROUP_SIZE + lane;
    if idx >= params.rows * params.cols {
        return;
    }
    let i = idx / params.cols;
    let j = idx % params.cols;
    var src = idx; // SAME
    switch params.broadcast {
        case ROW: { src = j; }
        case COL: { src = i; }
        case SCALAR: { src = 0u; }
        default: {}
    }
    out[idx] = x[src];
}
