// adam.wgsl: one fused step of Adam, in place (as `Cpu::adam_step`):
//
//     m ← β₁ m + (1 - β₁) g
//     v ← β₂ v + (1 - β₂) g²
//     p ← p - lr · m̂ / (√v̂ + ε),   m̂ = m / (1 - β₁ᵗ),  v̂ = v / (1 - β₂ᵗ)
//
// The bias corrections 1 - βᵗ are the same for every element, so the host
// computes them (in f64, then rounds) and passes them in.
//
// Bindings:
//   0  params  uniform
//   1  grad    read        [n]
//   2  param   read_write  [n]  updated in place
//   3  m       read_write  [n]  first moment, updated in place
//   4  v       read_write  [n]  second moment, updated in place

struct Params {
    n: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    bc1: f32,  // 1 - β₁ᵗ
    bc2: f32,  // 1 - β₂ᵗ
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

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
    let g = grad[i];
    let m_new = params.beta1 * m[i] + (1.0 - params.beta1) * g;
    let v_new = params.beta2 * v[i] + (1.0 - params.beta2) * g * g;
    m[i] = m_new;
    v[i] = v_new;
    let m_hat = m_new / params.bc1;
    let v_hat = v_new / params.bc2;
    param[i] = param[i] - params.lr * m_hat / (sqrt(v_hat) + params.eps);
}
