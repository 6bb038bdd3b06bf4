// The page's "compare with…": a reference file checked first, then a
// candidate dropped on the compare zone. Penguins split in two with planted
// shared rows and a shifted column (as tests/compare.rs does); the page must
// show the planted leakage, rank the shifted column first, and download the
// same comparison JSON as `preflight compare REF CAND --json F --backend cpu`.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  FIXTURES,
  IGNORED_PATHS,
  IGNORED_PATTERNS,
  cliPath,
  download,
  jsonDifferences,
  makeTempDir,
  renderedStats,
  requirePrerequisites,
  runViaDrop,
  startSession,
  waitRunEnd,
} from './helpers.mjs';

const PLANTED = 17;

/** tests/compare.rs's shuffle: a seeded xorshift Fisher-Yates (u64, so BigInt). */
function shuffled(rows, seed) {
  const out = rows.slice();
  const mask = (1n << 64n) - 1n;
  let state = BigInt(seed);
  for (let i = out.length - 1; i >= 1; i--) {
    state ^= (state << 13n) & mask;
    state ^= state >> 7n;
    state ^= (state << 17n) & mask;
    const j = Number(state % BigInt(i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** body_mass_g (column 5) + `by`, "NA" kept. */
function shiftBodyMass(row, by) {
  const fields = row.split(',');
  const v = Number(fields[5]);
  if (fields[5] !== '' && Number.isFinite(v)) fields[5] = String(v + by);
  return fields.join(',');
}

/** Writes reference.csv and candidate.csv: planted copies, body_mass_g shifted by 1500 in the candidate. */
function plantedSplit(dir) {
  const lines = fs.readFileSync(path.join(FIXTURES, 'penguins.csv'), 'utf8').split(/\r?\n/);
  const header = lines.shift();
  const rows = shuffled(lines.filter((l) => l !== ''), 42);
  const a = rows.slice(0, rows.length / 2);
  const b = rows.slice(rows.length / 2);
  const candidate = b.map((r) => shiftBodyMass(r, 1500));
  a.filter((_, i) => i % 9 === 0)
    .slice(0, PLANTED)
    .forEach((row, i) => candidate.splice(i * 10, 0, row));
  const write = (name, body) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `${header}\n${body.join('\n')}\n`);
    return file;
  };
  return { reference: write('reference.csv', a), candidate: write('candidate.csv', candidate), a, candidate_rows: candidate };
}

function runCliCompare(reference, candidate) {
  const dir = makeTempDir('preflight-cli-compare-');
  const out = path.join(dir, 'compare.json');
  try {
    const result = spawnSync(cliPath(), ['compare', reference, candidate, '--json', out, '--backend', 'cpu', '--quiet'], {
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, NO_COLOR: '1' },
    });
    if (result.error) throw result.error;
    assert.ok(result.status === 0 || result.status === 1, `preflight compare exited ${result.status}: ${result.stderr}`);
    return { status: result.status, report: JSON.parse(fs.readFileSync(out, 'utf8')) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Each single-file report's own ignored paths, and where the whole-dataset kNN ran. */
const COMPARE_IGNORED = new Set([
  ...IGNORED_PATHS,
  ...['reference', 'candidate'].flatMap((which) => [...IGNORED_PATHS].map((p) => `${which}.${p}`)),
  'comparison.dataset_drift.backend',
]);
const COMPARE_PATTERNS = [...IGNORED_PATTERNS, ...IGNORED_PATTERNS.map((p) => new RegExp(`^(reference|candidate)\\.${p.source.slice(1)}`))];

/** Drops `file` on the compare zone and waits for the comparison (or an error). */
async function compareViaDrop(page, file) {
  const before = await page.evaluate(() => Number(document.body.dataset.run || 0));
  const base64 = fs.readFileSync(file).toString('base64');
  const dataTransfer = await page.evaluateHandle(
    ({ base64, name }) => {
      const binary = atob(base64);
      const bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], name, { type: 'text/csv' }));
      return transfer;
    },
    { base64, name: path.basename(file) },
  );
  const zone = page.locator('[data-testid="compare-zone"]');
  await zone.dispatchEvent('dragenter', { dataTransfer });
  await zone.dispatchEvent('dragover', { dataTransfer });
  await zone.dispatchEvent('drop', { dataTransfer });
  await dataTransfer.dispose();
  const outcome = await waitRunEnd(page, before);
  assert.ok(outcome.ok, `the page showed an error for the comparison: ${outcome.error}`);
  return outcome;
}

describe('page, compare with… (CPU backend)', { concurrency: false }, () => {
  let session;
  let page;
  let dir;

  before(async () => {
    requirePrerequisites();
    dir = makeTempDir('preflight-compare-');
    session = await startSession({ webgpu: false });
    page = await session.newPage();
    await page.locator('[data-testid="options"] > summary').click();
    await page.locator('[data-testid="backend-select"]').selectOption('cpu');
  });

  after(async () => {
    await session?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a candidate with planted copies and a shifted column: leakage, ranking and JSON match the CLI', async () => {
    const split = plantedSplit(dir);
    const cli = runCliCompare(split.reference, split.candidate);
    assert.equal(cli.status, 1, 'the CLI fails the verdict (leakage, drift)');
    assert.equal(cli.report.comparison.leakage.exact_rows, PLANTED, 'the CLI counts the planted rows');

    // Without a reference the compare zone says so.
    const fresh = await session.context.newPage();
    try {
      await fresh.goto(session.server.url, { waitUntil: 'load' });
      await fresh.waitForFunction(() => document.querySelector('[data-testid="engine-status"]')?.dataset.state === 'ready', null, { timeout: 60_000 });
      const before = await fresh.evaluate(() => Number(document.body.dataset.run || 0));
      await fresh.locator('[data-testid="compare-input"]').setInputFiles(split.candidate);
      const outcome = await waitRunEnd(fresh, before);
      assert.equal(outcome.ok, false, 'no reference: an error, not a report');
      assert.match(outcome.error, /reference/);
    } finally {
      await fresh.close();
    }

    await runViaDrop(page, split.reference);
    assert.equal(await page.locator('[data-testid="compare-zone"]').getAttribute('data-reference'), 'reference.csv');
    await compareViaDrop(page, split.candidate);

    const json = await download(page, 'download-compare-json');
    assert.match(json.url, /^blob:/);
    assert.match(json.name, /reference-vs-candidate\.preflight-compare\.json$/);
    const report = JSON.parse(json.text);
    const differences = jsonDifferences(report, cli.report, { ignored: COMPARE_IGNORED, patterns: COMPARE_PATTERNS });
    assert.deepEqual(differences, [], `the page's comparison differs from the CLI's:\n  ${differences.join('\n  ')}`);
    assert.equal(report.reference.compute.backend, 'cpu');

    // Rendered: verdict, leakage count and pairs, the drift ranking, the charts.
    assert.equal(await page.locator('[data-testid="verdict"]').getAttribute('data-passed'), 'false');
    const stats = await renderedStats(page);
    assert.equal(stats['stat-leakage-exact'], String(PLANTED), 'rendered leakage count');
    assert.equal(stats['stat-leakage-ignoring-ids'], String(PLANTED));
    assert.equal(stats['stat-reference-rows'], String(split.a.length));
    assert.equal(stats['stat-candidate-rows'], String(split.candidate_rows.length));
    assert.equal(stats['stat-drifted-columns'], '1');
    assert.ok(Number(stats['stat-dataset-drift']) > 0, 'whole-dataset drift score shown');
    const pairs = await page
      .locator('[data-testid="leak-pair"][data-kind="exact"]')
      .evaluateAll((rows) => rows.map((r) => [Number(r.dataset.referenceRow), Number(r.dataset.referenceLine), Number(r.dataset.candidateRow), Number(r.dataset.candidateLine)]));
    assert.equal(pairs.length, PLANTED, 'every planted pair is listed');
    for (const [refRow, refLine, candRow, candLine] of pairs) {
      assert.equal(split.candidate_rows[candRow], split.a[refRow], `pair ${refRow}/${candRow} points at the same row in both files`);
      assert.equal(refLine, refRow + 2);
      assert.equal(candLine, candRow + 2);
    }
    const ranked = await page.locator('[data-testid="drift-row"]').evaluateAll((rows) => rows.map((r) => [r.dataset.column, r.dataset.flagged]));
    assert.deepEqual(ranked, report.comparison.drift.map((d) => [d.column, String(d.flagged)]), 'drift table in the report\'s order');
    assert.deepEqual(ranked[0], ['body_mass_g', 'true'], 'the shifted column ranks first, flagged');
    const chart = page.locator('[data-testid="drift-row"]').first().locator('[data-testid="drift-histogram"]');
    assert.equal(await chart.locator('rect.bar-reference').count(), report.comparison.drift[0].histogram.bins.length);
    assert.equal(await chart.locator('rect.bar-candidate').count(), report.comparison.drift[0].histogram.bins.length);
    assert.ok(await page.locator('[data-testid="download-json"]').isHidden(), 'the single-file JSON button is hidden for a comparison');
    assert.deepEqual(session.pageErrors.map(String), [], 'no page errors');
  });
});
