// The browser test suite, defined once and run per backend by
// page-gpu.test.mjs (--enable-unsafe-webgpu: SwiftShader WebGPU adapter) and
// page-cpu.test.mjs (no adapter: the CPU fallback must run).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';
import {
  FIXTURES,
  ROWS_HEADER,
  assertSameReport,
  csvLines,
  download,
  fixtureFiles,
  makeTempDir,
  renderedStats,
  requirePrerequisites,
  rowsCsvDifferences,
  runCli,
  runViaDrop,
  runViaInput,
  startSession,
  WWW,
  waitRunEnd,

} from './helpers.mjs';

const PENGUINS = path.join(FIXTURES, 'penguins.csv');

/**
 * Planted defects (the same table as tests/cli.rs's PLANTED): rows 3 and 4
 * identical; rows 0 and 2 one record under two ids; rows 1/7 and 5/6 the
 * same features with different labels; "Cat", "cat", "cat " one class
 * written three ways; "cat " and "fish" seen once.
 */
const PLANTED_CSV = [
  'id,colour,size,weight,label',
  '1,red,small,1.5,Cat',
  '2,blue,large,3.0,dog',
  '3,red,small,1.5,Cat',
  '4,green,medium,2.0,dog',
  '4,green,medium,2.0,dog',
  '5,yellow,small,0.5,bird',
  '6,yellow,small,0.5,fish',
  '7,blue,large,3.0,cat',
  '8,purple,tiny,0.1,cat',
  '9,orange,huge,9.9,cat ',
  '10,white,small,1.1,bird',
  '11,black,large,4.2,dog',
  '12,grey,medium,2.2,dog',
  '13,pink,small,1.3,dog',
  '14,teal,large,3.3,bird',
  '15,navy,medium,2.4,dog',
  '16,olive,tiny,0.2,bird',
  '17,maroon,huge,8.8,dog',
  '18,lime,small,1.7,bird',
  '19,cyan,large,3.9,dog',
  '',
].join('\n');

/** Downloads the page's JSON report and per-row CSV for the run just shown. */
async function pageOutputs(page) {
  const json = await download(page, 'download-json');
  const rows = await download(page, 'download-rows');
  assert.match(json.url, /^blob:/, 'the JSON download is a blob: URL');
  assert.match(rows.url, /^blob:/, 'the rows download is a blob: URL');
  return { report: JSON.parse(json.text), rowsCsv: rows.text };
}

/** The rendered key numbers agree with the report. */
async function assertRenderedNumbers(page, report, label) {
  const stats = await renderedStats(page);
  const expected = {
    'stat-rows': String(report.source.rows),
    'stat-columns': String(report.source.columns),
    'stat-redundant-rows': String(report.duplicates.exact.redundant_rows),
    'stat-rows-in-groups': String(report.duplicates.exact.rows_in_groups),
    'stat-exact-groups': String(report.duplicates.exact.group_count),
    'stat-outliers-flagged': report.outliers ? String(report.outliers.flagged) : '',
    'stat-label-column': report.class_balance ? report.class_balance.label_column : '',
    'stat-rows-skipped': String(report.ingest.rows_skipped),
    'stat-rows-padded': String(report.ingest.rows_padded),
  };
  for (const [testid, value] of Object.entries(expected)) {
    assert.equal(stats[testid], value, `${label}: rendered ${testid}`);
  }
  const columnNames = await page.locator('[data-testid="column-row"]').evaluateAll((rows) => rows.map((r) => r.dataset.column));
  assert.deepEqual(columnNames, report.columns.map((c) => c.name), `${label}: rendered column table`);
  const verdict = await page.locator('[data-testid="verdict"]').getAttribute('data-passed');
  assert.equal(verdict, String(report.verdict.passed), `${label}: rendered verdict`);
  return stats;
}

export function defineSuite(backend) {
  const webgpu = backend === 'gpu';
  // With only a software adapter (SwiftShader here), 'auto' runs the CPU
  // path (it is faster); the WebGPU suite asks for 'gpu' to run the kernel.
  const chosenBackend = webgpu ? 'gpu' : 'auto';

  describe(`page, ${backend} backend${webgpu ? ' (--enable-unsafe-webgpu)' : ' (no WebGPU adapter)'}`, { concurrency: false }, () => {
    let session;
    let page;
    const chooseBackend = async (value) => {
      if (!(await page.locator('[data-testid="options"]').evaluate((d) => d.open))) await page.locator('[data-testid="options"] > summary').click();
      await page.locator('[data-testid="backend-select"]').selectOption(value);
    };

    before(async () => {
      requirePrerequisites();
      session = await startSession({ webgpu });
      page = await session.newPage();
      await chooseBackend(chosenBackend);
    });

    after(async () => {
      await session?.close();
    });

    test(`penguins.csv dropped on the page matches the CLI, and compute.backend is '${backend}'`, async () => {
      const cli = runCli(PENGUINS);
      assert.ok(cli.report, `the CLI refused penguins.csv: ${cli.stderr}`);
      await runViaDrop(page, PENGUINS);
      const { report, rowsCsv } = await pageOutputs(page);
      assert.equal(report.source.name, 'penguins.csv');
      assertSameReport(report, cli.report, 'penguins.csv (drop)');
      assert.deepEqual(rowsCsvDifferences(rowsCsv, cli.rowsCsv), [], 'penguins.csv (drop): rows CSV differs from the CLI');
      const stats = await assertRenderedNumbers(page, report, 'penguins.csv (drop)');
      assert.equal(report.compute.backend, backend, `compute.backend (note: ${report.compute.note ?? 'none'})`);
      assert.equal(stats['stat-backend'], backend, 'rendered backend');
      if (webgpu) {
        assert.equal(report.outliers?.backend, 'gpu', 'outliers.backend');
        // Chromium may not name the adapter (WebGPU's adapter info can be empty), so only its presence is required.
        assert.equal(typeof report.compute.adapter, 'string', 'compute.adapter is given when the GPU ran');
        const adapter = await page.locator('[data-testid="compute-adapter"]').textContent();
        assert.equal(adapter, report.compute.adapter || '(the browser does not name it)', 'rendered adapter');
      } else {
        assert.ok(report.compute.note, 'compute.note says why the CPU ran');
        const note = await page.locator('[data-testid="compute-note"]').textContent();
        assert.equal(note, report.compute.note, 'rendered note');
      }
      const timings = await page.locator('[data-testid="timings"] tbody tr').count();
      assert.ok(timings > 0, 'timings are shown');
    });

    test('penguins.csv through the file input matches the CLI', async () => {
      const cli = runCli(PENGUINS);
      await runViaInput(page, PENGUINS);
      const { report, rowsCsv } = await pageOutputs(page);
      assertSameReport(report, cli.report, 'penguins.csv (input)');
      assert.deepEqual(rowsCsvDifferences(rowsCsv, cli.rowsCsv), [], 'penguins.csv (input): rows CSV differs');
      await assertRenderedNumbers(page, report, 'penguins.csv (input)');
      // The rendered outliers table shows the rows themselves under the column names.
      if (report.outliers?.top?.length) {
        const header = await page.locator('#section-outliers thead th.value-col').allTextContents();
        assert.deepEqual(header, report.columns.map((c) => c.name), 'outlier table header = column names');
        const firstRow = page.locator('[data-testid="outlier-row"]').first();
        const first = await firstRow.locator(':scope > td.value-cell').allTextContents();
        assert.deepEqual(first, report.outliers.top[0].values, 'first outlier row values');
        const neighbours = await firstRow.locator('td.neighbours summary').textContent();
        assert.equal(neighbours, report.outliers.top[0].neighbours.join(', '), 'first outlier neighbours');
        // Opened, the row stands beside its nearest neighbours, values that
        // differ from the row's marked.
        const near = report.outliers.top[0].neighbour_rows;
        assert.ok(near.length >= 1 && near.length <= 5, 'neighbour_rows: 1 to 5 neighbours');
        await firstRow.locator('td.neighbours summary').click();
        const detail = firstRow.locator('[data-testid="neighbour-rows"] tbody tr');
        assert.equal(await detail.count(), 1 + near.length, 'the row and its neighbours');
        const secondValues = await detail.nth(1).locator('td.value-cell').allTextContents();
        assert.deepEqual(secondValues, near[0].values, 'nearest neighbour values');
        const expectedMarked = near.reduce(
          (sum, n) => sum + n.values.filter((v, i) => v !== (report.outliers.top[0].values[i] ?? '')).length,
          0,
        );
        assert.equal(await firstRow.locator('td.differs').count(), expectedMarked, 'differing values marked');
      }
      if (report.class_balance) {
        const classes = await page.locator('[data-testid="class-row"]').evaluateAll((rows) => rows.map((r) => [r.dataset.class, Number(r.dataset.count), r.dataset.flagged === 'true']));
        assert.deepEqual(classes, report.class_balance.classes.map((c) => [c.class, c.count, c.flagged]), 'class balance rows');
      }
    });

    test('a label column chosen in the options matches the CLI\'s --label; backend cpu can be forced', async () => {
      const cli = runCli(PENGUINS, ['--label', 'island']);
      assert.ok(cli.report, `the CLI refused --label island: ${cli.stderr}`);
      if (!(await page.locator('[data-testid="options"]').evaluate((d) => d.open))) await page.locator('[data-testid="options"] > summary').click();
      await page.locator('[data-testid="label-input"]').fill('island');
      await page.locator('[data-testid="backend-select"]').selectOption('cpu');
      try {
        await runViaInput(page, PENGUINS);
        const { report, rowsCsv } = await pageOutputs(page);
        assert.equal(report.class_balance?.label_column, 'island');
        assertSameReport(report, cli.report, 'penguins.csv --label island');
        assert.deepEqual(rowsCsvDifferences(rowsCsv, cli.rowsCsv), [], 'rows CSV with --label island');
        assert.equal(report.compute.backend, 'cpu', 'backend cpu was asked for');
        const stats = await assertRenderedNumbers(page, report, 'penguins.csv --label island');
        assert.equal(stats['stat-label-column'], 'island');
        if (report.label_issues?.top?.length) {
          const first = await page.locator('[data-testid="label-issue-row"]').first();
          assert.equal(await first.locator('td.label').textContent(), report.label_issues.top[0].label);
          assert.equal(await first.locator('td.suggested').textContent(), report.label_issues.top[0].suggested_label);
        }
      } finally {
        await page.locator('[data-testid="label-input"]').fill('');
        await page.locator('[data-testid="backend-select"]').selectOption(chosenBackend);
      }
    });

    if (webgpu) {
      test('backend auto declines a software adapter (SwiftShader) and says why the CPU ran', async () => {
        const cli = runCli(PENGUINS);
        await chooseBackend('auto');
        try {
          await runViaInput(page, PENGUINS);
          const { report } = await pageOutputs(page);
          assertSameReport(report, cli.report, 'penguins.csv (auto, software adapter)');
          assert.equal(report.compute.backend, 'cpu');
          assert.match(report.compute.note ?? '', /software WebGPU adapter/, 'the note names the software adapter');
        } finally {
          await chooseBackend(chosenBackend);
        }
      });
    }

    test('the sample button checks www/samples/penguins.csv, fetched from the local server', async () => {
      const samplePath = path.join(WWW, 'samples', 'penguins.csv');
      assert.ok(fs.existsSync(samplePath), `${samplePath} exists`);
      const cli = runCli(samplePath);
      const mark = session.requests.length;
      const before = await page.evaluate(() => Number(document.body.dataset.run || 0));
      await page.locator('[data-testid="sample-button"]').click();
      const outcome = await waitRunEnd(page, before);
      assert.ok(outcome.ok, `the sample failed: ${outcome.error}`);
      const { report } = await pageOutputs(page);
      assertSameReport(report, cli.report, 'sample');
      const origin = new URL(session.server.url).origin;
      const fetched = session.requests.slice(mark).filter((r) => !r.url.startsWith('blob:')).map((r) => r.url);
      assert.ok(fetched.length > 0 && fetched.every((u) => u === `${origin}/samples/penguins.csv`), `only the sample was fetched: ${fetched.join(', ')}`);
    });

    test('a .gz file is decompressed in the page and gives the CLI\'s report; a broken one names the file', async () => {
      const dir = makeTempDir('preflight-gz-');
      const gz = path.join(dir, 'penguins.csv.gz');
      fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(PENGUINS)));
      const cli = runCli(gz);
      assert.equal(cli.status, 0, cli.stderr);
      await runViaInput(page, gz);
      const { report, rowsCsv } = await pageOutputs(page);
      assert.equal(report.source.name, 'penguins.csv');
      assertSameReport(report, cli.report, 'penguins.csv.gz');
      assert.deepEqual(rowsCsvDifferences(rowsCsv, cli.rowsCsv), [], 'rows CSV differs from the CLI');
      const broken = path.join(dir, 'broken.csv.gz');
      fs.writeFileSync(broken, zlib.gzipSync(fs.readFileSync(PENGUINS)).subarray(0, 200));
      const outcome = await runViaInput(page, broken, { expectError: true });
      assert.match(outcome.error, /broken\.csv\.gz: not a readable gzip file/);
    });

    test('every fixture gives the CLI\'s report (or its refusal) in the page', async () => {
      const failures = [];
      const files = fixtureFiles();
      assert.ok(files.length >= 5, `expected fixtures in ${FIXTURES}, found ${files.length}`);
      for (const file of files) {
        const name = path.basename(file);
        const cli = runCli(file);
        try {
          if (cli.status === 2) {
            const outcome = await runViaInput(page, file, { expectError: true });
            assert.ok(outcome.error.trim().length > 0, `${name}: error message is empty`);
            continue;
          }
          await runViaInput(page, file);
          const { report, rowsCsv } = await pageOutputs(page);
          assertSameReport(report, cli.report, name);
          const rowsDiff = rowsCsvDifferences(rowsCsv, cli.rowsCsv);
          assert.deepEqual(rowsDiff, [], `${name}: rows CSV differs from the CLI`);
          await assertRenderedNumbers(page, report, name);
          if (webgpu) {
            if (report.outliers) assert.equal(report.compute.backend, 'gpu', `${name}: compute.backend (note: ${report.compute.note ?? 'none'})`);
          } else {
            assert.equal(report.compute.backend, 'cpu', `${name}: compute.backend`);
          }
        } catch (err) {
          failures.push(`--- ${name} (cli exit ${cli.status}) ---\n${err.message}`);
        }
      }
      assert.equal(failures.length, 0, `${failures.length} of ${files.length} fixtures differ:\n${failures.join('\n')}`);
    });

    test('privacy: before the drop only the local server is asked; after it, nothing at all', async () => {
      // A fresh page, so that the load is recorded from the start.
      const mark = session.requests.length;
      const serverMark = session.serverLog.length;
      const fresh = await session.context.newPage();
      const errors = [];
      fresh.on('pageerror', (err) => errors.push(err));
      await fresh.goto(session.server.url, { waitUntil: 'load' });
      await fresh.waitForFunction(() => document.querySelector('[data-testid="engine-status"]')?.dataset.state === 'ready', null, { timeout: 60_000 });
      await fresh.waitForLoadState('networkidle');
      await fresh.waitForTimeout(300);
      const beforeDrop = session.requests.slice(mark);
      const origin = new URL(session.server.url).origin;
      const foreign = beforeDrop.filter((r) => !r.url.startsWith(`${origin}/`));
      assert.deepEqual(foreign, [], 'before the drop, every request goes to the local server');
      const urls = beforeDrop.map((r) => r.url);
      assert.ok(urls.some((u) => u.endsWith('/worker.js')), `the worker script was requested before the drop: ${urls.join(', ')}`);
      assert.ok(urls.some((u) => u.endsWith('.wasm')), `the wasm module was requested before the drop (so worker requests are observed): ${urls.join(', ')}`);

      const dropMark = session.requests.length;
      const serverDropMark = session.serverLog.length;
      await runViaDrop(fresh, PENGUINS);
      await download(fresh, 'download-json');
      await download(fresh, 'download-rows');
      await download(fresh, 'download-html');
      await fresh.waitForTimeout(500);
      const afterDrop = session.requests.slice(dropMark).filter((r) => !r.url.startsWith('blob:'));
      assert.deepEqual(afterDrop, [], 'no request of any kind after the drop (blob: downloads aside)');
      assert.deepEqual(session.serverLog.slice(serverDropMark), [], 'the server saw no request after the drop');
      assert.ok(session.serverLog.length > serverMark, 'the server log works');
      assert.deepEqual(errors.map(String), [], 'no page errors');
      await fresh.close();
    });

    test('bad input: an empty file and a binary file show the error; a ragged CSV shows ingest issues with lines', async () => {
      const dir = makeTempDir();
      try {
        const empty = path.join(dir, 'empty.csv');
        fs.writeFileSync(empty, '');
        const outcome = await runViaDrop(page, empty, { expectError: true });
        const message = (await page.locator('[data-testid="error-message"]').textContent()).trim();
        assert.ok(message.length > 0, 'the empty file error has a message');
        assert.ok(outcome.error.includes('empty.csv'), `the error names the file: ${outcome.error}`);
        assert.equal(await page.locator('[data-testid="report-ready"]').count(), 0, 'no report for an empty file');
        assert.ok(await page.locator('[data-testid="error"]').isVisible(), 'the error element is visible');

        const binaryFixture = path.join(FIXTURES, 'binary.bin');
        const binary = path.join(dir, 'binary.bin');
        if (fs.existsSync(binaryFixture)) fs.copyFileSync(binaryFixture, binary);
        else fs.writeFileSync(binary, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 37 + 11) % 256)));
        await runViaInput(page, binary, { expectError: true });
        const binaryMessage = (await page.locator('[data-testid="error-message"]').textContent()).trim();
        assert.ok(binaryMessage.length > 0, 'the binary file error has a message');
        assert.notEqual(binaryMessage, message, 'the binary error is not the empty-file error');

        // A good run afterwards clears the error.
        const small = path.join(dir, 'ok.csv');
        fs.writeFileSync(small, 'a,b\n1,x\n2,y\n3,z\n4,x\n');
        await runViaInput(page, small);
        assert.ok(await page.locator('[data-testid="error"]').isHidden(), 'the error is cleared by the next run');

        const ragged = path.join(dir, 'ragged.csv');
        fs.writeFileSync(ragged, 'a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n13,14,15\n');
        const cli = runCli(ragged);
        assert.ok(cli.report, `the CLI refused the ragged CSV: ${cli.stderr}`);
        await runViaInput(page, ragged);
        const issues = await page.locator('[data-testid="ingest-issue"]').evaluateAll((rows) => rows.map((r) => ({ line: Number(r.dataset.line), kind: r.dataset.kind, text: r.cells[0].textContent })));
        assert.ok(issues.length >= 2, `ragged rows are listed: ${JSON.stringify(issues)}`);
        assert.deepEqual(issues.map((i) => [i.line, i.kind]), cli.report.ingest.issues.map((i) => [i.line, i.kind]), 'the listed issues are the CLI\'s');
        const lines = issues.map((i) => i.line);
        assert.ok(lines.includes(3) && lines.includes(4), `lines 3 and 4 are named: ${lines}`);
        for (const issue of issues) assert.equal(issue.text, `line ${issue.line}`, 'the line number is shown');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    test('the rows CSV has a header and one line per data row; the HTML snapshot is self-contained', async () => {
      await runViaInput(page, PENGUINS);
      const json = JSON.parse((await download(page, 'download-json')).text);
      const rows = await download(page, 'download-rows');
      const lines = csvLines(rows.text);
      assert.equal(lines[0], ROWS_HEADER, 'rows CSV header');
      assert.equal(lines.length, json.source.rows + 1, 'one line per data row plus the header');
      lines.slice(1).forEach((line, i) => assert.equal(line.split(',')[0], String(i), `row id on line ${i + 2}`));

      const html = await download(page, 'download-html');
      assert.match(html.name, /\.html$/);
      assert.match(html.text, /^<!doctype html>/i);
      assert.match(html.text, /<style>[\s\S]*\.report-section[\s\S]*<\/style>/, 'the CSS is inlined');
      assert.doesNotMatch(html.text, /<script/i, 'no scripts');
      assert.doesNotMatch(html.text, /<link\b/i, 'no linked resources');
      assert.doesNotMatch(html.text, /\s(src|href)=/i, 'nothing to fetch');
      assert.doesNotMatch(html.text, /\son[a-z]+=/i, 'no event handlers');
      assert.ok(html.text.includes('data-testid="stat-rows"'), 'the rendered report is in the snapshot');
      // Open it and check it renders without requests.
      const snapshot = await session.context.newPage();
      const requests = [];
      snapshot.on('request', (r) => requests.push(r.url()));
      await snapshot.setContent(html.text, { waitUntil: 'load' });
      const rowsShown = await snapshot.locator('[data-testid="stat-rows"]').getAttribute('data-value');
      assert.equal(rowsShown, String(json.source.rows));
      assert.deepEqual(requests, [], 'the snapshot requests nothing');
      await snapshot.close();
    });

    test('a graph of 6,000 rows is shared among the page\'s workers and equals the CLI\'s', async () => {
      const dir = makeTempDir();
      try {
        // Three clusters of 2,000 rows, a label with a few flips, some far
        // rows, and a free-text note (some copied, some with a word changed):
        // its text duplicates are looked for while the helpers build the graph.
        const file = path.join(dir, 'clusters-6000.csv');
        let seed = 987654321;
        const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
        const words = ['river', 'sample', 'cloudy', 'north', 'sensor', 'drift', 'calm', 'storm', 'reading', 'late', 'early', 'station', 'gauge', 'flood', 'low', 'high'];
        const pick = () => words[Math.floor(random() * words.length)];
        const notes = [];
        const lines = ['a,b,c,d,note,label'];
        for (let i = 0; i < 6000; i++) {
          const cluster = i % 3;
          const far = i % 997 === 0 ? 40 : 0;
          const value = (centre) => (centre + far + (random() - 0.5) * 4).toFixed(3);
          const label = random() < 0.01 ? `k${(cluster + 1) % 3}` : `k${cluster}`;
          let note;
          if (i > 100 && i % 50 === 0) note = notes[Math.floor(random() * notes.length)];
          else if (i > 100 && i % 50 === 25) note = notes[Math.floor(random() * notes.length)].replace(/ \w+$/, ` ${pick()}`);
          else note = `site ${i} ${Array.from({ length: 12 }, pick).join(' ')}`;
          notes.push(note);
          lines.push(`${value(cluster * 10)},${value(-cluster * 5)},${value(cluster * 3)},${value(7)},${note},${label}`);
        }
        fs.writeFileSync(file, `${lines.join('\n')}\n`);
        const cli = runCli(file, ['--backend', 'cpu']);
        assert.ok(cli.report, `the CLI refused the file: ${cli.stderr}`);
        // The helpers are the CPU path: ask for it (the WebGPU suite would run the kernel).
        await chooseBackend('cpu');
        await runViaDrop(page, file);
        const { report, rowsCsv } = await pageOutputs(page);
        assertSameReport(report, cli.report, 'clusters-6000.csv');
        assert.deepEqual(rowsCsvDifferences(rowsCsv, cli.rowsCsv), [], 'rows CSV differs from the CLI');
        assert.equal(report.compute.backend, 'cpu');
        assert.ok(report.text_duplicates.some((column) => column.column === 'note' && column.exact.group_count > 0 && column.near.group_count > 0), 'the notes\' text duplicates are found');
        const cores = await page.evaluate(() => navigator.hardwareConcurrency);
        const expected = cores >= 2 ? Math.min(cores, 8, Math.ceil(6000 / 1024)) : 1;
        assert.equal(report.compute.cpu_workers, expected, `compute.cpu_workers with ${cores} cores`);
        if (expected >= 2) {
          assert.equal(report.compute.wasm_memory_bytes.knn_workers?.length, expected, 'the helpers\' memory is reported');
          // The text duplicates were looked for while the helpers worked.
          assert.ok(report.compute.concurrent_ms > 0, `compute.concurrent_ms: ${report.compute.concurrent_ms}`);
          assert.ok(report.compute.timings_ms.text_duplicates > 0 && report.compute.timings_ms.knn > 0, 'both stages are timed');
        }
      } finally {
        await chooseBackend(chosenBackend);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    test('cancel stops a run, and the next run works', async () => {
      const dir = makeTempDir();
      try {
        // ~30 MB: long enough to be cancelled while it is being read.
        const big = path.join(dir, 'big.csv');
        const out = fs.openSync(big, 'w');
        fs.writeSync(out, 'id,x,y,z,category,note\n');
        let seed = 12345;
        const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
        const chunk = [];
        for (let i = 0; i < 600_000; i++) {
          chunk.push(`${i},${(random() * 100).toFixed(4)},${(random() * 10).toFixed(4)},${Math.floor(random() * 1000)},c${Math.floor(random() * 7)},note ${Math.floor(random() * 100000)}\n`);
          if (chunk.length === 10_000) {
            fs.writeSync(out, chunk.join(''));
            chunk.length = 0;
          }
        }
        fs.writeSync(out, chunk.join(''));
        fs.closeSync(out);

        const before = await page.evaluate(() => Number(document.body.dataset.run || 0));
        await page.locator('[data-testid="file-input"]').setInputFiles(big);
        const progress = page.locator('[data-testid="progress"]');
        await progress.waitFor({ state: 'visible', timeout: 10_000 });
        const stage = await page.locator('[data-testid="progress-stage"]').textContent();
        assert.ok(stage.trim().length > 0, 'the progress shows a stage');
        await page.locator('[data-testid="cancel"]').click();
        await progress.waitFor({ state: 'hidden', timeout: 5_000 });
        assert.match(await page.locator('[data-testid="status"]').textContent(), /Cancelled/);
        await page.waitForTimeout(300);
        assert.equal(await page.locator('[data-testid="report-ready"]').count(), 0, 'no report after cancel');
        assert.ok(await page.locator('[data-testid="error"]').isHidden(), 'no error after cancel');
        assert.ok(Number(await page.evaluate(() => document.body.dataset.run)) > before);

        // The fresh worker takes the next file.
        const cli = runCli(PENGUINS);
        await runViaInput(page, PENGUINS);
        const { report } = await pageOutputs(page);
        assertSameReport(report, cli.report, 'penguins.csv after cancel');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    test('planted duplicates, conflicting labels and case-variant classes are rendered; the label select re-runs on the parsed table', async () => {
      const dir = makeTempDir();
      try {
        const planted = path.join(dir, 'planted.csv');
        fs.writeFileSync(planted, PLANTED_CSV);
        const cli = runCli(planted);
        assert.ok(cli.report, `the CLI refused planted.csv: ${cli.stderr}`);
        await runViaDrop(page, planted);
        const { report, rowsCsv } = await pageOutputs(page);
        assertSameReport(report, cli.report, 'planted.csv');
        assert.deepEqual(rowsCsvDifferences(rowsCsv, cli.rowsCsv), [], 'planted.csv: rows CSV differs from the CLI');
        await assertRenderedNumbers(page, report, 'planted.csv');

        // Exact duplicates: identical rows, then ignoring the id column.
        const groupRows = (testid) => page.locator(`[data-testid="${testid}"]`).evaluateAll((rows) => rows.map((r) => r.dataset.rows));
        assert.deepEqual(await groupRows('exact-group'), ['3 4']);
        assert.deepEqual(await groupRows('id-free-group'), ['0 2', '3 4']);
        const stats = await renderedStats(page);
        assert.equal(stats['stat-id-free-redundant-rows'], '2');
        assert.equal(stats['stat-id-free-additional'], '1');
        assert.match(await page.locator('[data-testid="id-free-columns"]').textContent(), /\bid\b.*named like an identifier/);
        const firstIdFree = await page.locator('[data-testid="id-free-group"]').first().locator('.row-id').allTextContents();
        assert.deepEqual(firstIdFree, ['row 0 (line 2)', 'row 2 (line 4)'], 'row ids and line numbers are shown');

        // Conflicting labels.
        assert.equal(stats['stat-conflict-groups'], '2');
        assert.equal(stats['stat-conflict-rows'], '4');
        const conflicts = await page.locator('[data-testid="conflict-group"]').evaluateAll((rows) => rows.map((r) => [r.dataset.rows, r.dataset.labels]));
        assert.deepEqual(conflicts, [['1 7', 'cat:1|dog:1'], ['5 6', 'bird:1|fish:1']]);
        const conflictLines = await page.locator('[data-testid="conflict-group"]').first().locator('.row-id').allTextContents();
        assert.deepEqual(conflictLines, ['row 1 (line 3)', 'row 7 (line 9)']);
        const header = csvLines(rowsCsv)[0].split(',');
        const conflictColumn = header.indexOf('conflict_group');
        assert.ok(conflictColumn > 7, `the rows CSV has a conflict_group column: ${header}`);
        const conflictOf = csvLines(rowsCsv).slice(1).map((line) => line.split(',')[conflictColumn]);
        assert.deepEqual([conflictOf[1], conflictOf[7], conflictOf[5], conflictOf[6], conflictOf[0]], ['1', '1', '5', '5', '']);

        // Class balance: case variants, singletons, the bar chart.
        const variants = await page.locator('[data-testid="case-variant"]').evaluateAll((items) => items.map((i) => [i.dataset.normalized, i.dataset.classes]));
        assert.deepEqual(variants, [['cat', 'Cat|cat|cat ']]);
        assert.equal(await page.locator('[data-testid="singleton-classes"]').getAttribute('data-count'), '2');
        assert.match(await page.locator('[data-testid="singleton-classes"]').textContent(), /fish/);
        const bars = await page.locator('[data-testid="class-chart"] [data-testid="class-bar"]').evaluateAll((rects) => rects.map((r) => [r.dataset.class, Number(r.dataset.count), Number(r.getAttribute('height'))]));
        assert.deepEqual(bars.map(([c, n]) => [c, n]), report.class_balance.classes.map((c) => [c.class, c.count]), 'one bar per class, largest first');
        assert.ok(bars[0][2] > bars[bars.length - 1][2], 'bar heights follow the counts');

        // The label select lists the columns; choosing one re-runs the checks without reading the file again.
        const choices = await page.locator('[data-testid="label-select"] option').evaluateAll((options) => options.map((o) => o.value));
        assert.deepEqual(choices, ['', ...report.columns.map((c) => c.name)]);
        assert.equal(await page.locator('[data-testid="label-select"]').inputValue(), 'label');
        const before = await page.evaluate(() => Number(document.body.dataset.run || 0));
        await page.locator('[data-testid="label-select"]').selectOption('size');
        const outcome = await waitRunEnd(page, before);
        assert.ok(outcome.ok, `the re-run failed: ${outcome.error}`);
        const relabelled = await pageOutputs(page);
        const cliSize = runCli(planted, ['--label', 'size']);
        assertSameReport(relabelled.report, cliSize.report, 'planted.csv, label chosen in the page');
        assert.deepEqual(rowsCsvDifferences(relabelled.rowsCsv, cliSize.rowsCsv), [], 'rows CSV after the label change');
        assert.equal(relabelled.report.class_balance.label_column, 'size');
        assert.equal(relabelled.report.compute.timings_ms.read, 0, 'the re-run read nothing: it ran on the parsed table');
        assert.equal(await page.locator('[data-testid="label-select"]').inputValue(), 'size');
        assert.equal((await renderedStats(page))['stat-label-column'], 'size');

        // Normalisation from the options panel.
        const normalizeCsv = path.join(dir, 'normalize.csv');
        fs.writeFileSync(normalizeCsv, 'name,code,label\n Alice ,7,a\nalice,7.0,a\nALICE,007,b\nBob,8,a\n');
        if (!(await page.locator('[data-testid="options"]').evaluate((d) => d.open))) await page.locator('[data-testid="options"] > summary').click();
        await page.locator('[data-testid="normalize-input"]').check();
        try {
          await runViaInput(page, normalizeCsv);
          const normalized = await pageOutputs(page);
          const cliNormalized = runCli(normalizeCsv, ['--normalize']);
          assertSameReport(normalized.report, cliNormalized.report, 'normalize.csv --normalize');
          assert.equal(normalized.report.duplicates.exact.normalized, true);
          assert.deepEqual(await groupRows('exact-group'), ['0 1']);
          assert.match(await page.locator('[data-testid="normalization"]').textContent(), /case-fold/);
          assert.deepEqual(await page.locator('[data-testid="conflict-group"]').evaluateAll((rows) => rows.map((r) => r.dataset.rows)), ['0 1 2']);
        } finally {
          await page.locator('[data-testid="normalize-input"]').uncheck();
        }

        // Multi-label JSON lines: counted per label.
        const multi = path.join(dir, 'multi.jsonl');
        const tags = ['["news","sport"]', '["news"]', '["sport","tech"]', '["tech"]', '["news","tech","sport"]'];
        fs.writeFileSync(multi, Array.from({ length: 30 }, (_, i) => `{"id": ${i}, "x": ${i % 7}, "tags": ${tags[i % 5]}}\n`).join(''));
        await runViaInput(page, multi);
        const multiOut = await pageOutputs(page);
        assertSameReport(multiOut.report, runCli(multi).report, 'multi.jsonl');
        const classes = await page.locator('[data-testid="class-row"]').evaluateAll((rows) => rows.map((r) => [r.dataset.class, Number(r.dataset.count)]));
        assert.deepEqual(classes, [['news', 18], ['sport', 18], ['tech', 18]]);
        assert.match(await page.locator('[data-testid="multi-label"]').textContent(), /^yes/);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    test('no uncaught errors in the page', () => {
      assert.deepEqual(session.pageErrors.map(String), []);
    });
  });
}
