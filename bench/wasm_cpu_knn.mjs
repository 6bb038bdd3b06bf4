// Times the wasm module's CPU path (the browser fallback) in Node's V8:
// a synthetic numeric CSV of N rows x D columns, profiled with backend
// "cpu" and every row in the kNN graph; prints each stage's milliseconds.
//
// usage: node bench/wasm_cpu_knn.mjs [--pkg www/pkg] [--rows 5000] [--dims 64] [--runs 3]
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const pkg = resolve(arg('pkg', 'www/pkg'));
const rows = Number(arg('rows', 5000));
const dims = Number(arg('dims', 64));
const runs = Number(arg('runs', 3));

const mod = await import(pathToFileURL(`${pkg}/preflight.js`).href);
mod.initSync({ module: readFileSync(`${pkg}/preflight_bg.wasm`) });

// Seeded data: a few Gaussian-ish clusters so the graph is not degenerate.
let state = 12345;
const rand = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
const header = Array.from({ length: dims }, (_, j) => `f${j}`).join(',');
const lines = [header];
for (let i = 0; i < rows; i++) {
  const c = i % 5;
  lines.push(Array.from({ length: dims }, (_, j) => (c * ((j % 3) + 1) + rand() * 2).toFixed(4)).join(','));
}
const bytes = new TextEncoder().encode(lines.join('\n') + '\n');

const times = [];
for (let r = 0; r < runs; r++) {
  const p = new mod.Profiler('bench.csv', { backend: 'cpu', maxKnnRows: rows });
  p.push(bytes);
  const { report } = await p.finish(null);
  times.push(report.compute.timings_ms);
}
const knn = times.map((t) => t.knn).sort((a, b) => a - b);
const median = knn[Math.floor(knn.length / 2)];
const flops = 2 * rows * rows * dims;
console.log(`${pkg}: N=${rows} D=${dims} knn median ${median.toFixed(1)} ms over ${runs} runs ` +
  `(${(flops / median / 1e6).toFixed(2)} GFLOP/s); all stages of the last run: ${JSON.stringify(times.at(-1))}`);
