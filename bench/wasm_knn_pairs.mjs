// The wasm CPU kNN in Node's V8, one thread, both ways the module can
// search: one-way (KnnSearch.rows, each query row against all rows) and
// symmetric (KnnSearch.searchPairs over block pairs, each pair computed
// once; what the page runs), in short calls with the event loop turning
// in between as the page does; prints both times and whether the
// neighbour indices agree.
//
// usage: node bench/wasm_knn_pairs.mjs [N] [D] [--pkg DIR]
//   (default 20000 32, www/pkg; k = 10). --pkg times another build of the
//   module, e.g. an older commit's: git worktree add /tmp/old REV, then
//   scripts/build-web --no-opt there, and --pkg /tmp/old/www/pkg.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const args = process.argv.slice(2);
const at = args.indexOf('--pkg');
if (at >= 0 && !args[at + 1]) { console.error('--pkg needs a folder'); process.exit(2); }
const pkg = resolve(at >= 0 ? args.splice(at, 2)[1] : 'www/pkg');
const mod = await import(pathToFileURL(`${pkg}/preflight.js`).href);
mod.initSync({ module: readFileSync(`${pkg}/preflight_bg.wasm`) });
const [n, d, k] = [Number(args[0] || 20000), Number(args[1] || 32), 10];
let state = 12345;
const rand = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
const data = new Float32Array(n * d).map((_, i) => (Math.floor(i / d) % 5) + rand() * 2);
const tick = () => new Promise((r) => setTimeout(r, 0));
for (const metric of ['cosine', 'euclidean']) {
  for (let rep = 0; rep < 2; rep++) {
    const s = new mod.KnnSearch(data, n, d, k, metric);
    let t = performance.now();
    const per = Math.max(32, Math.ceil(400_000_000 / (n * d) / 32) * 32);
    const oneI = new Uint32Array(n * k);
    for (let f = 0; f < n; f += per) { const p = s.rows(f, Math.min(per, n - f)); oneI.set(p.indices, f * k); await tick(); }
    const oneway = performance.now() - t;
    t = performance.now();
    const pairs = s.pairs, step = s.pairsPerCall;
    for (let f = 0; f < pairs; f += step) { s.searchPairs(f, Math.min(step, pairs - f)); await tick(); }
    const lists = s.takeLists();
    const sym = performance.now() - t;
    let same = true; for (let i = 0; i < n * k; i++) if (lists.indices[i] !== oneI[i]) { same = false; break; }
    console.log(`${metric} n=${n} d=${d} rep ${rep}: one-way ${oneway.toFixed(0)} ms, symmetric ${sym.toFixed(0)} ms (${pairs} pairs, ${step}/call), ratio ${(oneway / sym).toFixed(2)}, same ${same}`);
    s.free();
  }
}
