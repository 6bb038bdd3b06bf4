// preflight's sentence embeddings in a worker, as the page's worker runs
// them: the wasm module, the model file from this origin, then
// embedTexts(texts, backend) ("gpu": the WGSL network on WebGPU; "cpu": the
// wasm CPU network). One warm-up call (pipelines, shader compilation) is
// not timed.
import init, { setModel, embedTexts } from '/www/pkg/preflight.js';

onmessage = async ({ data: { texts, backend } }) => {
  try {
    await init();
    const bytes = new Uint8Array(await (await fetch('/www/models/all-MiniLM-L6-v2.pfm')).arrayBuffer());
    setModel(bytes);
    await embedTexts(texts.slice(0, 4), backend);
    const started = performance.now();
    const result = await embedTexts(texts, backend);
    const seconds = (performance.now() - started) / 1000;
    postMessage({
      ok: true,
      seconds,
      sentences: texts.length,
      tokens: result.tokens,
      backend: result.backend + (result.adapter ? ` (${result.adapter})` : ''),
      note: result.note ?? null,
      vectors: Array.from(result.vectors.slice(0, 8 * 384)),
    });
  } catch (err) {
    postMessage({ ok: false, error: String(err?.message ?? err) });
  }
};
