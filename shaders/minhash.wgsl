// MinHash signatures of texts, 32-bit (src/checks/text_dups.rs has the CPU
// reference and the definition; src/gpu/minhash.rs drives this kernel).
//
// One workgroup owns one item (a text, or a window of a long one);
// invocation p of its PERMUTATIONS invocations computes value p of the
// signature: the minimum over the shingles x (32-bit hashes, uploaded) of
// fmix32(a_p * x + b_p), arithmetic mod 2^32. Every invocation reads the same
// shingle at the same time, so the loads are shared.
//
// The work is a list of items (text, first shingle): a text longer than
// WINDOW shingles has several items, one per window of WINDOW shingles, so
// that no invocation loops more than WINDOW times (lavapipe, Mesa's CPU
// Vulkan driver, silently stops an invocation after 65535 loop iterations).
// Each item's minimum goes into the signature with atomicMin: the host fills
// the signatures with 0xffffffff first, and items may run in any order, in
// any dispatch, with nothing read back between dispatches. One dispatch
// covers a range of items (item_offset, item_count: never more than the
// device's workgroups per dimension, and short enough for GPU watchdogs).

const PERMUTATIONS: u32 = 128u; // = workgroup size

struct Params {
    item_offset: u32,  // first item of this dispatch
    item_count: u32,   // items in this dispatch
    window_len: u32,   // most shingles of an item (WINDOW)
    pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> shingles: array<u32>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;            // texts + 1
@group(0) @binding(3) var<storage, read> permutations: array<vec2<u32>>; // (a_p, b_p)
@group(0) @binding(4) var<storage, read> items: array<vec2<u32>>;        // (text, first shingle of the text)
@group(0) @binding(5) var<storage, read_write> signatures: array<atomic<u32>>; // texts x PERMUTATIONS

// murmur3's 32-bit finaliser (fmix32 in text_dups.rs).
fn fmix32(x: u32) -> u32 {
    var h = x;
    h = h ^ (h >> 16u);
    h = h * 0x85ebca6bu;
    h = h ^ (h >> 13u);
    h = h * 0xc2b2ae35u;
    h = h ^ (h >> 16u);
    return h;
}

@compute @workgroup_size(128)
fn minhash(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_index) p: u32,
) {
    if (group.x >= params.item_count) {
        return;
    }
    let item = items[params.item_offset + group.x];
    let text = item.x;
    let begin = offsets[text];
    let end = offsets[text + 1u];
    // Clamped without overflow: an item never starts past its text's end,
    // but a malformed list must not read out of range either.
    let start = begin + min(item.y, end - begin);
    let stop = start + min(params.window_len, end - start);
    let permutation = permutations[p];
    var lowest = 0xffffffffu;
    for (var i = start; i < stop; i = i + 1u) {
        lowest = min(lowest, fmix32(permutation.x * shingles[i] + permutation.y));
    }
    atomicMin(&signatures[text * PERMUTATIONS + p], lowest);
}
