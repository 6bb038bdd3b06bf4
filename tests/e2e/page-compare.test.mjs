// The page's "compare with…": a reference file checked first, then a
// candidate dropped on the compare zone. Penguins split in two with planted
// shared rows and a shifted column (as tests/compare.rs does); the page must
// show the planted leakage, rank the shifted column first, and download the
// same comparison JSON as `preflight compare REF CAND --json F --backend cpu`;
// a free-text column exercises text leakage, both files' full reports render
// collapsed below the comparison, and a compare limit set in the options panel
// matches the CLI's flag.

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

// Candidate rows (not planted copies) whose review is a reference review with one word edited.
const EDITED_TEXTS = 4;

const WORDS = (
  'penguin colony island beach rocky icy cold windy sunny quiet noisy crowded nest chick egg feather flipper beak '
  + 'swim dive fish krill waddle slide huddle shelter storm wave shore cliff ridge snow glacier morning evening '
  + 'bright grey small large young old curious shy bold calm restless hungry watched counted measured recorded '
  + 'near far along across beside behind under over gentle steady sudden slow quick long short'
).split(' ');

/** A synthetic review sentence per row: 18 words drawn by a seeded LCG (no commas, so no CSV quoting). */
function reviews(count, seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
  return Array.from({ length: count }, (_, i) => {
    const words = Array.from({ length: 18 }, () => WORDS[next() % WORDS.length]);
    return `review ${i}: ${words.join(' ')}`;
  });
}

/**
 * Writes reference.csv and candidate.csv: planted copies, body_mass_g shifted
 * by 1500 in the candidate, and a free-text `review` column where a few
 * candidate rows carry an edited copy of a reference review.
 */
function plantedSplit(dir) {
  const lines = fs.readFileSync(path.join(FIXTURES, 'penguins.csv'), 'utf8').split(/\r?\n/);
  const header = `${lines.shift()},review`;
  const raw = shuffled(lines.filter((l) => l !== ''), 42);
  const texts = reviews(raw.length, 7);
  const rows = raw.map((r, i) => `${r},${texts[i]}`);
  const a = rows.slice(0, rows.length / 2);
  const b = rows.slice(rows.length / 2);
  const candidate = b.map((r) => shiftBodyMass(r, 1500));
  // Edited copies: candidate row 5 + 20 i (a reshuffled b row) takes reference row 3 + 11 i's review, last word changed.
  const edited = [];
  for (let i = 0; i < EDITED_TEXTS; i++) {
    const candIndex = 5 + 20 * i;
    const refIndex = 3 + 11 * i;
    const refText = a[refIndex].slice(a[refIndex].lastIndexOf(',') + 1);
    const text = refText.replace(/ \S+$/, ' lighthouse');
    const row = candidate[candIndex];
    candidate[candIndex] = `${row.slice(0, row.lastIndexOf(','))},${text}`;
    edited.push({ refIndex, text });
  }
  a.filter((_, i) => i % 9 === 0)
    .slice(0, PLANTED)
    .forEach((row, i) => candidate.splice(i * 10, 0, row));
  const write = (name, body) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `${header}\n${body.join('\n')}\n`);
    return file;
  };
  return { reference: write('reference.csv', a), candidate: write('candidate.csv', candidate), a, candidate_rows: candidate, edited };
}

function runCliCompare(reference, candidate, extraArgs = []) {
  const dir = makeTempDir('preflight-cli-compare-');
  const out = path.join(dir, 'compare.json');
  try {
    const result = spawnSync(cliPath(), ['compare', reference, candidate, '--json', out, '--backend', 'cpu', '--quiet', ...extraArgs], {
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

    // Text leakage: the review column, as the CLI found it.
    const cliText = cli.report.comparison.text_leakage ?? [];
    const cliReview = cliText.find((t) => t.column === 'review');
    assert.ok(cliReview, `the CLI checks the review column for text leakage: ${JSON.stringify(cliText.map((t) => t.column))}`);
    assert.equal(cliReview.exact_rows, PLANTED, 'the planted rows copy their reviews exactly');
    assert.ok(cliReview.near_rows >= EDITED_TEXTS, `the edited reviews are near copies (${cliReview.near_rows})`);
    const textBlocks = await page
      .locator('[data-testid="text-leakage"]')
      .evaluateAll((nodes) => nodes.map((n) => [n.dataset.column, Number(n.dataset.exactRows), Number(n.dataset.nearRows)]));
    assert.deepEqual(textBlocks, cliText.map((t) => [t.column, t.exact_rows, t.near_rows]), 'rendered text leakage = the CLI\'s');
    const review = page.locator('[data-testid="text-leakage"][data-column="review"]');
    const textPairs = await review
      .locator('[data-testid="text-leak-pair"]')
      .evaluateAll((rows) => rows.map((r) => [r.dataset.kind, Number(r.dataset.referenceRow), Number(r.dataset.candidateRow)]));
    assert.deepEqual(textPairs, (cliReview.pairs ?? []).map((p) => [p.kind, p.reference_row, p.candidate_row]), 'rendered text pairs = the CLI\'s');
    const nearPairs = new Map(textPairs.filter(([kind]) => kind !== 'exact').map(([, refRow, candRow]) => [candRow, refRow]));
    for (const { refIndex, text } of split.edited) {
      const candRow = split.candidate_rows.findIndex((r) => r.endsWith(`,${text}`));
      assert.ok(candRow >= 0);
      if (nearPairs.has(candRow)) assert.equal(nearPairs.get(candRow), refIndex, `edited review at candidate row ${candRow} points at its source`);
    }
    assert.ok([...nearPairs.values()].some((ref) => split.edited.some((e) => e.refIndex === ref)), 'at least one edited review is listed with its source');

    // Both files' full reports, collapsed below the comparison, ids scoped.
    for (const [which, rows] of [['reference', split.a.length], ['candidate', split.candidate_rows.length]]) {
      const details = page.locator(`details[data-testid="full-report-${which}"]`);
      assert.equal(await details.count(), 1, `one full report of the ${which}`);
      assert.equal(await details.evaluate((d) => d.open), false, 'collapsed at first');
      await details.locator('> summary').click();
      assert.equal(await details.evaluate((d) => d.open), true, 'opens on click');
      assert.equal(await details.getAttribute('data-rows'), String(rows));
      const rowsStat = details.locator(`[data-testid="${which}-stat-rows"]`);
      assert.ok(await rowsStat.isVisible(), `the ${which}'s row count is shown`);
      assert.equal(await rowsStat.getAttribute('data-value'), String(rows), `the ${which}'s rendered row count`);
      assert.equal(await details.locator(`[data-testid="${which}-verdict"]`).getAttribute('data-passed'), String(Boolean(report[which].verdict.passed)));
      assert.equal(await details.locator(`[data-testid="${which}-column-row"]`).count(), report[which].columns.length, `the ${which}'s columns`);
    }
    const clashes = await page.evaluate(() => {
      const seen = (values) => values.filter((v, i) => v && values.indexOf(v) !== i);
      return {
        ids: seen([...document.querySelectorAll('[id]')].map((n) => n.id)),
        testids: seen([...document.querySelectorAll('[data-testid]')].map((n) => n.dataset.testid)).filter((t) => /^(verdict|stat-|section-|full-report|compare-|file-summaries|drift-table|leak-pairs)/.test(t)),
      };
    });
    assert.deepEqual(clashes, { ids: [], testids: [] }, 'no duplicate ids, nor duplicate test ids the tests rely on');
    assert.deepEqual(session.pageErrors.map(String), [], 'no page errors');
  });

  test('a compare limit set in the options panel gives the same JSON as the CLI with that flag', async () => {
    const split = plantedSplit(dir);
    const cli = runCliCompare(split.reference, split.candidate, ['--psi', '0.01']);
    const defaults = runCliCompare(split.reference, split.candidate);
    const flagged = (r) => r.comparison.drift.filter((d) => d.flagged).map((d) => d.column);
    assert.notDeepEqual(cli.report, defaults.report, 'the flag changes the CLI\'s report');
    assert.ok(flagged(cli.report).length > flagged(defaults.report).length, 'a lower PSI limit flags more columns');

    // Placeholders state the CLI's defaults.
    const placeholders = await page
      .locator('[data-threshold]')
      .evaluateAll((inputs) => Object.fromEntries(inputs.map((i) => [i.dataset.threshold, i.placeholder])));
    assert.deepEqual(placeholders, { ks: '0.1', alpha: '0.01', psi: '0.2', js: '0.1', missingChange: '0.1', datasetDrift: '0.2', leakageShare: '0' });

    await page.locator('[data-testid="threshold-psi"]').fill('0.01');
    try {
      await runViaDrop(page, split.reference);
      await compareViaDrop(page, split.candidate);
      const report = JSON.parse((await download(page, 'download-compare-json')).text);
      const differences = jsonDifferences(report, cli.report, { ignored: COMPARE_IGNORED, patterns: COMPARE_PATTERNS });
      assert.deepEqual(differences, [], `the page's comparison with PSI 0.01 differs from \`--psi 0.01\`:\n  ${differences.join('\n  ')}`);
      assert.deepEqual(flagged(report), flagged(cli.report));
      const rendered = await page.locator('[data-testid="drift-row"][data-flagged="true"]').evaluateAll((rows) => rows.map((r) => r.dataset.column));
      assert.deepEqual(rendered, flagged(cli.report), 'rendered flagged columns follow the limit');
    } finally {
      await page.locator('[data-testid="threshold-psi"]').fill('');
    }
    assert.deepEqual(session.pageErrors.map(String), [], 'no page errors');
  });
});
