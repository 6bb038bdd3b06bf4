// Label audits in the page: a CSV with a label and a second annotator
// column (detected by its name), a third annotator column the name does not
// reveal, and a verified flag is dropped on the page. The audit view must
// show the CLI's agreement and kappa, the confusion heat map's cells, the
// disagreement rows and the verified share; the review sample download must
// equal the CLI's `--review-sample` (same seed, same rows: the shuffle is
// the same in wasm and natively); choosing annotators and drawing another
// sample re-run the checks on the rows already read.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { assertSameReport, cliPath, download, dropAndCompare, pageSession, renderedStats, runCli, waitRunEnd } from './helpers.mjs';

/**
 * 51 rows. label/rater_b: yes/yes 20, yes/no 5, no/yes 10, no/no 15 (agreement
 * 0.7, Cohen's kappa 0.4 by hand), then a row without rater_b. second_look
 * copies label but for every 5th row, where it says "maybe" (a class the
 * others never use). is_verified is true on every 4th row.
 */
function auditCsv() {
  const lines = ['x,z,label,rater_b,second_look,is_verified'];
  const pairs = [['yes', 'yes', 20], ['yes', 'no', 5], ['no', 'yes', 10], ['no', 'no', 15]];
  let i = 0;
  for (const [a, b, n] of pairs) {
    for (let j = 0; j < n; j++, i++) lines.push(`${(i * 37) % 101}.5,${i % 7},${a},${b},${i % 5 === 0 ? 'maybe' : a},${i % 4 === 0}`);
  }
  lines.push(`3.25,1,no,,no,${i % 4 === 0}`);
  return `${lines.join('\n')}\n`;
}

/** The CLI's review sample CSV for `args`. */
function cliReviewSample(file, dir, args) {
  const out = path.join(dir, `review-${args.join('_') || 'default'}.csv`);
  const result = spawnSync(cliPath(), ['profile', file, '--quiet', '--review-sample', out, ...args], { encoding: 'utf8' });
  assert.ok(result.status === 0 || result.status === 1, `CLI failed: ${result.stderr}`);
  return fs.readFileSync(out, 'utf8');
}

describe('label audits in the page', { concurrency: false }, () => {
  const ctx = pageSession();

  test("agreement, kappa, heat map, disagreements, verified share and review sample equal the CLI's", async () => {
    const { page, dir } = ctx;
    const file = path.join(dir, 'annotated.csv');
    fs.writeFileSync(file, auditCsv());
    const { cli, report } = await dropAndCompare(page, file);

    const a = cli.report.annotator_agreement;
    assert.deepEqual(a.annotators, ['label', 'rater_b']);
    assert.ok(Math.abs(a.cohen_kappa - 0.4) < 1e-12, `kappa ${a.cohen_kappa}`);
    const stats = await renderedStats(page);
    assert.equal(Number(stats['stat-percent-agreement']), a.percent_agreement);
    assert.equal(Number(stats['stat-cohen-kappa']), a.cohen_kappa);
    assert.equal(Number(stats['stat-fleiss-kappa']), a.fleiss_kappa);
    assert.equal(Number(stats['stat-rows-left-out']), 1);
    assert.equal(await page.locator('[data-testid="stat-percent-agreement"] .stat-value').textContent(), '70.0%');
    assert.equal(await page.locator('[data-testid="stat-cohen-kappa"] .stat-value').textContent(), '0.400');

    // The heat map: label's classes down, rater_b's across, counts in the cells.
    const heatmap = page.locator('[data-testid="confusion-heatmap"]');
    assert.equal(await heatmap.getAttribute('role'), 'img');
    assert.match(await heatmap.getAttribute('aria-label'), /label \(rows\) against rater_b \(columns\)/);
    const cells = await page.locator('[data-testid="confusion-cell"]').evaluateAll((nodes) =>
      nodes.map((n) => [n.dataset.first, n.dataset.second, Number(n.dataset.count), n.classList.contains('agree'), n.querySelector('title').textContent]),
    );
    assert.deepEqual(
      cells.map((c) => c.slice(0, 4)),
      [['no', 'no', 15, true], ['no', 'yes', 10, false], ['yes', 'no', 5, false], ['yes', 'yes', 20, true]],
    );
    assert.match(cells[1][4], /label: no, rater_b: yes: 10 rows \(20\.0%\)/);

    // Disagreements: all 15 listed with their lines; the rule's warning shows.
    const disagreements = await page.locator('[data-testid="disagreement-row"]').evaluateAll((rows) => rows.map((r) => [Number(r.dataset.row), Number(r.dataset.line)]));
    assert.deepEqual(disagreements, a.disagreements.map((d) => [d.row, d.line]));
    assert.equal(disagreements.length, 15);
    assert.ok(report.verdict.warnings.some((w) => w.startsWith('annotator_agreement:')), 'the agreement warning');

    // Verified share.
    assert.equal(Number(stats['stat-verified-share']), cli.report.review.verified.share);
    assert.equal(await page.locator('[data-testid="verified-select"]').inputValue(), 'is_verified');

    // The review sample download equals the CLI's, row for row.
    const review = await download(page, 'download-review');
    assert.equal(review.name, 'annotated.preflight-review.csv');
    assert.equal(review.text, cliReviewSample(file, dir, []));
    assert.equal(review.text.split('\n')[0], 'row,line,label,reason,reviewer_label');
    assert.equal(review.text.trim().split('\n').length, 1 + 40);
  });

  test('choosing annotators and drawing another sample re-run on the rows already read', async () => {
    const { session, page, dir } = ctx;
    const file = path.join(dir, 'annotated.csv');
    // A third annotator whose name says nothing: chosen in the multi-select.
    let before = await page.evaluate(() => Number(document.body.dataset.run || 0));
    await page.locator('[data-testid="annotator-select"]').selectOption(['rater_b', 'second_look']);
    await page.locator('[data-testid="annotator-apply"]').click();
    let outcome = await waitRunEnd(page, before);
    assert.ok(outcome.ok, `the re-run failed: ${outcome.error}`);
    const three = JSON.parse((await download(page, 'download-json')).text);
    assert.equal(three.compute.timings_ms.read, 0, 'the re-run read nothing');
    const cli = runCli(file, ['--annotator', 'rater_b', '--annotator', 'second_look']);
    assertSameReport(three, cli.report, 'annotated.csv with three annotators');
    const a = three.annotator_agreement;
    assert.deepEqual(a.annotators, ['label', 'rater_b', 'second_look']);
    assert.equal(a.reason, 'chosen by the user (with the label column "label")');
    const stats = await renderedStats(page);
    assert.equal(stats['stat-cohen-kappa'], undefined, "no Cohen's kappa for three annotators");
    assert.equal(Number(stats['stat-fleiss-kappa']), a.fleiss_kappa);
    assert.equal(await page.locator('[data-testid="annotator-pair"]').count(), 3);
    // "maybe": only second_look uses it.
    const maybe = a.per_class.find((c) => c.class === 'maybe');
    assert.deepEqual(maybe.uses, [0, 0, 10]);
    assert.equal(await page.locator('[data-testid="class-agreement"][data-class="maybe"] .never-used').count(), 2);
    // The heat map follows the chosen pair.
    await page.locator('[data-testid="confusion-pair-select"]').selectOption('2');
    assert.equal(await page.locator('[data-testid="confusion-heatmap"]').getAttribute('data-first'), 'rater_b');
    assert.equal(await page.locator('[data-testid="confusion-cell"]').count(), 9);

    // Another sample: 3 per class, seed 9, plus the 2 rows most likely mislabelled.
    await page.locator('[data-testid="review-per-class"]').fill('3');
    await page.locator('[data-testid="review-seed"]').fill('9');
    await page.locator('[data-testid="review-enrich"]').fill('2');
    before = await page.evaluate(() => Number(document.body.dataset.run || 0));
    await page.locator('[data-testid="review-redraw"]').click();
    outcome = await waitRunEnd(page, before);
    assert.ok(outcome.ok, `the re-run failed: ${outcome.error}`);
    const review = await download(page, 'download-review');
    const args = ['--annotator', 'rater_b', '--annotator', 'second_look', '--review-per-class', '3', '--review-seed', '9', '--review-enrich', '2'];
    assert.equal(review.text, cliReviewSample(file, dir, args));
    const rows = review.text.trim().split('\n').slice(1).map((l) => l.split(','));
    assert.equal(rows.filter((r) => r[3] === 'stratified').length, 6);
    assert.equal(rows.filter((r) => r[3] === 'likely_mislabelled').length, 2);
    assert.equal((await renderedStats(page))['stat-review-seed'], '9');
    // The annotators chosen before stay chosen.
    const chosen = await page.locator('[data-testid="annotator-select"] option:checked').evaluateAll((o) => o.map((x) => x.value));
    assert.deepEqual(chosen, ['rater_b', 'second_look']);
    assert.deepEqual(session.pageErrors, []);
  });
});
