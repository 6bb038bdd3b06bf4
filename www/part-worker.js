// preflight's part worker: parses one byte range of a big file into a
// mergeable part (stream mode). Started by the coordinator (worker.js, the
// worker that owns the wasm module and the GPU), one per core up to eight;
// the coordinator merges the parts in file order as they come (PartMerger).
//
// Protocol (messages {id, type, data}, as worker.js's):
//   coordinator -> part  {id, type: 'part', data: {module, file, name, options, head, spec}}
//                        module: the coordinator's compiled WebAssembly.Module (optional:
//                        without it this worker fetches pkg/preflight_bg.wasm itself);
//                        file: the File or Blob (a handle: no bytes are copied);
//                        head: readHead's result, as is; spec: {index, start, end, atRecordBoundary, fileBytes}
//   part -> coordinator  {id, type: 'progress', data: {bytes, rows}}   at most every PROGRESS_INTERVAL_MS;
//                        bytes: bytes of [start, end) read so far
//                        {id, type: 'part', data: {part, bytesRead, rows, memoryBytes}}   part: finish()'s
//                        bytes (transferred); memoryBytes: the largest wasm memory seen
//                        {id, type: 'error', data: {message}}
//   coordinator -> part  {id, type: 'knn', data: {module, data, n, d, k, metric, first, count}}
//                        block pairs first..first+count of the symmetric search for the kNN
//                        graph of data (a Float32Array of n rows of d values), when the CPU
//                        builds the graph (no WebGPU)
//   part -> coordinator  {id, type: 'knn', data: {k, indices, distances, memoryBytes}}   (transferred)
//                        the top-k lists of all n rows those pairs filled (n * k values each),
//                        which the coordinator merges with the other workers'
// A worker takes one job at a time and may take another after it (a part
// re-parsed from a record boundary). The coordinator ends it with terminate().
// worker.js's parsePartHere is the same loop, for when no part worker starts.

// The glue is imported statically: a worker that cannot load it (offline,
// blocked) fails to start, and the coordinator parses that part itself.
import init, * as glue from './pkg/preflight.js';

const CHUNK_BYTES = 4 * 1024 * 1024;
const PROGRESS_INTERVAL_MS = 100;

let wasm = null;
let loading = null;

/** Instantiates the wasm module once: from the coordinator's compiled module when given. */
function load(module) {
  if (!loading) {
    loading = (async () => {
      await init(module instanceof WebAssembly.Module ? { module_or_path: module } : undefined);
      wasm = glue;
    })();
    loading.catch(() => {
      loading = null;
    });
  }
  return loading;
}

function errorMessage(err) {
  if (err === null || err === undefined) return 'unknown error';
  if (typeof err === 'string') return err;
  if (typeof err.message === 'string' && err.message !== '') return err.message;
  try {
    return String(err);
  } catch {
    return 'unknown error';
  }
}

/** This instance's WebAssembly.Memory size in bytes. */
function memoryBytes() {
  if (typeof wasm?.wasmMemoryBytes === 'function') return Number(wasm.wasmMemoryBytes());
  return Number(wasm?.__wasm?.memory?.buffer?.byteLength ?? 0);
}

/**
 * Parses `spec`'s range of `file`: reads from spec.start in CHUNK_BYTES
 * slices, reading past spec.end until the builder needs no more bytes (the
 * record that crosses the end is finished here) or the file ends. The next
 * slice is read while the current one is parsed.
 */
async function parsePart(id, { module, file, name, options, head, spec }) {
  await load(module);
  const start = Number(spec.start);
  const end = Number(spec.end);
  const size = file.size;
  const builder = new wasm.PartBuilder(name, options, head, spec);
  try {
    let peakMemory = memoryBytes();
    let lastProgressAt = 0;
    const read = (offset) => (offset < size ? file.slice(offset, Math.min(offset + CHUNK_BYTES, size)).arrayBuffer() : null);
    let offset = start;
    let pending = read(offset);
    while (pending) {
      const chunk = new Uint8Array(await pending);
      const next = offset + chunk.byteLength;
      // Read ahead only while the builder may need more.
      pending = read(next);
      const done = builder.push(chunk);
      offset = next;
      peakMemory = Math.max(peakMemory, memoryBytes());
      const now = performance.now();
      if (now - lastProgressAt >= PROGRESS_INTERVAL_MS) {
        lastProgressAt = now;
        self.postMessage({ id, type: 'progress', data: { bytes: Math.max(0, Math.min(offset, end) - start), rows: Number(builder.rowsRead()) } });
      }
      if (done) break;
    }
    const bytesRead = Number(builder.bytesRead());
    const rows = Number(builder.rowsRead());
    const part = builder.finish();
    peakMemory = Math.max(peakMemory, memoryBytes());
    self.postMessage({ id, type: 'part', data: { part, bytesRead, rows, memoryBytes: peakMemory } }, [part.buffer]);
  } finally {
    // finish() leaves an empty builder behind: free it either way.
    try {
      builder.free();
    } catch {
      /* already freed */
    }
  }
}

/**
 * Lets the event loop turn once. A message to this worker's own channel,
 * not setTimeout(0): timers nested five deep wait at least 4 ms each (HTML),
 * which between 15-20 ms kNN calls left a helper idle a fifth of the time.
 */
const loop = new MessageChannel();
const turns = [];
loop.port1.onmessage = () => turns.shift()?.();
function turn() {
  return new Promise((resolve) => {
    turns.push(resolve);
    loop.port2.postMessage(null);
  });
}

/**
 * Block pairs `first..first+count` of the symmetric kNN search (each pair
 * of rows computed once, offered to both rows' lists) into top-k lists of
 * all n rows, searched in short calls with the event loop turning in
 * between: the browser swaps optimised wasm code in only between calls, so
 * one long call would run unoptimised code to its end (4-6x slower).
 */
async function knnPairs(id, { module, data, n, d, k, metric, first, count }) {
  await load(module);
  const search = new wasm.KnnSearch(data, n, d, k, metric);
  try {
    const step = Math.max(1, Number(search.pairsPerCall));
    for (let at = 0; at < count; at += step) {
      search.searchPairs(first + at, Math.min(step, count - at));
      await turn();
    }
    const { k: kk, indices, distances } = search.takeLists();
    self.postMessage({ id, type: 'knn', data: { k: kk, indices, distances, memoryBytes: memoryBytes() } }, [indices.buffer, distances.buffer]);
  } finally {
    search.free();
  }
}

self.onmessage = async (event) => {
  const { id, type, data } = event.data ?? {};
  if (type !== 'part' && type !== 'knn') {
    self.postMessage({ id, type: 'error', data: { message: `unknown request type: ${String(type)}` } });
    return;
  }
  try {
    if (type === 'knn') await knnPairs(id, data);
    else await parsePart(id, data);
  } catch (err) {
    self.postMessage({ id, type: 'error', data: { message: errorMessage(err) } });
  }
};
