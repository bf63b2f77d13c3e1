// unary.wgsl: elementwise maps y = f(x) (entry point `forward`) and their
// backward dx = dy · f'(x) (entry point `backward`), for every variant of
// `minimax_autodiff::Unary`, chosen by an op code in the uniform.
//
// As in `crates/autodiff/src/cpu/unary.rs`, `f` and `df` are two functions
// side by side with one `switch` arm per op, and `df` is given both x and
// y = f(x) because several derivatives are cheapest in terms of the output
// (tanh' = 1 - y², σ' = y(1 - y)).
//
// Bindings (both entry points share 0..2):
//   0  params               uniform
//   1  x                    read        [n]
//   2  out                  read_write  [n]  y for `forward`, dx for `backward`
//   3  y                    read        [n]  `backward` only
//   4  dy                   read        [n]  `backward` only

struct Params {
    n: u32,     // number of elements
    op: u32,    // one of the op codes below
    k: i32,     // POWI: the exponent n
    _pad: u32,
    a: f32,     // ADD_SCALAR, MUL_SCALAR: c;  LEAKY_RELU: slope;  ELU: α;  CLAMP: lo
    b: f32,     // CLAMP: hi
}

// Op codes, one per variant of `Unary`: NEG, ADD_SCALAR, MUL_SCALAR, EXP,
// LOG, SQRT, POWI, TANH, SIGMOID, RELU, LEAKY_RELU, ELU, SOFTPLUS, CLAMP.
// The host appends their declarations, generated from the table in
// crates/wgsl/src/codes.rs (the one place the numbers come from).

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;

const WORKGROUP_SIZE: u32 = 256u; // one invocation per element, as in fill.wgsl

// y = f(x).
fn f(v: f32) -> f32 {
    switch params.op {
        case NEG: { return -v; }
        case ADD_SCALAR: { return v + params.a; }
        case MUL_SCALAR: { return params.a * v; }
        case EXP: { return exp(v); }
        case LOG: { return log(v); }
        case SQRT: { return sqrt(v); }
        case POWI: { return powi(v, params.k); }
        // tanh saturates to ±1 in f32 beyond |x| = 9; clamping first keeps
        // drivers that compute it from e^2x away from inf / inf = NaN. A
        // clamp may turn NaN into -15, so NaN is passed through on its own.
        case TANH: { return select(tanh(clamp(v, -15.0, 15.0)), v, is_nan(v)); }
        case SIGMOID: { return sigmoid(v); }
        case RELU: { return max(v, 0.0); }
        case LEAKY_RELU: { return select(params.a * v, v, v > 0.0); }
        case ELU: { return select(params.a * (exp(v) - 1.0), v, v > 0.0); }
        // ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|), finite for any x.
        case SOFTPLUS: { return max(v, 0.0) + log1p(exp(-abs(v))); }
        case CLAMP: { return min(max(v, params.a), params.b); }
        default: { return v; } // unreachable: the host sends only the codes above
    }
}

// dy/dx, given x and y = f(x).
fn df(v: f32, fv: f32) -> f32 {
    switch params.op {
        // d(-x)/dx = -1
        case NEG: { return -1.0; }
        // d(x + c)/dx = 1
        case ADD_SCALAR: { return 1.0; }
        // d(c·x)/dx = c
        case MUL_SCALAR: { return params.a; }
        // d(e^x)/dx = e^x = y
        case EXP: { return fv; }
        // d(ln x)/dx = 1/x
        case LOG: { return 1.0 / v; }
        // d(√x)/dx = 1/(2√x) = 1/(2y)
        case SQRT: { return 1.0 / (2.0 * fv); }
        // d(x^n)/dx = n x^(n-1); for n = 0, x^0 = 1 is constant and the
        // derivative is 0 (n x^(n-1) would be 0·0⁻¹ = NaN at x = 0)
        case POWI: {
            if params.k == 0 {
                return 0.0;
            }
            return f32(params.k) * powi(v, params.k - 1);
        }
        // d(tanh x)/dx = 1 - tanh²x = 1 - y²
        case TANH: { return 1.0 - fv * fv; }
        // dσ/dx = σ(1 - σ) = y(1 - y)
        case SIGMOID: { return fv * (1.0 - fv); }
        // relu' = 1 for x > 0, else 0 (0 at the kink, as PyTorch)
        case RELU: { return select(0.0, 1.0, v > 0.0); }
        // leaky' = 1 for x > 0, else slope
        case LEAKY_RELU: { return select(params.a, 1.0, v > 0.0); }
        // elu' = 1 for x > 0, else α e^x = y + α
        case ELU: { return select(fv + params.a, 1.0, v > 0.0); }
        // d ln(1 + e^x)/dx = e^x / (1 + e^x) = σ(x)
        case SOFTPLUS: { return sigmoid(v); }
        // clamp' = 1 strictly inside (lo, hi), else 0
        case CLAMP: { return select(0.0, 1.0, v > params.a && v < params.b); }
        default: { return 0.0; }
    }
}

// Whether v is NaN, from its bits: all exponent bits set and a nonzero
// mantissa. (`v != v` says the same, but a compiler may assume there are
// no NaNs and fold it to false.)
fn is_nan(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// σ(x) = 1 / (1 + e^-x), written so e^… never overflows:
// for x ≥ 0 use 1 / (1 + e^-x); for x < 0 use e^x / (1 + e^x).
fn sigmoid(v: f32) -> f32 {
    if v >= 0.0 {
        return 1.0 / (1.0 + exp(-v));
    }
    let e = exp(v);
    return e / (1.0 + e);
}

// x^n by repeated squaring, the algorithm of Rust's `powi` (compiler-rt's
// __powisf2); x^-n = 1 / x^n.
fn powi(v: f32, n: i32) -> f32 {
    var base = v;
    var e = u32(abs(n)); // u32: |i32::MIN| still terminates the loop
    var r = 1.0;
    loop {
        if (e & 1u) == 1u {
            r *= base;
        }
        e = e >> 1u;
        if e == 0u {
            break;
        }
        base *= base;
    }
    return select(r, 1.0 / r, n < 0);
}

// ln(1 + t) for t in [0, 1] (softplus needs it at t = e^-|x|), to a few
// ulps of relative precision however small t is, without calling log at
// all: WGSL lets log be 2⁻²¹ off in absolute terms near 1, which is all of
// ln(1 + t) for t below 1e-6, and a compiler may fold the classic
// correction ln(u) · t / (u - 1), u = 1 + t, back to ln(u) (it did: softplus
// of -16 came out 6% off). Instead, with s = t / (2 + t) in [0, 1/3]:
//
//   ln(1 + t) = 2 atanh(s) = 2 (s + s³/3 + s⁵/5 + … + s¹³/13 + …)
//
// The terms left out are below s¹⁵/15 ≤ s · 3⁻¹⁴/15, a quarter of an f32
// ulp of the result. For t → 0 it is 2 · (t / 2) = t, exactly.
fn log1p(t: f32) -> f32 {
    let s = t / (2.0 + t);
    let s2 = s * s;
    let series = 1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0
        + s2 * (1.0 / 11.0 + s2 * (1.0 / 13.0))))));
    return 2.0 * s * series;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let i = (group.y * groups.x + group.x) * WORKGROUP_SIZE + lane;
    if i >= params.n {
        return;
    }
    out[i] = f(x[i]);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let i = (group.y * groups.x + group.x) * WORKGROUP_SIZE + lane;
    if i >= params.n {
        return;
    }
    out[i] = dy[i] * df(x[i], y[i]);
}
