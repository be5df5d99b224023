// The beauty filter on the GPU. Mirrors src/cpu.rs step by step and
// src/settings.rs `math` function by function; see cpu.rs for the algorithm.
//
// Frames travel as packed bytes (I420: Y, U, V, no padding) in u32 words, so any
// frame size works and no texture row alignment applies. Half-resolution
// intermediates are one f32 or vec2<f32> per chroma sample.

struct Params {
    width: u32,
    height: u32,
    cw: u32,
    ch: u32,
    radius: u32,
    luma_len: u32,
    chroma_len: u32,
    frame_len: u32,
    eps: f32,
    smoothing: f32,
    whiten: f32,
    ruddy: f32,
    sharpen: f32,
    luma_active: u32,
    chroma_active: u32,
    _pad: u32,
    skin_cb: f32,
    skin_cr: f32,
    skin_inv_cb: f32,
    skin_inv_cr: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> frame_in: array<u32>;
@group(0) @binding(2) var<storage, read_write> frame_out: array<u32>;
// (L, L²) per 2x2 block.
@group(0) @binding(3) var<storage, read_write> guide: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> mask: array<f32>;
@group(0) @binding(5) var<storage, read> rows_src: array<vec2<f32>>;
@group(0) @binding(6) var<storage, read_write> rows_dst: array<vec2<f32>>;
@group(0) @binding(7) var<storage, read> cols_src: array<vec2<f32>>;
// Guided-filter coefficients (a, b).
@group(0) @binding(8) var<storage, read_write> coef: array<vec2<f32>>;
// Per-sample luma transform (P, Q): out = P * I + Q.
@group(0) @binding(9) var<storage, read_write> combined: array<vec2<f32>>;

fn load_byte(i: u32) -> u32 {
    return (frame_in[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;
}

fn skin(cb: f32, cr: f32, l: f32) -> f32 {
    let dcb = (cb - params.skin_cb) * params.skin_inv_cb;
    let dcr = (cr - params.skin_cr) * params.skin_inv_cr;
    let d2 = dcb * dcb + dcr * dcr;
    return clamp((1.6 - d2) * 1.25, 0.0, 1.0) * clamp((l - 0.12) * 10.0, 0.0, 1.0);
}

@compute @workgroup_size(16, 16)
fn prepare(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    let j = id.y;
    if i >= params.cw || j >= params.ch {
        return;
    }
    let w = params.width;
    let x0 = 2u * i;
    let x1 = min(x0 + 1u, w - 1u);
    let y0 = 2u * j * w;
    let y1 = min(2u * j + 1u, params.height - 1u) * w;
    let sum = load_byte(y0 + x0) + load_byte(y0 + x1) + load_byte(y1 + x0) + load_byte(y1 + x1);
    let l = f32(sum) * (1.0 / 1020.0);
    let k = j * params.cw + i;
    guide[k] = vec2<f32>(l, l * l);
    let cb = f32(load_byte(params.luma_len + k));
    let cr = f32(load_byte(params.luma_len + params.chroma_len + k));
    mask[k] = skin(cb, cr, l);
}

// Horizontal box mean over the window clipped to the row.
@compute @workgroup_size(16, 16)
fn box_rows(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    let j = id.y;
    if i >= params.cw || j >= params.ch {
        return;
    }
    let lo = max(i32(i) - i32(params.radius), 0);
    let hi = min(i + params.radius, params.cw - 1u);
    var sum = vec2<f32>(0.0);
    for (var x = u32(lo); x <= hi; x++) {
        sum += rows_src[j * params.cw + x];
    }
    rows_dst[j * params.cw + i] = sum * (1.0 / f32(hi - u32(lo) + 1u));
}

fn column_mean(i: u32, j: u32) -> vec2<f32> {
    let lo = max(i32(j) - i32(params.radius), 0);
    let hi = min(j + params.radius, params.ch - 1u);
    var sum = vec2<f32>(0.0);
    for (var y = u32(lo); y <= hi; y++) {
        sum += cols_src[y * params.cw + i];
    }
    return sum * (1.0 / f32(hi - u32(lo) + 1u));
}

// Vertical box mean of (L, L²) → guided-filter coefficients.
@compute @workgroup_size(16, 16)
fn coefficients(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    let j = id.y;
    if i >= params.cw || j >= params.ch {
        return;
    }
    let m = column_mean(i, j);
    let variance = max(m.y - m.x * m.x, 0.0);
    let a = variance / (variance + params.eps);
    coef[j * params.cw + i] = vec2<f32>(a, m.x - a * m.x);
}

// Vertical box mean of (a, b) → (A, B), folded with skin weight and sharpening.
@compute @workgroup_size(16, 16)
fn combine(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    let j = id.y;
    if i >= params.cw || j >= params.ch {
        return;
    }
    var ab = vec2<f32>(1.0, 0.0);
    if params.smoothing > 0.0 {
        ab = column_mean(i, j);
    }
    let k = j * params.cw + i;
    let m = mask[k];
    let sm = params.smoothing * m;
    let km = params.sharpen * (1.0 - m);
    combined[k] = vec2<f32>(1.0 + sm * (ab.x - 1.0) + km, sm * ab.y - km * guide[k].x);
}

// Each pixel takes its own 2x2 block's (P, Q); see `CpuFilter::luma` for why.
fn luma(i: u32, y: u32) -> u32 {
    let x = i % params.width;
    let row = i / params.width;
    let pq = combined[(row / 2u) * params.cw + x / 2u];
    let v = f32(y) * (1.0 / 255.0);
    var o = clamp(pq.x * v + pq.y, 0.0, 1.0);
    o = o + params.whiten * o * (1.0 - o);
    return u32(round(o * 255.0));
}

fn chroma(m: f32, c: u32, shift: f32) -> u32 {
    let r = params.ruddy * m;
    let out = 128.0 + (f32(c) - 128.0) * (1.0 + 0.25 * r) + shift * r;
    return u32(round(clamp(out, 0.0, 255.0)));
}

fn process_byte(i: u32, v: u32) -> u32 {
    if i < params.luma_len {
        if params.luma_active == 0u {
            return v;
        }
        return luma(i, v);
    }
    if params.chroma_active == 0u {
        return v;
    }
    let c = i - params.luma_len;
    if c < params.chroma_len {
        return chroma(mask[c], v, -3.0);
    }
    return chroma(mask[c - params.chroma_len], v, 8.0);
}

// One invocation per word of the frame: four bytes of whichever plane they fall in.
@compute @workgroup_size(256)
fn finish(@builtin(global_invocation_id) id: vec3<u32>) {
    let word = id.x;
    if word >= (params.frame_len + 3u) / 4u {
        return;
    }
    let packed = frame_in[word];
    var out = 0u;
    for (var b = 0u; b < 4u; b++) {
        let i = word * 4u + b;
        var v = (packed >> (b * 8u)) & 0xffu;
        if i < params.frame_len {
            v = process_byte(i, v);
        }
        out |= v << (b * 8u);
    }
    frame_out[word] = out;
}
