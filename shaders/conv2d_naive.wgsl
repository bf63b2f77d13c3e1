// conv2d_naive.wgsl: the 2-D convolution and its two gradients, one
// invocation per output element, each summing its terms straight from
// global memory. The GPU reference: conv2d_gemm.wgsl, the fast kernels, is
// tested against the CPU's loops as these are (`ConvKernel::Naive`).
//
// Layout (crates/autodiff/src/conv.rs): images are rows, channel-major,
// x[n, (i·H + y)·W + x]; the weight is w[o, (i·k + ky)·k + kx]; the output
// y[n, (o·OH + oy)·OW + ox]. With stride s and zero padding p:
//
//   forward          y[n, o, oy, ox]  = Σ_{i, ky, kx} w[o, i, ky, kx] · x[n, i, oy·s + ky - p, ox·s + kx - p]
//   backward_input   dx[n, i, y, x]   = Σ_{o, ky, kx} dy[n, o, oy, ox] · w[o, i, ky, kx]
//                                       over the taps with oy·s = y + p - ky, ox·s = x + p - kx
//   backward_weight  dw[o, i, ky, kx] = Σ_{n, oy, ox} dy[n, o, oy, ox] · x[n, i, oy·s + ky - p, ox·s + kx - p]
//
// Taps on the padding read 0. The input gradient gathers (each input pixel
// sums over the outputs that read it) rather than scatters, so it needs no
// atomics and adds its terms in a fixed order.
//
// Each entry point's sum runs over a flat index t: the tap (i, ky, kx) of
// the forward, (o, ky, kx) of the input gradient, (n, oy, ox) of the weight
// gradient. A dispatch covers t in [k_begin, k_end), at most 1024 values:
// llvmpipe (Mesa's software rasterizer, behind lavapipe and wgpu's GL
// backend) silently stops a shader's loops after 65 535 iterations in all,
// so the host splits a longer sum over several dispatches, each adding to
// what the one before left in out, as matmul_naive.wgsl does.
//
// Bindings (every entry point; what a and b hold depends on it):
//   0  params  uniform
//   1  a       read        forward, backward_weight: x [batch, C_in·H·W];  backward_input: dy
//   2  b       read        forward, backward_input: w [C_out, C_in·k·k];   backward_weight: dy
//   3  out     read_write  forward: y [batch, C_out·OH·OW]; backward_input: dx [batch, C_in·H·W];
//                          backward_weight: dw [C_out, C_in·k·k]

struct Params {
    batch: u32,
    in_channels: u32,   // C_in
    out_channels: u32,  // C_out
    height: u32,        // H
    width: u32,         // W
    kernel: u32,        // k
    stride: u32,        // s
    padding: u32,       // p
    out_height: u32,    // OH
    out_width: u32,     // OW
    k_begin: u32,       // this dispatch's share of each sum: t in [k_begin, k_end)
    k_end: u32,         // (k_begin > 0: out holds the sum over [0, k_begin) to add to)
    // conv2d_gemm.wgsl's; unused here.
    m: u32,
    n: u32,
    depth: u32,
    part: u32,
    op: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const WORKGROUP_SIZE: u32 = 256u;

// The index of this invocation in the 2-D grid of workgroups (see fill.wgsl).
fn index(group: vec3<u32>, groups: vec3<u32>, lane: u32) -> u32 {
    return (group.y * groups.x + group.x) * WORKGROUP_SIZE + lane;
}

// Input pixel (i, y, x) of image n of a, or 0 on the padding (y or x
// outside the image: as i32, since oy·s + ky - p may be negative).
fn x_at(n: u32, i: u32, y: i32, x: i32) -> f32 {
    if y < 0 || x < 0 || y >= i32(params.height) || x >= i32(params.width) {
        return 0.0;
    }
    let cols = params.in_channels * params.height * params.width; // C_in·H·W
    return a[n * cols + (i * params.height + u32(y)) * params.width + u32(x)];
}

// The weight's row length, C_in·k·k.
fn taps() -> u32 {
    return params.in_channels * params.kernel * params.kernel;
}

// One invocation per element (n, o, oy, ox) of y, summing over the taps
// t = (i·k + ky)·k + kx.
@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let e = index(group, groups, lane);
    let plane = params.out_height * params.out_width; // OH·OW
    let out_cols = params.out_channels * plane;
    if e >= params.batch * out_cols {
        return;
    }
    let n = e / out_cols;
    let o = (e % out_cols) / plane;
    let oy = (e % plane) / params.out_width;
    let ox = e % params.out_width;
    let k = params.kernel;
    var acc = 0.0;
    if params.k_begin > 0u {
        acc = out[e];
    }
    for (var t = params.k_begin; t < params.k_end; t++) {
        let i = t / (k * k);
        let ky = (t / k) % k;
        let kx = t % k;
        let y = i32(oy * params.stride + ky) - i32(params.padding);
        let x = i32(ox * params.stride + kx) - i32(params.padding);
        acc += b[o * taps() + t] * x_at(n, i, y, x);
    }
    out[e] = acc;
}

// One invocation per input pixel (n, i, y, x), summing over j = (o·k + ky)·k
// + kx the taps that land on it: those whose output position
// oy = (y + p - ky) / s, ox = (x + p - kx) / s is whole and inside the output.
@compute @workgroup_size(WORKGROUP_SIZE)
fn backward_input(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let e = index(group, groups, lane);
    let plane = params.height * params.width; // H·W
    let in_cols = params.in_channels * plane;
    if e >= params.batch * in_cols {
        return;
    }
    let n = e / in_cols;
    let i = (e % in_cols) / plane;
    let y = (e % plane) / params.width;
    let x = e % params.width;
    let k = params.kernel;
    let s = params.stride;
    let out_plane = params.out_height * params.out_width;
    var acc = 0.0;
    if params.k_begin > 0u {
        acc = out[e];
    }
    for (var j = params.k_begin; j < params.k_end; j++) {
        let o = j / (k * k);
        let ky = (j / k) % k;
        let kx = j % k;
        // oy·s = y + p - ky, in i32: negative when the tap starts above.
        let sy = i32(y + params.padding) - i32(ky);
        let sx = i32(x + params.padding) - i32(kx);
        if sy < 0 || sx < 0 || u32(sy) % s != 0u || u32(sx) % s != 0u {
            continue;
        }
        let oy = u32(sy) / s;
        let ox = u32(sx) / s;
        if oy >= params.out_height || ox >= params.out_width {
            continue;
        }
        let d = a[n * params.out_channels * out_plane + (o * params.out_height + oy) * params.out_width + ox];
        acc += d * b[o * taps() + (i * k + ky) * k + kx];
    }
    out[e] = acc;
}

// One invocation per weight element (o, i, ky, kx), summing over
// r = (n·OH + oy)·OW + ox every image and output position.
@compute @workgroup_size(WORKGROUP_SIZE)
fn backward_weight(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let e = index(group, groups, lane);
    if e >= params.out_channels * taps() {
        return;
    }
    let k = params.kernel;
    let o = e / taps();
    let t = e % taps();
    let i = t / (k * k);
    let ky = (t / k) % k;
    let kx = t % k;
    let plane = params.out_height * params.out_width; // OH·OW
    var acc = 0.0;
    if params.k_begin > 0u {
        acc = out[e];
    }
    for (var r = params.k_begin; r < params.k_end; r++) {
        let n = r / plane;
        let oy = (r % plane) / params.out_width;
        let ox = r % params.out_width;
        let y = i32(oy * params.stride + ky) - i32(params.padding);
        let x = i32(ox * params.stride + kx) - i32(params.padding);
        let d = b[n * params.out_channels * plane + o * plane + oy * params.out_width + ox];
        acc += d * x_at(n, i, y, x);
    }
    out[e] = acc;
}
