// fill.wgsl: out[i] = value for every element i < n.
//
// The simplest kernel here, and the pattern every elementwise kernel
// follows: one invocation per element, WORKGROUP_SIZE invocations per
// workgroup, and a 2-D grid of workgroups so that tensors with more than
// 65 535 × 256 elements still fit the per-dimension dispatch limit. The
// Rust side (`grid_1d` in `crates/wgsl/src/backend.rs`) computes the grid
// from the same WORKGROUP_SIZE; a test checks that the constants agree.

struct Params {
    n: u32,      // number of elements to write
    value: f32,  // the value to write
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>; // [n]

// 256 invocations per workgroup: a multiple of every GPU's SIMD width
// (32 on NVIDIA, 32/64 on AMD, 8..32 elsewhere).
const WORKGROUP_SIZE: u32 = 256u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    // Row-major position of this invocation in the 2-D grid of workgroups.
    let i = (group.y * groups.x + group.x) * WORKGROUP_SIZE + lane;
    // The last workgroup is usually only partly inside the tensor.
    if i >= params.n {
        return;
    }
    out[i] = params.value;
}
