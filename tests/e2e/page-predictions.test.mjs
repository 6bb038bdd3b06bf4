// The model-prediction audit in the page: a CSV carrying a model's class
// probabilities (p_<class> columns, detected) is dropped on the page; the
// audit view must show the CLI's accuracy, the confusion matrix as a heat
// map, the per-class scores, the worst slice (the subgroup the model
// fails) with its size, the highest-loss rows, and say that confident
// learning on the probabilities ran; the downloads must equal the CLI's.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { dropAndCompare, pageSession } from './helpers.mjs';

/**
 * 120 rows, classes bird/cat/dog; the model is right except on every
 * "studio" photo (rows 0, 8, 16, ...), where it says the next class, and
 * on rows 13 and 77, whose labels were flipped (the model is sure of the
 * true class). A seeded generator varies the probabilities. Confident
 * learning flags the flipped rows, and studio rows too: it cannot tell a
 * wrong label from a subgroup the model fails, which is what the slices
 * show.
 */
function photosCsv() {
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const classes = ['bird', 'cat', 'dog'];
  const lines = ['photo_id,setting,width,label,p_bird,p_cat,p_dog'];
  for (let i = 0; i < 120; i++) {
    const truth = i % 3;
    const given = i === 13 || i === 77 ? (truth + 1) % 3 : truth;
    const setting = i % 8 === 0 ? 'studio' : i % 2 ? 'outdoor' : 'indoor';
    const predicted = setting === 'studio' ? (truth + 1) % 3 : truth;
    // The flipped rows: the model is sure (above every class threshold).
    const top = given !== truth ? 0.97 : 0.6 + 0.35 * random();
    const rest = 1 - top;
    const p = [0, 0, 0];
    p[predicted] = top;
    const second = (predicted + 1) % 3;
    p[second] = rest * random();
    p[3 - predicted - second] = 1 - top - p[second];
    lines.push(`${1000 + i},${setting},${200 + ((i * 37) % 500)},${classes[given]},${p.map((v) => v.toFixed(6)).join(',')}`);
  }
  return `${lines.join('\n')}\n`;
}

describe('model-prediction audit in the page', { concurrency: false }, () => {
  const ctx = pageSession();

  test('the audit view shows the CLI\'s accuracy, heat map, worst slice, highest-loss rows and the method', async () => {
    const { page, dir } = ctx;
    const file = path.join(dir, 'photos.csv');
    fs.writeFileSync(file, photosCsv());
    const { cli, report } = await dropAndCompare(page, file, ['--backend', 'cpu']);
    const audit = cli.report.prediction_audit;
    assert.ok(audit, 'the CLI detected the probability columns');
    assert.deepEqual(audit.columns, ['p_bird', 'p_cat', 'p_dog']);

    const view = page.locator('[data-testid="section-prediction-audit"]');
    assert.equal(await view.count(), 1);
    // Accuracy: the CLI's number, shown as a percentage.
    const accuracy = view.locator('[data-testid="stat-prediction-accuracy"]');
    assert.equal(Number(await accuracy.getAttribute('data-value')), audit.accuracy);
    assert.equal(await accuracy.locator('.stat-value').textContent(), `${(audit.accuracy * 100).toFixed(2)}%`);
    assert.equal(audit.accuracy, 103 / 120, 'wrong on the 15 studio rows and the 2 flipped ones');

    // The confusion matrix as a heat map: 3 x 3 cells holding the CLI's counts.
    const cells = view.locator('[data-testid="prediction-confusion"] [data-testid="confusion-cell"]');
    assert.equal(await cells.count(), 9);
    const counts = await cells.evaluateAll((nodes) => nodes.map((n) => Number(n.dataset.count)));
    assert.deepEqual(counts, audit.confusion_matrix.flat());

    // Per class.
    const classRows = view.locator('[data-testid="prediction-class"]');
    assert.deepEqual(await classRows.evaluateAll((nodes) => nodes.map((n) => n.dataset.class)), ['bird', 'cat', 'dog']);

    // The worst slice: the studio photos, every one wrong, with its size.
    const worst = view.locator('[data-testid="prediction-slice"]').first();
    assert.equal(await worst.getAttribute('data-column'), 'setting');
    assert.equal(await worst.getAttribute('data-slice'), 'studio');
    assert.equal(await worst.getAttribute('data-rows'), '15');
    assert.equal(Number(await worst.getAttribute('data-accuracy')), 0);
    assert.deepEqual([audit.slices[0].column, audit.slices[0].slice, audit.slices[0].rows], ['setting', 'studio', 15]);
    assert.match(await worst.textContent(), /0\.0%/);

    // Highest-loss rows, highest first, as the CLI lists them.
    const lossRows = view.locator('[data-testid="loss-row"]');
    assert.deepEqual(await lossRows.evaluateAll((nodes) => nodes.map((n) => Number(n.dataset.row))), audit.highest_loss.map((r) => r.row));

    // Which label-issue method ran, here and in the label-issue section.
    assert.equal(report.label_issues.method, 'confident_learning');
    assert.equal(await view.locator('[data-testid="label-issue-method"] [data-method]').getAttribute('data-method'), 'confident_learning');
    assert.match(await view.locator('[data-testid="label-issue-method"]').textContent(), /confident learning on the model's predicted probabilities/);
    assert.equal(await page.locator('[data-testid="label-issues-method"]').getAttribute('data-method'), 'confident_learning');
    const flaggedRows = await page.locator('[data-testid="label-issue-row"]').evaluateAll((nodes) => nodes.map((n) => Number(n.dataset.row)));
    assert.ok(flaggedRows.includes(13) && flaggedRows.includes(77), `flipped rows flagged: ${flaggedRows}`);
  });

  test('no uncaught errors in the page', () => {
    assert.deepEqual(ctx.session.pageErrors.map(String), []);
  });
});
