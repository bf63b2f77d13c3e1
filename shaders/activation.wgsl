// activation.wgsl: the activation f of a layer and its derivative f', for
// the fused kernels (matmul_small.wgsl, matmul_large.wgsl's epilogue and
// bias_act.wgsl). Not a kernel: the host appends this file to each of
// those shaders' sources (WGSL has no `#include`), see
// `crates/wgsl/src/kernels.rs`.
//
// The formulas are those of the matching arms of unary.wgsl, which stays
// the reference: the fused kernels are tested against it. The codes are
// unary.wgsl's op codes with ACT_ in front (ACT_TANH, ACT_SIGMOID,
// ACT_RELU, ACT_LEAKY_RELU, ACT_ELU), plus ACT_NONE for the identity: the
// host appends their declarations, generated from crates/wgsl/src/codes.rs.

// y = f(v); `a` is LEAKY_RELU's slope or ELU's α.
fn act_f(code: u32, a: f32, v: f32) -> f32 {
    switch code {
        // See unary.wgsl: the clamp, and NaN passed through on its own.
        case ACT_TANH: { return select(tanh(clamp(v, -15.0, 15.0)), v, act_is_nan(v)); }
        case ACT_SIGMOID: { return act_sigmoid(v); }
        case ACT_RELU: { return max(v, 0.0); }
        case ACT_LEAKY_RELU: { return select(a * v, v, v > 0.0); }
        case ACT_ELU: { return select(a * (exp(v) - 1.0), v, v > 0.0); }
        default: { return v; } // ACT_NONE
    }
}

// dy/dv given v and y = f(v).
fn act_df(code: u32, a: f32, v: f32, fv: f32) -> f32 {
    switch code {
        // 1 - tanh²v = 1 - y²
        case ACT_TANH: { return 1.0 - fv * fv; }
        // σ(1 - σ) = y(1 - y)
        case ACT_SIGMOID: { return fv * (1.0 - fv); }
        // 1 for v > 0, else 0
        case ACT_RELU: { return select(0.0, 1.0, v > 0.0); }
        // 1 for v > 0, else the slope
        case ACT_LEAKY_RELU: { return select(a, 1.0, v > 0.0); }
        // 1 for v > 0, else α e^v = y + α
        case ACT_ELU: { return select(fv + a, 1.0, v > 0.0); }
        default: { return 1.0; } // ACT_NONE
    }
}

// Whether v is NaN, from its bits, as `is_nan` in unary.wgsl.
fn act_is_nan(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// σ(v) without overflow, as in unary.wgsl.
fn act_sigmoid(v: f32) -> f32 {
    if v >= 0.0 {
        return 1.0 / (1.0 + exp(-v));
    }
    let e = exp(v);
    return e / (1.0 + e);
}
