// www/pkg/preflight.js outside a browser: Node's V8 runs the same wasm
// module (the benchmarks' and a pipeline's way in). A run's stages give the
// event loop turns between their calls (a MessageChannel message each);
// each turn's port must be closed after, or Node would never exit.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { makeTempDir, WWW } from './helpers.mjs';

const RUN = `
import fs from 'node:fs';
const [pkg, file] = process.argv.slice(2);
const mod = await import(pkg + '/preflight.js');
await mod.default({ module_or_path: fs.readFileSync(pkg + '/preflight_bg.wasm') });
const profiler = new mod.Profiler('notes.csv', { backend: 'cpu' });
profiler.push(fs.readFileSync(file));
const result = await profiler.finish(() => {});
const report = result.report;
console.log(JSON.stringify({ rows: report.source.rows, text: report.text_duplicates.map((t) => t.column), knn: report.compute.timings_ms.knn >= 0 }));
`;

describe('the wasm module in Node', () => {
  test('a run with text duplicates and a kNN graph ends, and so does the process', () => {
    const dir = makeTempDir();
    try {
      // 6,000 rows: more texts than one signature call takes (4,096), and
      // more block pairs than one kNN call, so that both stages yield.
      const lines = ['id,x,y,note'];
      for (let i = 0; i < 6000; i++) lines.push(`${i},${(i * 7919) % 1000},${(i * 104729) % 977},"note number ${i} about item ${i % 300} with some words"`);
      const file = path.join(dir, 'notes.csv');
      fs.writeFileSync(file, `${lines.join('\n')}\n`);
      const script = path.join(dir, 'run.mjs');
      fs.writeFileSync(script, RUN);
      const run = spawnSync(process.execPath, [script, path.join(WWW, 'pkg'), file], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(run.error?.code, undefined, `node did not exit within 120 s (${run.error?.code}): an event-loop turn left a port open`);
      assert.equal(run.status, 0, run.stderr);
      const out = JSON.parse(run.stdout.trim().split('\n').pop());
      assert.equal(out.rows, 6000);
      assert.deepEqual(out.text, ['note']);
      assert.equal(out.knn, true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
