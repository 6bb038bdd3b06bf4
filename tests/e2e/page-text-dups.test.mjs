// Text duplicates in the page: a CSV with a free-text column holding planted
// exact and near duplicates is dropped on the page; the report must equal the
// CLI's, and each near-duplicate group must show its texts side by side with
// the differing words marked. Run twice: without WebGPU (MinHash on the CPU)
// and with SwiftShader's WebGPU adapter and backend "gpu" (MinHash in the
// WGSL kernel), which must give the same groups.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { dropAndCompare, pageSession } from './helpers.mjs';

/**
 * Rows 0 and 3 identical; row 5 is row 0 with "The" lower-cased, a comma
 * added and "outdoors." changed to "indoors!"; row 6 is row 1 in capitals;
 * rows 7 and 8 hold markup that must show as text; the rest stand alone.
 */
const REVIEWS_CSV = [
  'id,stars,review',
  '1,5,"The battery lasts two full days and the screen is bright, sharp and easy to read outdoors."',
  '2,1,"Support never answered my emails; after three weeks I asked my bank for a refund."',
  '3,4,"Arrived early, well packed, and the charger works with my old laptop too."',
  '4,5,"The battery lasts two full days and the screen is bright, sharp and easy to read outdoors."',
  '5,2,"The strap broke within a month and the replacement costs more than the watch."',
  '6,5,"the battery lasts two full days, and the screen is bright, sharp and easy to read indoors!"',
  '7,1,"SUPPORT NEVER ANSWERED MY EMAILS; AFTER THREE WEEKS I ASKED MY BANK FOR A REFUND."',
  '8,3,"Nice case <img src=x onerror=""window.__xss=1""> but the hinge squeaks when opened slowly."',
  '9,3,"Nice case <img src=x onerror=""window.__xss=1""> but the hinge creaks when opened slowly."',
  '10,4,"Colours are accurate after calibration, though the stand wobbles on a soft desk."',
  '',
].join('\n');

for (const backend of ['cpu', 'gpu']) {
  const webgpu = backend === 'gpu';
  describe(`text duplicates in the page, MinHash on the ${backend}`, { concurrency: false }, () => {
    const ctx = pageSession({
      webgpu,
      prepare: async (page) => {
        if (webgpu) {
          await page.locator('[data-testid="options"] > summary').click();
          await page.locator('[data-testid="backend-select"]').selectOption('gpu');
        }
      },
    });

    test('groups equal the CLI\'s; texts side by side with the differences marked; markup stays text', async () => {
      const { page, dir } = ctx;
      const file = path.join(dir, 'reviews.csv');
      fs.writeFileSync(file, REVIEWS_CSV);
      const { report } = await dropAndCompare(page, file);

      const [text] = report.text_duplicates;
      assert.equal(text.column, 'review');
      assert.equal(text.engine, backend, `engine (note: ${text.engine_note ?? 'none'})`);
      assert.equal(await page.locator('[data-testid="text-engine"]').textContent(), backend.toUpperCase());
      assert.deepEqual(text.exact.groups.map((g) => g.rows), [[0, 3]]);
      assert.deepEqual(text.near.groups.map((g) => g.rows), [[0, 3, 5], [1, 6], [7, 8]]);

      // The exact group, with its text.
      const exact = page.locator('[data-testid="text-exact-group"]');
      assert.equal(await exact.count(), 1);
      assert.equal(await exact.getAttribute('data-rows'), '0 3');

      // Near groups: one box each, its distinct texts side by side.
      const groups = page.locator('[data-testid="text-near-group"]');
      assert.equal(await groups.count(), 3);
      assert.equal(await groups.nth(0).getAttribute('data-rows'), '0 3 5');
      const cards = groups.nth(0).locator('[data-testid="text-dup-text"]');
      assert.deepEqual(await cards.evaluateAll((nodes) => nodes.map((n) => n.dataset.row)), ['0', '5']);
      const marks = async (card) => card.locator('mark.diff').allTextContents();
      assert.deepEqual(await marks(cards.nth(0)), ['The', 'outdoors.']);
      assert.deepEqual(await marks(cards.nth(1)), ['the', ',', 'indoors!']);
      assert.equal(await cards.nth(1).locator('.text-body').textContent(), text.near.groups[0].texts[1].text, 'the whole text is shown');
      // Only the case differs: every word is marked but "I"; punctuation is not.
      const shouting = groups.nth(1).locator('[data-testid="text-dup-text"]').nth(1);
      assert.deepEqual(await marks(shouting), ['SUPPORT NEVER ANSWERED MY EMAILS', 'AFTER THREE WEEKS', 'ASKED MY BANK FOR A REFUND']);

      // Markup in the data is shown as text, never parsed.
      const markup = groups.nth(2).locator('[data-testid="text-dup-text"]');
      assert.match(await markup.nth(0).locator('.text-body').textContent(), /<img src=x onerror="window.__xss=1">/);
      assert.deepEqual(await marks(markup.nth(1)), ['creaks']);
      assert.equal(await page.locator('#report img').count(), 0, 'no element made from the data');
      assert.equal(await page.evaluate(() => window.__xss), undefined, 'no script ran');
    });

    test('no uncaught errors in the page', () => {
      assert.deepEqual(ctx.session.pageErrors.map(String), []);
    });
  });
}
