// The options panel's "Rules file": a chosen file is parsed in the page and
// checked by the wasm parser at once (its status names the rule and field at
// fault); a run with an invalid one is refused; a valid one's rules show in
// the verdict (every rule with value, limit, outcome and where it came from)
// and the report equals `preflight profile FILE --rules RULES.json`;
// "Remove" returns to the default rules.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { FIXTURES, assertSameReport, download, pageSession, runCli, runViaDrop } from './helpers.mjs';

const PENGUINS = path.join(FIXTURES, 'penguins.csv');

const RULES = {
  rules: [
    { rule: 'allowed_values', column: 'island', values: ['Biscoe', 'Dream'], severity: 'error' },
    { rule: 'max_missing_share', column: 'sex', max: 0.01, severity: 'warning' },
    { rule: 'row_count', min: 1, severity: 'error' },
  ],
};

describe('rules file in the page', { concurrency: false }, () => {
  const ctx = pageSession({
    prepare: async (page) => {
      await page.locator('[data-testid="options"] > summary').click();
    },
  });

  async function chooseRules(name, text) {
    const { page, dir } = ctx;
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    await page.locator('[data-testid="rules-input"]').setInputFiles(file);
    const handle = await page.waitForFunction(
      (fileName) => {
        const status = document.querySelector('[data-testid="rules-status"]');
        const state = status?.dataset.state;
        return (state === 'valid' || state === 'invalid') && status.textContent.includes(fileName) ? { state, text: status.textContent } : null;
      },
      name,
      { timeout: 30_000 },
    );
    return { file, ...(await handle.jsonValue()) };
  }

  test('an invalid rules file is named with its rule and field; a run with it is refused', async () => {
    const { page } = ctx;
    const bad = await chooseRules('bad-field.json', JSON.stringify({ rules: [{ rule: 'row_count', min: 1, severity: 'error' }, { rule: 'max_missing_share', colum: 'a', max: 0.1, severity: 'error' }] }));
    assert.equal(bad.state, 'invalid');
    assert.match(bad.text, /^bad-field\.json: rules\[1\] \(max_missing_share\): field "colum": unknown field; max_missing_share takes rule, severity, column, max$/);
    assert.equal(await page.locator('[data-testid="rules-clear"]').isVisible(), true);

    const notJson = await chooseRules('not-json.json', '{"rules": [');
    assert.equal(notJson.state, 'invalid');
    assert.match(notJson.text, /^not-json\.json: not valid JSON: /);
    const outcome = await runViaDrop(page, PENGUINS, { expectError: true });
    assert.match(outcome.error, /The rules file not-json\.json cannot be used: not valid JSON/);
  });

  test('a valid rules file: every rule in the verdict, the report equal to the CLI\'s', async () => {
    const { page } = ctx;
    const chosen = await chooseRules('rules.json', JSON.stringify(RULES, null, 2));
    assert.equal(chosen.state, 'valid');
    assert.equal(chosen.text, 'rules.json: 3 rules; the default rules apply too');

    await runViaDrop(page, PENGUINS);
    const report = JSON.parse((await download(page, 'download-json')).text);
    const cli = runCli(PENGUINS, ['--backend', 'cpu', '--rules', chosen.file]);
    assert.equal(cli.status, 1, cli.stderr);
    assertSameReport(report, cli.report, 'penguins.csv with rules.json');

    const fromFile = report.verdict.rules.filter((r) => r.source === 'rules file');
    assert.deepEqual(fromFile.map((r) => [r.rule, r.passed]), [['allowed_values', false], ['max_missing_share', false], ['row_count', true]]);
    assert.equal(fromFile[0].value, 52);
    assert.equal(fromFile[0].column, 'island');
    assert.ok(!report.verdict.rules.some((r) => r.rule === 'has_rows'), 'row_count replaces has_rows');

    const verdict = page.locator('[data-testid="verdict"]');
    assert.equal(await verdict.getAttribute('data-passed'), 'false');
    const failures = await page.locator('[data-testid="verdict-failures"] li').allTextContents();
    assert.deepEqual(failures, report.verdict.failures);
    assert.match(failures[0], /^allowed_values: 52 of 344 non-missing values of "island" are not allowed/);
    const warnings = await page.locator('[data-testid="verdict-warnings"] li').allTextContents();
    assert.ok(warnings.some((w) => w.startsWith('max_missing_share: 11 of 344 values of "sex" are missing')), warnings.join('\n'));

    // The rules table: one row per rule, with column, value, limit, outcome and source.
    const rows = await page.locator('[data-testid="rules"] tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
    assert.equal(rows.length, report.verdict.rules.length);
    const island = rows.find((cells) => cells[0] === 'allowed_values');
    assert.deepEqual(island.slice(0, 7), ['allowed_values', 'island', 'error', '52', '0', 'failed', 'rules file']);
    const summary = await page.locator('[data-testid="verdict"] details.rules > summary').textContent();
    assert.equal(summary, `Rules (${rows.length}: ${report.verdict.rules.filter((r) => !r.passed).length} failed; 3 from the rules file)`);
  });

  test('Remove: the default rules again', async () => {
    const { page } = ctx;
    await page.locator('[data-testid="rules-clear"]').click();
    assert.equal(await page.locator('[data-testid="rules-status"]').getAttribute('data-state'), 'none');
    assert.match(await page.locator('[data-testid="rules-status"]').textContent(), /none: the default rules/);
    await runViaDrop(page, PENGUINS);
    const report = JSON.parse((await download(page, 'download-json')).text);
    assert.ok(report.verdict.rules.every((r) => r.source === 'default'));
    assert.equal(report.verdict.passed, true);
  });

  test('no uncaught errors in the page', () => {
    assert.deepEqual(ctx.session.pageErrors.map(String), []);
  });
});
