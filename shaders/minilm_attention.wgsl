// Self-attention of all-MiniLM-L6-v2 (12 heads of 32; src/semantic/gpu.rs
// drives it, src/semantic/cpu.rs is the reference):
//
//   out[i] = sum_j softmax_j(q_i . k_j / sqrt 32) v_j   over the keys j of i's sentence
//
// The batch's tokens are packed sentence after sentence with no padding
// (`offsets`: sentence s is tokens offsets[s]..offsets[s + 1]), so the
// padding mask is the sentence's bounds: a query sees exactly the keys of
// its own sentence, as BERT with an attention mask does (masked keys get
// weight exp(-huge) = 0 there).
//
// `qkv` is the fused projection, tokens x 1152: queries in columns 0..384,
// keys 384..768, values 768..1152, head h at 32 h.. in each. A workgroup of
// 32 invocations owns (32 queries, head, sentence): grid x = query block,
// y = head, z = sentence. Each invocation keeps its query and its output
// (8 + 8 vec4) in registers; keys and values come in tiles of 32 staged in
// workgroup memory, and the softmax is computed online (running maximum
// and sum, output rescaled once per tile), so any sentence length fits in
// 8 KiB of workgroup memory. Blocks past the sentence's end return at once.

const QUERIES: u32 = 32u;        // queries per workgroup (= workgroup size)
const KEYS: u32 = 32u;           // keys per tile
const HEAD_QUADS: u32 = 8u;      // 32 / 4
const QKV_QUADS: u32 = 288u;     // 1152 / 4
const OUT_QUADS: u32 = 96u;      // 384 / 4
const KEY_COLUMN: u32 = 96u;     // first key quad of a row of qkv
const VALUE_COLUMN: u32 = 192u;  // first value quad
const SCALE: f32 = 0.17677669529663687;  // 1 / sqrt(32)
const LOWEST: f32 = -3.0e38;     // a score no key reaches (finite: no inf - inf)

struct Params {
    rows: u32,       // tokens of the batch
    cols: u32,
    depth: u32,
    epilogue: u32,
    sequences: u32,  // sentences of the batch
    output_row: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> qkv: array<vec4<f32>>;       // tokens x 288
@group(0) @binding(2) var<storage, read> offsets: array<u32>;         // sequences + 1
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>; // tokens x 96

var<workgroup> keys: array<vec4<f32>, 256>;    // KEYS x HEAD_QUADS
var<workgroup> values: array<vec4<f32>, 256>;

@compute @workgroup_size(32)
fn attention(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let sequence = group.z;
    if (sequence >= params.sequences) {
        return;
    }
    let start = offsets[sequence];
    let length = offsets[sequence + 1u] - start;
    let first = group.x * QUERIES;
    if (first >= length) {
        return;
    }
    let head = group.y;
    let query = first + lane;
    let live = query < length;
    // Invocations past the end work on the last query and write nothing.
    let row = start + min(query, length - 1u);

    var q: array<vec4<f32>, 8>;
    var acc: array<vec4<f32>, 8>;
    for (var d = 0u; d < HEAD_QUADS; d = d + 1u) {
        q[d] = qkv[row * QKV_QUADS + head * HEAD_QUADS + d] * SCALE;
    }
    var running_max = LOWEST;
    var running_sum = 0.0;
    var scores: array<f32, 32>;

    for (var t0 = 0u; t0 < length; t0 = t0 + KEYS) {
        let key = t0 + lane;
        if (key < length) {
            let base = (start + key) * QKV_QUADS + head * HEAD_QUADS;
            for (var d = 0u; d < HEAD_QUADS; d = d + 1u) {
                keys[lane * HEAD_QUADS + d] = qkv[base + KEY_COLUMN + d];
                values[lane * HEAD_QUADS + d] = qkv[base + VALUE_COLUMN + d];
            }
        }
        workgroupBarrier();

        let count = min(KEYS, length - t0);
        var tile_max = LOWEST;
        for (var j = 0u; j < KEYS; j = j + 1u) {
            var s = LOWEST;
            if (j < count) {
                s = 0.0;
                for (var d = 0u; d < HEAD_QUADS; d = d + 1u) {
                    s = s + dot(q[d], keys[j * HEAD_QUADS + d]);
                }
            }
            scores[j] = s;
            tile_max = max(tile_max, s);
        }
        let new_max = max(running_max, tile_max);
        let correction = exp(running_max - new_max);
        running_sum = running_sum * correction;
        for (var d = 0u; d < HEAD_QUADS; d = d + 1u) {
            acc[d] = acc[d] * correction;
        }
        for (var j = 0u; j < KEYS; j = j + 1u) {
            if (j < count) {
                let p = exp(scores[j] - new_max);
                running_sum = running_sum + p;
                for (var d = 0u; d < HEAD_QUADS; d = d + 1u) {
                    acc[d] = acc[d] + p * values[j * HEAD_QUADS + d];
                }
            }
        }
        running_max = new_max;
        workgroupBarrier();
    }

    if (live) {
        // running_sum >= 1: the maximum's own term is exp(0).
        let inverse = 1.0 / running_sum;
        for (var d = 0u; d < HEAD_QUADS; d = d + 1u) {
            out[row * OUT_QUADS + head * HEAD_QUADS + d] = acc[d] * inverse;
        }
    }
}
