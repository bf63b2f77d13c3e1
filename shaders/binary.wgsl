// binary.wgsl: out = a ∘ b elementwise for ∘ in {+, -, ·, /}, with b
// broadcast by the one rule of `minimax_autodiff::Binary`: b has a's shape,
// or is a row [1, cols], a column [rows, 1] or a scalar [1, 1].
//
// Bindings:
//   0  params  uniform
//   1  a       read        [rows, cols]
//   2  b       read        [rows, cols], [1, cols], [rows, 1] or [1, 1]
//   3  out     read_write  [rows, cols]

struct Params {
    rows: u32,
    cols: u32,
    op: u32,         // ADD, SUB, MUL, DIV
    broadcast: u32,  // SAME, ROW, COL, SCALAR: how b is indexed
}

// The op codes ADD, SUB, MUL, DIV and the broadcast rules SAME, ROW, COL,
// SCALAR: the host appends their declarations, generated from the tables
// in crates/wgsl/src/codes.rs.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const WORKGROUP_SIZE: u32 = 256u; // one invocation per element, as in fill.wgsl

// The index into b for element (i, j) of a (`Broadcast::index` on the CPU).
fn b_index(i: u32, j: u32) -> u32 {
    switch params.broadcast {
        case ROW: { return j; }
        case COL: { return i; }
        case SCALAR: { return 0u; }
        default: { return i * params.cols + j; } // SAME
    }
}

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
    let lhs = a[idx];
    let rhs = b[b_index(idx / params.cols, idx % params.cols)];
    switch params.op {
        case ADD: { out[idx] = lhs + rhs; }
        case SUB: { out[idx] = lhs - rhs; }
        case MUL: { out[idx] = lhs * rhs; }
        default: { out[idx] = lhs / rhs; } // DIV
    }
}
