// random.wgsl: out[i] drawn from a uniform, normal or Bernoulli
// distribution, a line-by-line port of `crates/autodiff/src/rng.rs`.
//
// The generator is counter-based: element i is a pure function of
// (key, i), so every invocation computes its own element with no shared
// state, and the 32 random bits of element i are *exactly* the bits the CPU
// draws. Only u32 arithmetic is used (WGSL has no 64-bit integers; the
// 64-bit seed is folded into the 32-bit `key` on the host by `seed_key`).
// WGSL u32 `*` and `+` wrap on overflow, like Rust's `wrapping_mul/add`.
//
// The floats then differ from the CPU's by rounding only: the CPU finishes
// in f64 and rounds once, here everything is f32.

struct Params {
    n: u32,          // number of elements
    dist: u32,       // UNIFORM, NORMAL or BERNOULLI below
    key: u32,        // rng::seed_key(seed), computed on the host
    threshold: u32,  // BERNOULLI: 1 when the 24-bit draw is < threshold = ceil(p · 2²⁴)
    a: f32,          // UNIFORM: lo;  NORMAL: mean
    b: f32,          // UNIFORM: hi;  NORMAL: std
}

// UNIFORM, NORMAL and BERNOULLI: the host appends their declarations,
// generated from the table in crates/wgsl/src/codes.rs.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>; // [n]

const WORKGROUP_SIZE: u32 = 256u; // as in fill.wgsl
const TAU: f32 = 6.283185307179586;

// rng::pcg_hash: one round of the PCG hash, a 32-bit bijection.
fn pcg_hash(x: u32) -> u32 {
    let state = x * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

// rng::bits: 32 random bits for counter i under key.
fn bits(key: u32, i: u32) -> u32 {
    return pcg_hash(key ^ pcg_hash(i));
}

// rng::uniform (renamed: WGSL reserves `uniform` for the address space): [0, 1)
// with 24 random bits. Exact in f32: a 24-bit integer
// times a power of two.
fn uniform01(key: u32, i: u32) -> f32 {
    return f32(bits(key, i) >> 8u) * (1.0 / 16777216.0);
}

// rng::normal: Box–Muller from the uniforms at counters 2i and 2i + 1,
// z = √(-2 ln u₁) · cos(2π u₂) with u₁ ∈ (0, 1].
// cos(2π u₂) is computed as -cos(2π (u₂ - ½)), the same number, so that the
// argument stays in [-π, π), where Vulkan bounds cos's error.
// -2 ln u₁ ≥ 0, but WGSL lets log be 2⁻²¹ off near 1 (absolute error), so
// for u₁ within 8 · 2⁻²⁴ of 1 (one draw in 2²¹) a GPU may compute it
// slightly negative, and its square root NaN: clamped to 0.
fn normal(key: u32, i: u32) -> f32 {
    let u1 = 1.0 - uniform01(key, i * 2u);
    let u2 = uniform01(key, i * 2u + 1u);
    return sqrt(max(-2.0 * log(u1), 0.0)) * -cos(TAU * (u2 - 0.5));
}

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
    switch params.dist {
        case UNIFORM: {
            out[i] = params.a + (params.b - params.a) * uniform01(params.key, i);
        }
        case NORMAL: {
            out[i] = params.a + params.b * normal(params.key, i);
        }
        default: { // BERNOULLI
            // u < p  ⇔  bits24 · 2⁻²⁴ < p  ⇔  bits24 < ceil(p · 2²⁴): an integer
            // comparison, so the mask matches the CPU's for every p.
            out[i] = select(0.0, 1.0, (bits(params.key, i) >> 8u) < params.threshold);
        }
    }
}
