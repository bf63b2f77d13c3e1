// adam_multi.wgsl: one Adam step on up to SLOTS = 6 tensors in one
// dispatch (`Backend::adam_step_many`): the arithmetic of adam.wgsl, which
// stays the reference (a test checks the two agree bit for bit), for every
// parameter of a small network at once.
//
// WGSL cannot choose a binding at run time, so each of the six tensors has
// its four bindings, and a `switch` on the tensor picks them. The host
// lists the tensors' element counts and the workgroup each one starts at;
// workgroup w updates elements (w - start[s]) · 256 + lane of the tensor s
// whose range holds w. The host fills unused slots with the last tensor's
// buffers (they are never touched: no workgroup maps to them).
//
// Bindings (tensor s = 0..5 at 1 + 4s .. 4 + 4s):
//   0       params  uniform
//   1 + 4s  g{s}    read        gradient [n_s]
//   2 + 4s  p{s}    read_write  parameter [n_s], updated in place
//   3 + 4s  m{s}    read_write  first moment [n_s], updated in place
//   4 + 4s  v{s}    read_write  second moment [n_s], updated in place

struct Params {
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    bc1: f32,  // 1 - β₁ᵗ
    bc2: f32,  // 1 - β₂ᵗ
    count: u32, // tensors in this dispatch, 1..SLOTS
    _pad: u32,
    // n[s / 4][s % 4]: elements of tensor s; start[s / 4][s % 4]: its first
    // workgroup (start[count] = the grid's size). vec4s: a uniform array's
    // elements are 16 bytes apart.
    n: array<vec4<u32>, 2>,
    start: array<vec4<u32>, 2>,
}

const SLOTS: u32 = 6u;
const WORKGROUP_SIZE: u32 = 256u; // as in fill.wgsl

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> g0: array<f32>;
@group(0) @binding(2) var<storage, read_write> p0: array<f32>;
@group(0) @binding(3) var<storage, read_write> m0: array<f32>;
@group(0) @binding(4) var<storage, read_write> v0: array<f32>;
@group(0) @binding(5) var<storage, read> g1: array<f32>;
@group(0) @binding(6) var<storage, read_write> p1: array<f32>;
@group(0) @binding(7) var<storage, read_write> m1: array<f32>;
@group(0) @binding(8) var<storage, read_write> v1: array<f32>;
@group(0) @binding(9) var<storage, read> g2: array<f32>;
@group(0) @binding(10) var<storage, read_write> p2: array<f32>;
@group(0) @binding(11) var<storage, read_write> m2: array<f32>;
@group(0) @binding(12) var<storage, read_write> v2: array<f32>;
@group(0) @binding(13) var<storage, read> g3: array<f32>;
@group(0) @binding(14) var<storage, read_write> p3: array<f32>;
@group(0) @binding(15) var<storage, read_write> m3: array<f32>;
@group(0) @binding(16) var<storage, read_write> v3: array<f32>;
@group(0) @binding(17) var<storage, read> g4: array<f32>;
@group(0) @binding(18) var<storage, read_write> p4: array<f32>;
@group(0) @binding(19) var<storage, read_write> m4: array<f32>;
@group(0) @binding(20) var<storage, read_write> v4: array<f32>;
@group(0) @binding(21) var<storage, read> g5: array<f32>;
@group(0) @binding(22) var<storage, read_write> p5: array<f32>;
@group(0) @binding(23) var<storage, read_write> m5: array<f32>;
@group(0) @binding(24) var<storage, read_write> v5: array<f32>;

// One element's update, as adam.wgsl does it.
struct Updated {
    p: f32,
    m: f32,
    v: f32,
}

fn adam(g: f32, p: f32, m: f32, v: f32) -> Updated {
    let m_new = params.beta1 * m + (1.0 - params.beta1) * g;
    let v_new = params.beta2 * v + (1.0 - params.beta2) * g * g;
    let m_hat = m_new / params.bc1;
    let v_hat = v_new / params.bc2;
    return Updated(p - params.lr * m_hat / (sqrt(v_hat) + params.eps), m_new, v_new);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let w = group.y * groups.x + group.x;
    // The tensor whose workgroups include w: the last s with start[s] ≤ w.
    var s = 0u;
    for (var j = 1u; j < params.count; j++) {
        if w >= params.start[j / 4u][j % 4u] {
            s = j;
        }
    }
    let i = (w - params.start[s / 4u][s % 4u]) * WORKGROUP_SIZE + lane;
    if i >= params.n[s / 4u][s % 4u] {
        return;
    }
    switch s {
        case 0u: {
            let r = adam(g0[i], p0[i], m0[i], v0[i]);
            p0[i] = r.p;
            m0[i] = r.m;
            v0[i] = r.v;
        }
        case 1u: {
            let r = adam(g1[i], p1[i], m1[i], v1[i]);
            p1[i] = r.p;
            m1[i] = r.m;
            v1[i] = r.v;
        }
        case 2u: {
            let r = adam(g2[i], p2[i], m2[i], v2[i]);
            p2[i] = r.p;
            m2[i] = r.m;
            v2[i] = r.v;
        }
        case 3u: {
            let r = adam(g3[i], p3[i], m3[i], v3[i]);
            p3[i] = r.p;
            m3[i] = r.m;
            v3[i] = r.v;
        }
        case 4u: {
            let r = adam(g4[i], p4[i], m4[i], v4[i]);
            p4[i] = r.p;
            m4[i] = r.m;
            v4[i] = r.v;
        }
        case 5u: {
            let r = adam(g5[i], p5[i], m5[i], v5[i]);
            p5[i] = r.p;
            m5[i] = r.m;
            v5[i] = r.v;
        }
        default: {}
    }
}
