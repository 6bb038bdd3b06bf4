// Linear layers of all-MiniLM-L6-v2 (src/semantic/gpu.rs drives them; the
// CPU reference is src/semantic/cpu.rs):
//
//   out[r][c] = epilogue(sum_k a[r][k] * weight[c][k] + bias[c])
//
// `a` is the batch's activations, tokens x depth f32 (all tokens of every
// sentence of a batch as one matrix); `weight` is PyTorch's out x in layout
// in fp16, two halves per u32 (element 2i in the low half), unpacked with
// integer operations (`unpack_halves`): no shader-f16 needed (SwiftShader,
// Chromium's CPU WebGPU, lacks it). Epilogues: bias only, bias then GELU (erf form, as
// BERT), bias then + residual[r][c] (the residual connection before a
// layer norm).
//
// A workgroup of 16 x 16 invocations owns a 64 x 64 tile of the output;
// each invocation accumulates a 4 x 4 block in registers. The depth is
// walked in steps of 16: a 64 x 16 slice of `a` and of `weight` is staged
// in workgroup memory, transposed (k-major, so that one vec4 load gives 4
// rows or 4 columns), and each invocation does 16 x 16 multiply-adds per
// 2 x 16 vec4 loads from it. The next step's slices are loaded from
// global memory into registers before the current step is used, so that
// their latency hides behind the arithmetic. Rows and columns past the
// matrix are read as zeros and not written: any rows, any columns, depth a
// multiple of 4 (the host checks it).

const TILE: u32 = 64u;           // output rows and columns per workgroup
const STEP_QUADS: u32 = 4u;      // depth per step, in vec4s (16 values)

const EPILOGUE_BIAS: u32 = 0u;
const EPILOGUE_GELU: u32 = 1u;
const EPILOGUE_RESIDUAL: u32 = 2u;

struct Params {
    rows: u32,       // rows of `a` and `out` (tokens)
    cols: u32,       // rows of `weight`, columns of `out`
    depth: u32,      // columns of `a` and `weight`, a multiple of 4
    epilogue: u32,   // EPILOGUE_*
    sequences: u32,  // (other kernels)
    output_row: u32, // (other kernels)
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;       // rows x depth/4
@group(0) @binding(2) var<storage, read> weight: array<vec2<u32>>;  // cols x depth/4 (4 halves each)
@group(0) @binding(3) var<storage, read> bias: array<f32>;          // cols
@group(0) @binding(4) var<storage, read> residual: array<f32>;      // rows x cols (EPILOGUE_RESIDUAL)
@group(0) @binding(5) var<storage, read_write> out: array<f32>;     // rows x cols

// [16 depth][16 quads of rows (columns)]: element (k, 4q + j) at [k * 16 + q][j].
var<workgroup> tile_a: array<vec4<f32>, 256>;
var<workgroup> tile_w: array<vec4<f32>, 256>;

// Four fp16 values (two per u32, the first in the low half) as f32, exactly:
// normal halves by moving the bits into place and rebiasing the exponent,
// subnormal ones as an integer times 2^-24 (no f32 subnormal is formed, so
// a GPU that flushes them loses nothing). Infinities and NaNs are not
// expected (weights are finite). Not WGSL's unpack2x16float: naga asks for
// a capability for it that not every validator grants.
fn unpack_halves(h: vec2<u32>) -> vec4<f32> {
    let bits = vec4<u32>(h.x & 0xffffu, h.x >> 16u, h.y & 0xffffu, h.y >> 16u);
    let normal = bitcast<vec4<f32>>(((bits & vec4<u32>(0x7fffu)) << vec4<u32>(13u)) + vec4<u32>(0x38000000u));
    let subnormal = vec4<f32>(bits & vec4<u32>(0x3ffu)) * 5.960464477539063e-8;
    let magnitude = select(normal, subnormal, (bits & vec4<u32>(0x7c00u)) == vec4<u32>(0u));
    return bitcast<vec4<f32>>(bitcast<vec4<u32>>(magnitude) | ((bits & vec4<u32>(0x8000u)) << vec4<u32>(16u)));
}

// erf in f32: the rational approximation of Eigen and XLA (odd numerator,
// even denominator in x^2, inputs clamped to [-4, 4], where erf is +-1 in
// f32); error about 1e-7, no exp needed.
fn erf(v: f32) -> f32 {
    let x = clamp(v, -4.0, 4.0);
    let x2 = x * x;
    var p = x2 * -2.72614225801306e-10 + 2.77068142495902e-08;
    p = x2 * p + -2.10102402082508e-06;
    p = x2 * p + -5.69250639462346e-05;
    p = x2 * p + -7.34990630326855e-04;
    p = x2 * p + -2.95459980854025e-03;
    p = x2 * p + -1.60960333262415e-02;
    p = x * p;
    var q = x2 * -1.45660718464996e-05 + -2.13374055278905e-04;
    q = x2 * q + -1.68282697438203e-03;
    q = x2 * q + -7.37332916720468e-03;
    q = x2 * q + -1.42647390514189e-02;
    return p / q;
}

// BERT's GELU: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)).
fn gelu(x: f32) -> f32 {
    return 0.5 * x * (1.0 + erf(x * 0.7071067811865476));
}

@compute @workgroup_size(16, 16)
fn linear(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(local_invocation_index) index: u32,
) {
    let row0 = group.y * TILE;
    let col0 = group.x * TILE;
    let quads = params.depth / 4u;

    // Loading: invocation `index` brings row (column) index / 4 of the tile,
    // depth quad index % 4 of the step.
    let load_row = index / 4u;
    let load_quad = index % 4u;
    let a_row = row0 + load_row;
    let w_row = col0 + load_row;
    let a_live = a_row < params.rows;
    let w_live = w_row < params.cols;
    let a_base = min(a_row, params.rows - 1u) * quads;
    let w_base = min(w_row, params.cols - 1u) * quads;
    // Where its 4 values go: depth load_quad * 4 + j, row quad load_row / 4.
    let slot = load_quad * 64u + load_row / 4u;
    let lane = load_row % 4u;

    var next_a = vec4<f32>(0.0);
    var next_w = vec4<f32>(0.0);
    if (a_live && load_quad < quads) {
        next_a = a[a_base + load_quad];
    }
    if (w_live && load_quad < quads) {
        let h = weight[w_base + load_quad];
        next_w = unpack_halves(h);
    }

    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k0 = 0u; k0 < quads; k0 = k0 + STEP_QUADS) {
        tile_a[slot][lane] = next_a.x;
        tile_a[slot + 16u][lane] = next_a.y;
        tile_a[slot + 32u][lane] = next_a.z;
        tile_a[slot + 48u][lane] = next_a.w;
        tile_w[slot][lane] = next_w.x;
        tile_w[slot + 16u][lane] = next_w.y;
        tile_w[slot + 32u][lane] = next_w.z;
        tile_w[slot + 48u][lane] = next_w.w;
        workgroupBarrier();

        // The next step's loads, in flight while this step computes.
        let q = k0 + STEP_QUADS + load_quad;
        next_a = vec4<f32>(0.0);
        next_w = vec4<f32>(0.0);
        if (a_live && q < quads) {
            next_a = a[a_base + q];
        }
        if (w_live && q < quads) {
            let h = weight[w_base + q];
            next_w = unpack_halves(h);
        }

        for (var k = 0u; k < 16u; k = k + 1u) {
            let av = tile_a[k * 16u + local.y];
            let wv = tile_w[k * 16u + local.x];
            acc0 = acc0 + av.x * wv;
            acc1 = acc1 + av.y * wv;
            acc2 = acc2 + av.z * wv;
            acc3 = acc3 + av.w * wv;
        }
        workgroupBarrier();
    }

    let col = col0 + local.x * 4u;
    let row = row0 + local.y * 4u;
    store_row(row, col, acc0);
    store_row(row + 1u, col, acc1);
    store_row(row + 2u, col, acc2);
    store_row(row + 3u, col, acc3);
}

// Writes the 4 values of `sums` at (row, col..col + 4) with the epilogue,
// skipping what lies past the matrix.
fn store_row(row: u32, col: u32, sums: vec4<f32>) {
    if (row >= params.rows) {
        return;
    }
    for (var j = 0u; j < 4u; j = j + 1u) {
        let c = col + j;
        if (c < params.cols) {
            var v = sums[j] + bias[c];
            let at = row * params.cols + c;
            if (params.epilogue == EPILOGUE_GELU) {
                v = gelu(v);
            } else if (params.epilogue == EPILOGUE_RESIDUAL) {
                v = v + residual[at];
            }
            out[at] = v;
        }
    }
}
