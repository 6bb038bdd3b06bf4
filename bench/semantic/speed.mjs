#!/usr/bin/env node
// Issue 9's speed benchmark in headless Chromium: sentences per second of
// preflight's MiniLM (WGSL on WebGPU, and the wasm CPU network) against
// transformers.js (same model, its WebGPU and WASM backends, local files),
// in the same browser, on the same sentences.
//
//   node bench/semantic/speed.mjs            # --sentences N (default 64) --batch B (transformers.js, default 32)
//                                            # --engines a,b (preflight-gpu, preflight-cpu, transformers-webgpu, transformers-wasm)
//                                            # --limit engine=M (that engine embeds only the first M of the
//                                            #   sentences: transformers-webgpu runs ~0.1 sentences/s on SwiftShader)
//
// Sentences: the texts of tests/fixtures/semantic/reference.jsonl.gz
// joined into N texts of 30 to 80 tokens (256 distinct for N = 256; the table says how many). Chromium's WebGPU
// here is SwiftShader (a CPU implementation), so "GPU" numbers on this
// machine measure both libraries on the same software device; a real GPU
// changes them. Needs: scripts/build-web, scripts/fetch-model, the ONNX
// export (bench/semantic/export_onnx.py, run by this script when missing,
// with a Python that has torch + transformers: $PYTHON, default python3).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { startBenchServer } from '../server.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const say = (text) => process.stderr.write(`bench: ${text}\n`);

function parseArgs(argv) {
  const args = { sentences: 64, batch: 32, engines: ['preflight-gpu', 'preflight-cpu', 'transformers-webgpu', 'transformers-wasm'], limits: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--sentences') args.sentences = Number(argv[++i]);
    else if (a === '--batch') args.batch = Number(argv[++i]);
    else if (a === '--engines') args.engines = argv[++i].split(',');
    else if (a === '--limit') {
      const [engine, m] = argv[++i].split('=');
      if (!(Number(m) >= 1)) {
        console.error(`speed.mjs: --limit wants engine=M, not ${argv[i]}`);
        process.exit(2);
      }
      args.limits[engine] = Number(m);
    }
    else {
      console.error(`speed.mjs: unknown argument ${a}`);
      process.exit(2);
    }
  }
  return args;
}

function sentences(n) {
  const fixture = path.join(REPO, 'tests', 'fixtures', 'semantic', 'reference.jsonl.gz');
  const lines = zlib.gunzipSync(fs.readFileSync(fixture)).toString('utf8').split('\n').filter(Boolean);
  const short = lines.map((l) => JSON.parse(l)).filter((r) => r.ids.length >= 4 && r.ids.length <= 64);
  if (short.length === 0) throw new Error(`no sentence of 4 to 64 tokens in ${fixture}`);
  // Texts of realistic length (a review, a support message: 30 to 80
  // tokens), all different: text k joins fixture sentences k, k + step,
  // k + 2 step, ... (indices mod the count; step 1 for the first round of
  // starts, 2 for the second, ...) until at least 30 tokens. Every engine
  // gets the same texts (bench/semantic/torch_speed.py builds them alike);
  // all distinct, so that preflight's one-pass-per-distinct-text saves
  // nothing here.
  const pool = [];
  for (let k = 0; k < n; k++) {
    const step = 1 + Math.floor(k / short.length);
    let text = '';
    let tokens = 2;
    for (let j = k; tokens < 30; j += step) {
      const r = short[j % short.length];
      text += (text ? ' ' : '') + r.text;
      tokens += r.ids.length - 2;
    }
    pool.push({ text, tokens });
  }
  const tokens = pool.reduce((s, r) => s + r.tokens, 0);
  const texts = pool.map((r) => r.text);
  return { texts, meanTokens: tokens / n, distinct: new Set(texts).size };
}

function ensureOnnx() {
  const model = path.join(REPO, 'bench', 'out', 'models', 'all-MiniLM-L6-v2', 'onnx', 'model.onnx');
  if (fs.existsSync(model)) return;
  const cache = path.join(REPO, '.cache', 'models');
  const wheel = fs.existsSync(cache) ? fs.readdirSync(cache).find((f) => f.endsWith('.whl')) : null;
  if (!wheel) throw new Error('the model wheel is not in .cache/models: run scripts/fetch-model');
  say('exporting the model to ONNX for transformers.js (once)');
  const python = process.env.PYTHON || 'python3';
  const r = spawnSync(python, [path.join(REPO, 'bench', 'semantic', 'export_onnx.py'), path.join(cache, wheel), path.join(REPO, 'bench', 'out', 'models')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('the ONNX export failed (it needs torch, transformers and onnx: set PYTHON to a Python that has them)');
}

function cosine(a, b) {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(path.join(REPO, 'www', 'pkg', 'preflight.js'))) throw new Error('www/pkg is missing: run scripts/build-web');
  if (!fs.existsSync(path.join(REPO, 'www', 'models', 'all-MiniLM-L6-v2.pfm'))) throw new Error('the model is missing: run scripts/fetch-model');
  if (!fs.existsSync(path.join(REPO, 'bench', 'node_modules', '@huggingface', 'transformers'))) {
    say('installing the npm peers into bench/node_modules');
    spawnSync('npm', ['install', '--prefix', path.join(REPO, 'bench'), '--ignore-scripts', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  }
  if (args.engines.some((e) => e.startsWith('transformers'))) ensureOnnx();
  const { texts, meanTokens, distinct } = sentences(args.sentences);
  const { chromium } = await import('playwright-core');
  const { CHROMIUM_ARGS, WEBGPU_ARG } = await import('../../scripts/chromium-flags.mjs');
  const server = await startBenchServer(['/www/', '/bench/semantic/', '/bench/node_modules/', '/bench/out/models/']);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-semantic-bench-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.PREFLIGHT_CHROMIUM || '/usr/bin/chromium',
    args: [...CHROMIUM_ARGS, WEBGPU_ARG],
    headless: true,
  });
  let outside = 0;
  await context.route('**/*', (route) => {
    if (route.request().url().startsWith(origin)) return route.continue();
    outside++;
    return route.abort();
  });
  const results = [];
  let adapter = 'none';
  try {
    const page = await context.newPage();
    await page.goto(`${origin}/bench/semantic/speed.html`);
    await page.waitForFunction(() => window.benchReady === true);
    adapter = await page.evaluate(async () => {
      const a = await navigator.gpu?.requestAdapter();
      return a ? `${a.info?.vendor ?? ''} ${a.info?.architecture ?? ''} ${a.info?.description ?? ''}`.trim() || 'an adapter' : 'none';
    });
    say(`WebGPU adapter: ${adapter}`);
    for (const engine of args.engines) {
      // The first M sentences only (--limit engine=M): same texts, fewer of them.
      const mine = texts.slice(0, Math.min(texts.length, args.limits[engine] ?? texts.length));
      say(`${engine}: ${mine.length} sentences`);
      try {
        const [lib, backend] = engine.split('-');
        const r = lib === 'preflight'
          ? await page.evaluate(([t, b]) => window.benchSemantic.preflight(t, b), [mine, backend])
          : await page.evaluate(([t, d, b]) => window.benchSemantic.transformers(t, d, b), [mine, backend, args.batch]);
        results.push({ engine, ...r });
      } catch (err) {
        results.push({ engine, error: String(err.message || err).slice(0, 400) });
      }
    }
    await page.close();
  } finally {
    await context.close();
    server.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  const reference = results.find((r) => r.engine.startsWith('transformers') && r.vectors);
  const lines = [
    `preflight semantic embedding speed, ${new Date().toISOString()}, headless Chromium, ${os.cpus().length} cores, WebGPU adapter: ${adapter}`,
    `${texts.length} sentences (${distinct} distinct, ${meanTokens.toFixed(1)} tokens on average), transformers.js batch ${args.batch}`,
    '',
    '| engine | backend | sentences | seconds | sentences/s | vs transformers.js same device | min cos vs ' + (reference?.engine ?? 'n/a') + ' (first 8) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of results) {
    if (r.error) {
      lines.push(`| ${r.engine} | error: ${r.error} | | | | | |`);
      continue;
    }
    const rate = r.sentences / r.seconds;
    const device = !r.engine.startsWith('preflight') ? null : r.engine.endsWith('gpu') ? 'transformers-webgpu' : 'transformers-wasm';
    const peer = device ? results.find((p) => p.engine === device && !p.error) : null;
    const vs = peer ? `${(rate / (peer.sentences / peer.seconds)).toFixed(2)}x` : '';
    let cos = '';
    if (reference && r.vectors && reference !== r) {
      let min = 1;
      const rows = Math.min(8, r.vectors.length / 384, reference.vectors.length / 384);
      for (let i = 0; i < rows; i++) min = Math.min(min, cosine(r.vectors.slice(i * 384, (i + 1) * 384), reference.vectors.slice(i * 384, (i + 1) * 384)));
      cos = min.toFixed(5);
    }
    lines.push(`| ${r.engine} | ${r.backend}${r.note ? ` (${r.note})` : ''} | ${r.sentences} | ${r.seconds.toFixed(2)} | ${rate.toFixed(1)} | ${vs} | ${cos} |`);
  }
  lines.push('', `requests to other origins: ${outside}`);
  const text = lines.join('\n') + '\n';
  fs.mkdirSync(path.join(REPO, 'bench', 'out'), { recursive: true });
  fs.writeFileSync(path.join(REPO, 'bench', 'out', 'semantic-speed.md'), text);
  process.stdout.write(text);
}

main().catch((err) => {
  console.error(`bench: error: ${err.message}`);
  process.exit(1);
});
