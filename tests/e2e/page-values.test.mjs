// How values are written, in the page: an Excel CSV (its first line
// `sep=;`, decimal commas, `?` and `unknown` for a missing value, `M`
// beside `male`) is dropped on the page. The report must equal the CLI's,
// the `sep=;` line must be read as the delimiter (no record, one ingest
// note), and the column table must show each of those alerts on its column.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { dropAndCompare, pageSession } from './helpers.mjs';

function excelCsv() {
  const lines = ['sep=;', 'name;sex;height;price'];
  for (let i = 0; i < 120; i++) {
    const sex = i === 17 || i === 64 ? 'M' : ['male', 'female'][i % 2];
    const height = i === 30 ? '?' : i === 90 ? 'unknown' : `${150 + ((i * 7) % 40)}`;
    lines.push(`p${i};${sex};${height};${i % 30},${(i * 13) % 100}`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

describe('values written in several ways, in the page', { concurrency: false }, () => {
  const ctx = pageSession();

  test('Excel sep line, missing-value markers, decimal commas and abbreviations', async () => {
    const { page, dir } = ctx;
    const file = path.join(dir, 'excel.csv');
    fs.writeFileSync(file, excelCsv());
    const { report } = await dropAndCompare(page, file);

    assert.equal(report.source.delimiter, ';');
    assert.deepEqual(report.columns.map((c) => c.name), ['name', 'sex', 'height', 'price']);
    assert.equal(report.ingest.rows_used, 120);
    assert.deepEqual(report.ingest.issues.map((i) => [i.kind, i.line]), [['sep_line', 1]]);

    const alertsOf = async (column) =>
      page.locator(`[data-testid="column-row"][data-column="${column}"] [data-kind]`).evaluateAll((nodes) => nodes.map((n) => n.dataset.kind));
    assert.ok((await alertsOf('sex')).includes('abbreviations'), 'sex: M beside male');
    assert.ok((await alertsOf('height')).includes('missing_value_markers'), 'height: ? and unknown');
    assert.ok((await alertsOf('price')).includes('numbers_as_text'), 'price: decimal commas');
    const markers = report.columns[2].alerts.find((a) => a.kind === 'missing_value_markers');
    assert.equal(markers.message, '2 values read like a marker for a missing value: "?" (1 row), "unknown" (1 row); counted as values, not as missing');
  });

  test('no uncaught errors in the page', () => {
    assert.deepEqual(ctx.session.pageErrors.map(String), []);
  });
});
