// Semantic text embeddings in the page: the choice says how large the model
// download is; a CSV with a text column runs with all-MiniLM-L6-v2 (the
// weights fetched from the local server, nowhere else); the report says
// "semantic" and where the model ran, and equals the CLI's report of the
// same file; a second run in the same browser takes the weights from the
// Cache API: the server sees one download of the .pfm in all.
//
// CPU: no WebGPU adapter (the wasm network). GPU: SwiftShader's adapter,
// forced with backend 'gpu' (the WGSL network).
//
//   flock /work/scratch/www-pkg.lock -c 'scripts/build-web --profile ci && node --test tests/e2e/page-semantic.test.mjs'

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { WWW, assertSameReport, download, pageSession, runCli, runViaDrop } from './helpers.mjs';

const MODEL = path.join(WWW, 'models', 'all-MiniLM-L6-v2.pfm');
const MODEL_PATH = '/models/all-MiniLM-L6-v2.pfm';

/** Paraphrase pairs (row ids): each the other's nearest neighbour by meaning. */
const PAIRS = [
  [0, 1],
  [2, 3],
  [4, 5],
  [6, 7],
];

/** id,text,label: four topics, rows 0-7 paraphrase pairs, row 16 over 256 tokens, row 17 without text. */
function dataset() {
  const texts = [
    ['The cat is sleeping on the sofa.', 'pets'],
    ['A kitten naps on the couch.', 'pets'],
    ['The stock market fell sharply today.', 'finance'],
    ['Share prices dropped steeply this afternoon.', 'finance'],
    ['Bake the cake at 180 degrees for forty minutes.', 'cooking'],
    ['Cook the sponge in a 180C oven for 40 minutes.', 'cooking'],
    ['The striker scored twice in the final.', 'football'],
    ['In the cup final the forward netted two goals.', 'football'],
    ['Dogs love to chase balls in the park.', 'pets'],
    ['My parrot repeats every word it hears.', 'pets'],
    ['The central bank raised interest rates again.', 'finance'],
    ['Investors are worried about inflation.', 'finance'],
    ['Chop the onions and fry them in butter.', 'cooking'],
    ['Season the soup with salt and pepper.', 'cooking'],
    ['The goalkeeper saved a penalty in extra time.', 'football'],
    ['The referee showed the defender a red card.', 'football'],
  ];
  const lines = ['id,text,label', ...texts.map(([text, label], i) => `${i},"${text}",${label}`)];
  lines.push(`16,"${Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ')}",finance`);
  lines.push('17,,pets');
  return lines.join('\n') + '\n';
}

function requireModel() {
  assert.ok(fs.existsSync(MODEL), `${MODEL} is missing: run scripts/fetch-model`);
}

/** Each row's neighbours from the outlier list (every row of the dataset is in it). */
function neighbours(report) {
  return new Map(report.outliers.top.map((r) => [r.row, r.neighbours]));
}

/** GET requests of the model file the server answered. */
function modelDownloads(session) {
  return session.serverLog.filter((r) => r.method === 'GET' && r.urlPath === MODEL_PATH).length;
}

async function chooseSemantic(page, backend) {
  if (!(await page.locator('[data-testid="options"]').evaluate((d) => d.open))) await page.locator('[data-testid="options"] > summary').click();
  await page.locator('[data-testid="backend-select"]').selectOption(backend);
  await page.locator('[data-testid="embed-select"]').focus();
  await page.locator('[data-testid="embed-select"]').selectOption('semantic');
}

/** Drops the dataset with semantic embeddings chosen; resolves to the page's report. */
async function semanticRun(page, file, backend) {
  await chooseSemantic(page, backend);
  await runViaDrop(page, file);
  const report = JSON.parse((await download(page, 'download-json')).text);
  const shown = page.locator('[data-testid="embedding-method"]');
  assert.equal(await shown.getAttribute('data-method'), 'semantic');
  assert.match(await shown.textContent(), /all-MiniLM-L6-v2 fp16 on the (CPU|GPU)/);
  return report;
}

function assertSemantic(report, backend) {
  const e = report.embedding;
  assert.equal(e.method, 'semantic');
  assert.equal(e.model, 'all-MiniLM-L6-v2 fp16');
  assert.equal(e.backend, backend, `embedding.backend (note: ${e.note ?? 'none'})`);
  assert.equal(e.truncated_texts, 1);
  assert.equal(e.rows_without_text, 1);
  assert.equal(e.rows, 17);
  assert.equal(e.dimension, 384);
  const near = neighbours(report);
  for (const [a, b] of PAIRS) {
    assert.equal(near.get(a)[0], b, `row ${a}'s nearest neighbour: ${near.get(a)}`);
    assert.equal(near.get(b)[0], a, `row ${b}'s nearest neighbour: ${near.get(b)}`);
  }
}

describe('semantic text embeddings in the page, on the CPU', () => {
  const ctx = pageSession({ webgpu: false });
  let file;
  let firstReport;

  test('the choice says the download size before anything is downloaded', async () => {
    requireModel();
    const { page, session, dir } = ctx;
    file = path.join(dir, 'texts.csv');
    fs.writeFileSync(file, dataset());
    await page.locator('[data-testid="options"] > summary').click();
    const select = page.locator('[data-testid="embed-select"]');
    assert.equal(await select.inputValue(), 'hashed', 'hashed n-grams are the default');
    await select.focus();
    await page.waitForFunction(() => document.querySelector('[data-testid="embed-select"]').dataset.model, null, { timeout: 10_000 });
    assert.equal(await select.getAttribute('data-model'), 'download');
    assert.equal(Number(await select.getAttribute('data-model-bytes')), fs.statSync(MODEL).size);
    const mib = fs.statSync(MODEL).size / 1024 / 1024;
    const size = `${mib.toFixed(mib < 10 ? 2 : 1)} MiB`; // as the page's formatBytes writes it
    assert.equal((await page.locator('[data-testid="embed-semantic"]').textContent()).trim(), `semantic (all-MiniLM-L6-v2, downloads ${size} once)`);
    assert.equal(modelDownloads(session), 0, 'asking the size downloads nothing');
  });

  test('a semantic run reports semantic on the CPU and equals the CLI\'s report', async () => {
    const { page, session } = ctx;
    firstReport = await semanticRun(page, file, 'cpu');
    assertSemantic(firstReport, 'cpu');
    assert.equal(modelDownloads(session), 1, 'the model was downloaded once');
    const cli = runCli(file, ['--embed', 'semantic', '--backend', 'cpu', '--model', MODEL]);
    assert.ok(cli.report, `the CLI refused the file: ${cli.stderr}`);
    assertSameReport(firstReport, cli.report, 'texts.csv --embed semantic');
  });

  test('a second run in the same browser takes the model from the Cache API', async () => {
    const { session } = ctx;
    // A new page: a new worker, whose wasm module has no model loaded.
    const page = await session.newPage();
    await page.locator('[data-testid="options"] > summary').click();
    await page.locator('[data-testid="embed-select"]').focus();
    await page.waitForFunction(() => document.querySelector('[data-testid="embed-select"]').dataset.model === 'cached', null, { timeout: 10_000 });
    const report = await semanticRun(page, file, 'cpu');
    assertSemantic(report, 'cpu');
    assert.equal(modelDownloads(session), 1, 'no second download of the model');
    assert.deepEqual(neighbours(report), neighbours(firstReport));
    await page.close();
  });

  test('every request went to the local server', () => {
    const { session } = ctx;
    const origin = new URL(session.server.url).origin;
    const elsewhere = session.requests.filter((r) => !/^(data|blob):/.test(r.url) && new URL(r.url).origin !== origin);
    assert.deepEqual(elsewhere, [], 'no request to another origin');
    assert.deepEqual(session.pageErrors.map(String), [], 'no page errors');
  });
});

describe('semantic text embeddings in the page, on the GPU (SwiftShader)', () => {
  const ctx = pageSession({ webgpu: true });

  test('backend gpu runs the WGSL network and finds the CPU\'s neighbours', async () => {
    requireModel();
    const { page, session, dir } = ctx;
    const file = path.join(dir, 'texts.csv');
    fs.writeFileSync(file, dataset());
    const report = await semanticRun(page, file, 'gpu');
    assertSemantic(report, 'gpu');
    assert.ok(report.embedding.adapter, 'the adapter is named');
    const cli = runCli(file, ['--embed', 'semantic', '--backend', 'cpu', '--model', MODEL]);
    assert.ok(cli.report, `the CLI refused the file: ${cli.stderr}`);
    const [gpu, cpu] = [neighbours(report), neighbours(cli.report)];
    for (const [row, list] of cpu) assert.deepEqual(gpu.get(row).slice(0, 3), list.slice(0, 3), `row ${row}`);
    assert.equal(modelDownloads(session), 1);
  });
});

describe('embedTexts, the module\'s sentence-embedding export', () => {
  const ctx = pageSession({ webgpu: false });

  test('gives sentence-transformers\' vectors, in order, and refuses what it cannot do', async () => {
    requireModel();
    const { page } = ctx;
    const fixture = path.join(path.dirname(WWW), 'tests', 'fixtures', 'semantic', 'reference.jsonl.gz');
    const { gunzipSync } = await import('node:zlib');
    const reference = gunzipSync(fs.readFileSync(fixture)).toString('utf8').split('\n').filter(Boolean).slice(0, 6).map((l) => JSON.parse(l));
    // Row 6 repeats row 0: the network sees it once, the output has it twice.
    const texts = [...reference.map((r) => r.text), reference[0].text];
    const out = await page.evaluate(async ([texts, modelPath]) => {
      const m = await import('/pkg/preflight.js');
      await m.default();
      const refused = async (f) => {
        try {
          await f();
          return null;
        } catch (err) {
          return err instanceof Error ? err.message : `not an Error: ${err}`;
        }
      };
      const noModel = await refused(() => m.embedTexts(texts, 'cpu'));
      m.setModel(new Uint8Array(await (await fetch(modelPath)).arrayBuffer()));
      const badBackend = await refused(() => m.embedTexts(texts, 'tpu'));
      const notStrings = await refused(() => m.embedTexts([1, 2], 'cpu'));
      const cpu = await m.embedTexts(texts, 'cpu');
      const auto = await m.embedTexts(texts.slice(0, 2), 'auto');
      const gpu = await refused(() => m.embedTexts(texts.slice(0, 2), 'gpu'));
      return {
        noModel, badBackend, notStrings, gpu,
        isFloat32: cpu.vectors instanceof Float32Array,
        cpu: { ...cpu, vectors: Array.from(cpu.vectors) },
        auto: { ...auto, vectors: Array.from(auto.vectors) },
      };
    }, [texts, MODEL_PATH]);
    assert.match(out.noModel ?? 'no error', /setModel/);
    assert.match(out.badBackend ?? 'no error', /backend must be auto, gpu or cpu/);
    assert.match(out.notStrings ?? 'no error', /array of strings/);
    assert.ok(out.gpu, 'backend gpu without an adapter is an error');
    assert.ok(out.isFloat32, 'vectors is a Float32Array');
    const { cpu, auto } = out;
    assert.equal(cpu.backend, 'cpu');
    assert.equal(cpu.adapter, null);
    assert.equal(cpu.note, null);
    assert.equal(cpu.truncated, 0);
    assert.equal(cpu.tokens, reference.reduce((s, r) => s + r.ids.length, 0), 'each distinct text once');
    assert.equal(cpu.vectors.length, texts.length * 384);
    const row = (v, i) => v.slice(i * 384, (i + 1) * 384);
    for (const [i, r] of reference.entries()) {
      const v = row(cpu.vectors, i);
      const norm = Math.hypot(...v);
      assert.ok(Math.abs(norm - 1) < 1e-4, `row ${i} has length ${norm}`);
      const cos = v.reduce((s, x, k) => s + x * r.embedding[k], 0) / Math.hypot(...r.embedding);
      assert.ok(cos > 0.9999, `row ${i}: cosine ${cos} with sentence-transformers`);
    }
    assert.deepEqual(row(cpu.vectors, 6), row(cpu.vectors, 0), 'a repeated text gets the same vector');
    assert.equal(auto.backend, 'cpu', 'auto without an adapter runs on the CPU');
    assert.match(auto.note ?? '', /GPU not used/);
    assert.deepEqual(auto.vectors, cpu.vectors.slice(0, 2 * 384));
  });
});
