// preflight's part worker: parses one byte range of a big file into a
// mergeable part (stream mode). Started by the coordinator (worker.js, the
// worker that owns the wasm module and the GPU), one per core up to four;
// the coordinator merges the parts in file order (Profiler.fromParts).
//
// Protocol (messages {id, type, data}, as worker.js's):
//   coordinator -> part  {id, type: 'part', data: {module, file, name, options, head, spec}}
//                        module: the coordinator's compiled WebAssembly.Module (optional:
//                        without it this worker fetches pkg/preflight_bg.wasm itself);
//                        file: the File or Blob (a handle: no bytes are copied);
//                        head: readHead's result, as is; spec: {index, start, end, atRecordBoundary}
//   part -> coordinator  {id, type: 'progress', data: {bytes, rows}}   at most every PROGRESS_INTERVAL_MS;
//                        bytes: bytes of [start, end) read so far
//                        {id, type: 'part', data: {part, bytesRead, rows, memoryBytes}}   part: finish()'s
//                        bytes (transferred); memoryBytes: the largest wasm memory seen
//                        {id, type: 'error', data: {message}}
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

self.onmessage = async (event) => {
  const { id, type, data } = event.data ?? {};
  if (type !== 'part') {
    self.postMessage({ id, type: 'error', data: { message: `unknown request type: ${String(type)}` } });
    return;
  }
  try {
    await parsePart(id, data);
  } catch (err) {
    self.postMessage({ id, type: 'error', data: { message: errorMessage(err) } });
  }
};
