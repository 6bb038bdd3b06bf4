// The semantic model's weights file (all-MiniLM-L6-v2, fp16, about 45 MB),
// fetched from this site's own origin only when semantic embeddings are
// chosen, and kept with the Cache API so that the next visit (and the next
// worker: a cancelled run's replacement, the spare) reads it from disk.
//
//   loadModel(onProgress)  the file's bytes (worker.js, before a semantic run)
//   describeModel()        {available, bytes, cached} (the page's option text)
//
// The file lies at models/all-MiniLM-L6-v2.pfm beside this module (written
// by scripts/fetch-model); every URL is resolved against this module's own
// URL, so the site works from a sub-path too. Nothing here names another
// origin, and the page's Content-Security-Policy (connect-src 'self')
// would refuse one.

export const MODEL_FILE = 'all-MiniLM-L6-v2.pfm';
/** The weights file's URL, on this site's origin. */
export const MODEL_URL = new URL(`./models/${MODEL_FILE}`, import.meta.url).href;
/** The Cache API bucket; a new file format takes a new name. */
export const MODEL_CACHE = 'preflight-models-v1';

/** The cache bucket, or null where the Cache API is missing (an insecure origin) or refused. */
async function openCache() {
  if (typeof caches === 'undefined') return null;
  try {
    return await caches.open(MODEL_CACHE);
  } catch {
    return null;
  }
}

/** The cached copy's response, or null. */
async function cached(cache) {
  if (!cache) return null;
  try {
    return (await cache.match(MODEL_URL)) ?? null;
  } catch {
    return null;
  }
}

/** Forgets the cached copy (a file that failed to load, or replaced on the server). */
export async function forgetModel() {
  const cache = await openCache();
  try {
    await cache?.delete(MODEL_URL);
  } catch {
    /* nothing cached */
  }
}

/**
 * What the page says about the model: `available` (the server has the file,
 * or this browser kept a copy), `bytes` (its size), `cached` (no download
 * needed). Asks the server with a HEAD request, no body; a cached copy of
 * another size than the server's file (a new conversion) is forgotten.
 */
export async function describeModel() {
  const cache = await openCache();
  const hit = await cached(cache);
  let bytes = hit ? Number(hit.headers.get('Content-Length')) || null : null;
  let available = Boolean(hit);
  let isCached = Boolean(hit);
  try {
    const head = await fetch(MODEL_URL, { method: 'HEAD', cache: 'no-store' });
    if (head.ok) {
      available = true;
      const size = Number(head.headers.get('Content-Length'));
      if (size > 0) {
        if (hit && bytes !== null && bytes !== size) {
          await forgetModel();
          isCached = false;
        }
        bytes = size;
      }
    }
  } catch {
    /* offline: a cached copy still serves */
  }
  return { available, bytes, cached: isCached };
}

/**
 * The weights file's bytes: the cached copy when there is one, else fetched
 * from the site (then cached). `onProgress({loaded, total, cached})` is
 * called as bytes arrive (`total` null when the server does not say).
 * Throws an Error that says what to do when the file is not on the server.
 */
export async function loadModel(onProgress = () => {}) {
  const cache = await openCache();
  const hit = await cached(cache);
  if (hit) {
    const bytes = new Uint8Array(await hit.arrayBuffer());
    onProgress({ loaded: bytes.length, total: bytes.length, cached: true });
    return { bytes, cached: true };
  }
  let response;
  try {
    response = await fetch(MODEL_URL, { cache: 'no-store' });
  } catch (err) {
    throw new Error(`the semantic model ${MODEL_URL} could not be fetched: ${err?.message ?? err}`);
  }
  if (!response.ok) {
    throw new Error(
      `the semantic model ${MODEL_URL} is not on this server (it answered ${response.status}): ` +
        'run scripts/fetch-model where the site is built, or choose hashed n-grams',
    );
  }
  const total = Number(response.headers.get('Content-Length')) || null;
  const bytes = await readAll(response, total, (loaded) => onProgress({ loaded, total, cached: false }));
  if (cache) {
    try {
      await cache.put(
        MODEL_URL,
        new Response(bytes, { headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) } }),
      );
    } catch {
      /* out of quota: the next visit downloads again */
    }
  }
  return { bytes, cached: false };
}

/** A response's body as one Uint8Array, reporting the bytes read so far. */
async function readAll(response, total, onBytes) {
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onBytes(bytes.length);
    return bytes;
  }
  const reader = response.body.getReader();
  let buffer = new Uint8Array(total ?? 1 << 20);
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.length > buffer.length) {
      const grown = new Uint8Array(Math.max(buffer.length * 2, loaded + value.length));
      grown.set(buffer.subarray(0, loaded));
      buffer = grown;
    }
    buffer.set(value, loaded);
    loaded += value.length;
    onBytes(loaded);
  }
  return loaded === buffer.length ? buffer : buffer.slice(0, loaded);
}
