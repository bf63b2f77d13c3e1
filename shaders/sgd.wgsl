// sgd.wgsl: one fused step of SGD with momentum, in place, as PyTorch does
// it (and as `Cpu::sgd_step`):
//
//     v ← μ v + g
//     p ← p - lr · v
//
// One invocation per parameter; each reads g, p and v once and writes p and
// v once, where the unfused version would be three kernels and two
// temporaries.
//
// Bindings:
//   0  params    uniform
//   1  grad      read        [n]
//   2  param     read_write  [n]  updated in place
//   3  velocity  read_write  [n]  updated in place

struct Params {
    n: u32,
    lr: f32,
    momentum: f32,  // μ
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read_write> velocity: array<f32>;

const WORKGROUP_SIZE: u32 = 256u; // as in fill.wgsl

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let i = (group.y * groups.x + group.x) * WORKGROUP_SIZE + lane;
    if i >= params.n {
        return;
    }
    let v = params.momentum * velocity[i] + grad[i];
    velocity[i] = v;
    param[i] = param[i] - params.lr * v;
}
