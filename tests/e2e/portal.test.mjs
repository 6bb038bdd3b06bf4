// The embedding API in a host page: www/portal.html, an example data-sharing
// portal, checks the chosen file with <preflight-check> before its Upload
// button may be used. A file with PII must stay blocked with the reason
// shown; a clean file (dropped on the element) must be allowed. Then the JS
// API (www/preflight.js) on the same page: the report equals the CLI's,
// progress arrives, abort ends the worker at once, errors name the file or
// the rules. The README's embedding snippet must be the page's own code.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CONTENT_SECURITY_POLICY, startServer } from '../../scripts/serve.mjs';
import {
  assertAllUnder,
  dropOn,
  elementEvents,
  readmeBlocks,
  recordElementEvents,
  startBrowser,
  waitCheckEnd,
  writeCustomerFiles,
} from './embed-helpers.mjs';
import { WWW, assertSameReport, makeTempDir, requirePrerequisites, rowsCsvDifferences, runCli } from './helpers.mjs';

/** Lines without their indentation, blank lines dropped. */
const lines = (text) => text.split('\n').map((l) => l.trim()).filter((l) => l !== '');

describe('README: embedding in a portal', () => {
  test('each snippet is, line for line, a contiguous part of the example page (portal.html or portal.js)', () => {
    const blocks = readmeBlocks('## Embedding in a portal');
    // The profile() snippet is run as written by hosting.test.mjs; every other one is the portal's code.
    const snippets = blocks.filter((b) => (b.lang === 'html' || b.lang === 'js') && !/\bawait profile\(/.test(b.text));
    assert.equal(blocks.filter((b) => /\bawait profile\(/.test(b.text)).length, 1, 'one profile() snippet');
    assert.ok(snippets.some((b) => b.lang === 'html') && snippets.some((b) => b.lang === 'js'), 'an HTML and a JS snippet');
    const pages = { html: fs.readFileSync(path.join(WWW, 'portal.html'), 'utf8'), js: fs.readFileSync(path.join(WWW, 'portal.js'), 'utf8') };
    for (const block of snippets) {
      const want = lines(block.text);
      const have = lines(pages[block.lang]);
      const at = have.findIndex((_, i) => want.every((line, j) => have[i + j] === line));
      assert.ok(at >= 0, `README snippet not found in www/portal.${block.lang}:\n${block.text}`);
    }
  });
});

test('portal.html carries the same Content-Security-Policy as index.html and serve.mjs', () => {
  const html = fs.readFileSync(path.join(WWW, 'portal.html'), 'utf8');
  const meta = html.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/);
  assert.ok(meta, 'portal.html has a CSP meta tag');
  assert.equal(meta[1], CONTENT_SECURITY_POLICY);
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
});

describe('example portal (www/portal.html)', { concurrency: false }, () => {
  let server;
  let browser;
  let page;
  let dir;
  let files;
  const serverLog = [];

  before(async () => {
    requirePrerequisites();
    dir = makeTempDir();
    files = writeCustomerFiles(dir);
    server = await startServer({ port: 0, root: WWW, onRequest: (method, urlPath) => serverLog.push({ method, urlPath }) });
    browser = await startBrowser();
    page = await browser.newPage(`${server.url}portal.html`);
    await recordElementEvents(page);
    // The element loads the checker as soon as it is connected.
    await page.evaluate(async () => (await import(new URL('preflight.js', document.baseURI).href)).preload());
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('upload is disabled before any file is checked', async () => {
    assert.equal(await page.locator('#upload').isDisabled(), true);
    assert.equal(await page.locator('preflight-check').getAttribute('data-state'), 'idle');
  });

  test('a file with PII stays blocked, and the page says why', async () => {
    await page.locator('#dataset-file').setInputFiles(files.pii);
    const state = await waitCheckEnd(page, 'customers-with-pii.csv');
    const errorText = state === 'error' ? await page.locator('[data-testid="preflight-error"]').textContent() : '';
    assert.equal(state, 'failed', `the check should fail, not ${state} ${errorText}`);
    assert.equal(await page.locator('#upload').isDisabled(), true, 'upload stays disabled');

    // The element's summary names the failed rule; the portal's status line repeats it.
    const failures = page.locator('[data-testid="preflight-failures"] li[data-rule="no_pii"]');
    assert.equal(await failures.count(), 1, 'the no_pii rule is listed as failed');
    assert.equal(await page.locator('[data-testid="preflight-failures"] li').count(), 1, 'each failure listed once');
    assert.match(await failures.textContent(), /email/);
    assert.equal(await failures.getAttribute('data-severity'), 'error');
    assert.equal(await page.locator('[data-testid="preflight-verdict"]').textContent(), 'Failed');
    const status = page.locator('[data-testid="upload-status"]');
    assert.equal(await status.getAttribute('data-state'), 'blocked');
    assert.match(await status.textContent(), /customers-with-pii\.csv cannot be uploaded: .*no_pii/);

    // The report event carried the verdict.
    const reports = await elementEvents(page, 'preflight-report');
    assert.equal(reports.length, 1);
    assert.equal(reports[0].file, 'customers-with-pii.csv');
    assert.equal(reports[0].passed, false);
    assert.ok(reports[0].failedRules.includes('no_pii'), `failed rules: ${reports[0].failedRules}`);
    assert.ok(reports[0].failures.length >= 1);
    const report = await page.evaluate(() => document.querySelector('preflight-check').report);
    assert.ok(report.pii.kinds.email >= 40, `emails found: ${JSON.stringify(report.pii.kinds)}`);
    assert.ok(report.pii.kinds.card >= 40, `cards found: ${JSON.stringify(report.pii.kinds)}`);
    const progress = await elementEvents(page, 'preflight-progress');
    assert.ok(progress.some((e) => e.stage === 'reading'), 'progress events during reading');
    const states = (await elementEvents(page, 'preflight-state')).map((e) => e.state);
    assert.deepEqual(states, ['checking', 'failed']);

    // The summary expands to the full report, with the PII masked.
    await page.locator('[data-testid="preflight-full"] > summary').click();
    const full = page.locator('[data-testid="preflight-report"]');
    await full.locator('[data-testid="verdict"]').waitFor({ timeout: 10_000 });
    assert.equal(await full.locator('[data-testid="verdict"]').getAttribute('data-passed'), 'false');
    const fullText = await full.textContent();
    assert.doesNotMatch(fullText, /customer\d+\.name@example\.com/, 'no email address in the full report');
    assert.doesNotMatch(fullText, /4111 1111 1111 1111/, 'no card number in the full report');

    // Submitting does nothing while blocked.
    await page.locator('#share-form').evaluate((form) => form.requestSubmit());
    assert.equal(await status.getAttribute('data-state'), 'blocked');
  });

  test('a clean file dropped on the element goes into the upload input, passes, and enables upload', async () => {
    await dropOn(page, page.locator('[data-testid="preflight-drop"]'), files.clean);
    const state = await waitCheckEnd(page, 'customers-clean.csv');
    const failed = state === 'passed' ? [] : await page.locator('[data-testid="preflight-failures"] li').allTextContents();
    assert.equal(state, 'passed', `the clean file should pass: ${failed.join(' | ')}`);
    assert.equal(await page.locator('#upload').isDisabled(), false, 'upload enabled');
    assert.equal(await page.locator('#dataset-file').evaluate((input) => input.files[0]?.name), 'customers-clean.csv', 'the dropped file is the file to upload');
    assert.equal(await page.locator('[data-testid="preflight-verdict"]').textContent(), 'Passed');
    assert.equal(await page.locator('[data-testid="preflight-failures"]').count(), 0);
    assert.equal(await page.locator('[data-testid="preflight-full"]').getAttribute('open'), null, 'a new report starts collapsed');
    const reports = await elementEvents(page, 'preflight-report');
    assert.equal(reports.length, 2);
    assert.equal(reports[1].passed, true);
    assert.deepEqual(reports[1].failedRules, []);

    await page.locator('#upload').click();
    const status = page.locator('[data-testid="upload-status"]');
    assert.equal(await status.getAttribute('data-state'), 'uploaded');
    assert.match(await status.textContent(), /^Would upload customers-clean\.csv \(\d+ bytes\)/);
  });

  test('choosing the PII file again blocks upload again; clearing the input keeps it blocked', async () => {
    await page.locator('#dataset-file').setInputFiles(files.pii);
    assert.equal(await page.locator('#upload').isDisabled(), true, 'disabled as soon as a new check starts');
    assert.equal(await waitCheckEnd(page, 'customers-with-pii.csv'), 'failed');
    assert.equal(await page.locator('#upload').isDisabled(), true);
    await page.locator('#dataset-file').setInputFiles([]);
    assert.equal(await page.locator('preflight-check').getAttribute('data-state'), 'idle');
    assert.equal(await page.locator('#upload').isDisabled(), true);
    assert.equal((await elementEvents(page, 'preflight-reset')).at(-1)?.file, null);
  });

  test('moving the element while it checks (a disconnect and a connect) runs the check again', async () => {
    // Found by review: the check the disconnect aborted left the element "checking" for good.
    await page.locator('#dataset-file').setInputFiles(files.clean);
    await page.evaluate(() => {
      const check = document.querySelector('preflight-check');
      check.parentNode.insertBefore(check, check.nextSibling);
    });
    assert.equal(await waitCheckEnd(page, 'customers-clean.csv', { timeout: 60_000 }), 'passed');
    assert.equal(await page.locator('#upload').isDisabled(), false, 'upload enabled after the check ran again');
    assert.equal((await elementEvents(page, 'preflight-report')).at(-1)?.file, 'customers-clean.csv');
  });

  test('JS API: profile() resolves to the CLI\'s report, with progress', async () => {
    const cli = runCli(files.clean);
    assert.ok(cli.report, `the CLI refused the clean file: ${cli.stderr}`);
    const csv = fs.readFileSync(files.clean, 'utf8');
    const result = await page.evaluate(async (csv) => {
      const { profile } = await import(new URL('preflight.js', document.baseURI).href);
      const stages = [];
      const report = await profile(new File([csv], 'customers-clean.csv', { type: 'text/csv' }), { onProgress: (p) => stages.push(p) });
      return { report, stages };
    }, csv);
    assertSameReport(result.report, cli.report, 'customers-clean.csv through profile()');
    const reading = result.stages.filter((s) => s.stage === 'reading');
    assert.ok(reading.length >= 1, 'reading progress');
    const last = reading.at(-1);
    assert.equal(last.fraction, 1);
    assert.equal(last.bytesRead, Buffer.byteLength(csv));
    assert.equal(last.totalBytes, Buffer.byteLength(csv));
    // Rows are counted as they are parsed: a file smaller than the sniffing sample is parsed at the end.
    assert.ok(Number.isInteger(last.rowsRead) && last.rowsRead >= 0 && last.rowsRead <= 40, `rowsRead ${last.rowsRead}`);
    assert.ok(result.stages.some((s) => s.stage !== 'reading'), 'later stages reported');

    // The rules, given as a URL relative to the page, are applied.
    const ruled = await page.evaluate(async (csv) => {
      const { profile } = await import(new URL('preflight.js', document.baseURI).href);
      const blob = new Blob([csv]);
      const report = await profile(blob, { rules: 'samples/portal-rules.json', name: 'pii.csv' });
      return { name: report.source.name, passed: report.verdict.passed, failed: report.verdict.rules.filter((r) => !r.passed).map((r) => r.rule) };
    }, fs.readFileSync(files.pii, 'utf8'));
    assert.equal(ruled.name, 'pii.csv', 'a Blob takes the given name');
    assert.equal(ruled.passed, false);
    assert.ok(ruled.failed.includes('no_pii'), `failed rules: ${ruled.failed}`);
  });

  test('JS API: profileWithRows() gives the CLI\'s per-row CSV, in several pieces for a long file; profile() leaves it out', async () => {
    // 120,000 rows: the worker sends the CSV in pieces of 50,000 rows, joined here.
    const dir = makeTempDir('preflight-rows-');
    const file = path.join(dir, 'long.csv');
    const lines = ['id,size,colour,note'];
    for (let i = 0; i < 120_000; i++) {
      // Every 997th row repeats the one before it (an exact duplicate but for the id).
      const j = i % 997 === 0 && i > 0 ? i - 1 : i;
      lines.push(`${i},${(j * 7919) % 1000},${['red', 'green', 'blue'][j % 3]},${j % 5 === 0 ? '' : `n${j % 13}`}`);
    }
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    try {
      const cli = runCli(file);
      assert.ok(cli.report && cli.rowsCsv, `the CLI refused the file: ${cli.stderr}`);
      const result = await page.evaluate(async (csv) => {
        const { profile, profileWithRows } = await import(new URL('preflight.js', document.baseURI).href);
        const withRows = await profileWithRows(new File([csv], 'long.csv', { type: 'text/csv' }));
        const keys = Object.keys(withRows);
        const rowsCsv = withRows.rowsCsv;
        const again = withRows.rowsCsv === rowsCsv;
        const json = JSON.parse(JSON.stringify(withRows));
        // Set like a plain property: the value set is read back.
        const copy = await profileWithRows(new File([csv], 'long.csv', { type: 'text/csv' }));
        copy.rowsCsv = null;
        const setToNull = copy.rowsCsv === null;
        const plain = await profile(new File([csv], 'long.csv', { type: 'text/csv' }));
        return { keys, rowsCsv, again, setToNull, jsonHasRows: json.rowsCsv === rowsCsv, report: withRows.report, plain };
      }, fs.readFileSync(file, 'utf8'));
      assert.deepEqual(result.keys, ['report', 'rowsCsv']);
      assert.ok(result.again, 'reading rowsCsv twice gives the same string');
      assert.ok(result.setToNull, 'rowsCsv set to null reads back null');
      assert.ok(result.jsonHasRows, 'JSON.stringify of the result carries rowsCsv');
      assert.equal(result.rowsCsv.split('\n').length, 120_002, 'a header, a line per row, the last newline');
      assert.deepEqual(rowsCsvDifferences(result.rowsCsv, cli.rowsCsv), [], 'long.csv: rows CSV differs from the CLI');
      assertSameReport(result.report, cli.report, 'long.csv through profileWithRows()');
      assertSameReport(result.plain, cli.report, 'long.csv through profile()');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('JS API: abort ends the worker at once; an aborted signal rejects before any worker starts', async () => {
    // No preloaded worker: the only one is the call's own.
    await page.evaluate(async () => (await import(new URL('preflight.js', document.baseURI).href)).release());
    for (let i = 0; i < 50 && page.workers().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(page.workers().length, 0, 'no worker before the call');
    let workersCreated = 0;
    page.on('worker', () => workersCreated++);

    const already = await page.evaluate(async () => {
      const { profile } = await import(new URL('preflight.js', document.baseURI).href);
      try {
        await profile(new File(['a,b\n1,2\n'], 'x.csv'), { signal: AbortSignal.abort() });
        return { resolved: true };
      } catch (err) {
        return { name: err.name, isDomException: err instanceof DOMException };
      }
    });
    assert.deepEqual(already, { name: 'AbortError', isDomException: true });
    assert.equal(workersCreated, 0, 'no worker for an aborted signal');

    const requestsBefore = browser.requests.length;
    const outcome = await page.evaluate(async () => {
      const { profile } = await import(new URL('preflight.js', document.baseURI).href);
      // About 24 MB: the worker reads it in 4 MiB slices, so abort lands mid-read.
      const rows = ['id,group,value,note'];
      for (let i = 0; i < 1_000_000; i++) rows.push(`${i},${i % 7},${(i * 13) % 1000},n${i % 50}`);
      const file = new File([rows.join('\n')], 'big.csv', { type: 'text/csv' });
      const controller = new AbortController();
      let abortedAt = null;
      let progressAfterAbort = 0;
      const started = performance.now();
      try {
        await profile(file, {
          signal: controller.signal,
          onProgress: (p) => {
            if (abortedAt !== null) progressAfterAbort++;
            if (abortedAt === null && p.stage === 'reading' && p.fraction > 0) {
              abortedAt = performance.now();
              controller.abort();
            }
          },
        });
        return { resolved: true };
      } catch (err) {
        return {
          name: err.name,
          isDomException: err instanceof DOMException,
          abortedAfterMs: abortedAt === null ? null : abortedAt - started,
          rejectedAfterAbortMs: abortedAt === null ? null : performance.now() - abortedAt,
          progressAfterAbort,
        };
      }
    });
    assert.equal(outcome.name, 'AbortError', JSON.stringify(outcome));
    assert.equal(outcome.isDomException, true);
    assert.notEqual(outcome.abortedAfterMs, null, 'aborted during reading');
    assert.ok(outcome.rejectedAfterAbortMs < 250, `rejected ${outcome.rejectedAfterAbortMs} ms after abort`);
    assert.equal(outcome.progressAfterAbort, 0, 'no progress after abort');
    assert.equal(workersCreated, 1, 'one worker for the call');
    for (let i = 0; i < 50 && page.workers().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(page.workers().length, 0, 'the worker was terminated');
    await new Promise((r) => setTimeout(r, 500));
    const after = browser.requests.slice(requestsBefore).map((r) => r.url);
    // The call's worker loads the checker (worker, its model cache module, glue, wasm); nothing else, nothing after the abort.
    for (const url of after) assert.match(new URL(url).pathname, /^\/(worker\.js|model-cache\.js|pkg\/preflight\.js|pkg\/preflight_bg\.wasm)$/, url);
  });

  test('JS API: errors name the file or the rules', async () => {
    const errors = await page.evaluate(async () => {
      const { profile } = await import(new URL('preflight.js', document.baseURI).href);
      const attempt = async (file, options) => {
        try {
          await profile(file, options);
          return null;
        } catch (err) {
          return { name: err.name, message: err.message };
        }
      };
      return {
        empty: await attempt(new File([''], 'empty.csv')),
        notBlob: await attempt('a,b\n1,2\n'),
        rulesArray: await attempt(new File(['a\n1\n'], 'a.csv'), { rules: [] }),
        rules404: await attempt(new File(['a\n1\n'], 'a.csv'), { rules: 'samples/no-such-rules.json' }),
        rulesNotJson: await attempt(new File(['a\n1\n'], 'a.csv'), { rules: 'samples/penguins.csv' }),
        rulesElsewhere: await attempt(new File(['a\n1\n'], 'a.csv'), { rules: 'https://example.org/rules.json' }),
        badBackend: await attempt(new File(['a\n1\n'], 'a.csv'), { options: { backend: 'tpu' } }),
      };
    });
    assert.equal(errors.empty?.name, 'Error', JSON.stringify(errors.empty));
    assert.match(errors.empty.message, /empty\.csv/);
    assert.equal(errors.notBlob?.name, 'TypeError');
    assert.match(errors.rulesArray?.message ?? '', /rules .*JSON object/);
    assert.match(errors.rules404?.message ?? '', /rules http:\/\/127\.0\.0\.1:\d+\/samples\/no-such-rules\.json: the server answered 404/);
    assert.match(errors.rulesNotJson?.message ?? '', /rules http:\/\/127\.0\.0\.1:\d+\/samples\/penguins\.csv: not valid JSON/);
    assert.match(errors.rulesElsewhere?.message ?? '', /rules https:\/\/example\.org\/rules\.json: not on this page's origin/);
    assert.equal(errors.badBackend?.name, 'TypeError');
  });

  test('every request stayed on the server, nothing was sent', () => {
    assertAllUnder(browser.requests.map((r) => r.url), new URL(server.url).origin, '/', 'browser');
    assert.deepEqual(browser.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.url}`), [], 'only GETs');
    assert.ok(!serverLog.some((r) => r.urlPath.includes('customers')), 'no request names the data file');
  });

  test('no uncaught errors in the page', () => {
    // The one console error expected: Chromium's own line for the rules URL that answered 404 above.
    const notFound = /^Error: console: Failed to load resource: the server responded with a status of 404/;
    assert.equal(browser.pageErrors.map(String).filter((e) => notFound.test(e)).length, 1);
    assert.deepEqual(browser.pageErrors.map(String).filter((e) => !notFound.test(e)), []);
  });
});

