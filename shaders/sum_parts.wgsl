// sum_parts.wgsl: out[e] = Σ_z parts[z·n + e], the sum of `count` slices of
// n values each, one invocation per element (the second pass of
// conv2d_gemm.wgsl's split sums). The slices are added in order z = 0, 1,
// …, so the result does not depend on the grid. count ≤ 65 535 (it is a
// grid dimension of the first pass), within llvmpipe's loop limit.
//
// Bindings:
//   0  params  uniform
//   1  parts   read        [count, n]
//   2  out     read_write  [n]

struct Params {
    n: u32,      // elements of one slice, and of out
    count: u32,  // slices
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> parts: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const WORKGROUP_SIZE: u32 = 256u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let e = (group.y * groups.x + group.x) * WORKGROUP_SIZE + lane;
    if e >= params.n {
        return;
    }
    var acc = 0.0;
    for (var z = 0u; z < params.count; z++) {
        acc += parts[z * params.n + e];
    }
    out[e] = acc;
}
