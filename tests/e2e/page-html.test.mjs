// The page's shareable HTML report: a customer table with planted personal
// data (emails, Luhn-valid cards, IBANs, SSNs, phones, IPs in their own
// columns, inside a free-text note and in repeated rows; names in a column
// named for them) is dropped on the
// page; "Download report (HTML)" must give one self-contained file with the
// verdict, no raw personal value (with row values left out and, after the
// checkbox, included), and which makes no request when opened. The
// comparison's HTML report is checked too.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { download, makeTempDir, requirePrerequisites, runViaDrop, startSession, waitRunEnd } from './helpers.mjs';

const NAMES = ['Alice Smithers', 'Bob Jonesworth', 'Carol Whitfield', 'Dave Pemberton'];
const EMAILS = ['alice.smith@example.com', 'bob.jones@mail.example.org', 'carol_w@corp.example.net', 'dave+tag@example.co.uk'];
const PHONES = ['+1 415-555-0132', '(212) 555-0199', '+44 20 7946 0958', '+1 646 555 0177'];
// Luhn-valid test card numbers, written three ways.
const CARDS = ['4111 1111 1111 1111', '5500-0000-0000-0004', '378282246310005', '6011111111111117', '4012888888881881'];
const IBANS = ['DE89 3704 0044 0532 0130 00', 'GB82WEST12345698765432', 'FR1420041010050500013M02606'];
const SSNS = ['536-22-1234', '412-67-8890', '219-55-0142'];
const IPS = ['192.168.10.77', '203.0.113.45', '10.20.30.40', '2001:db8:85a3::8a2e:370:7334', 'fe80::1ff:fe23:4567:890a'];

/** The table: every kind in its column and in the note; two exact copies and a copy with the other label. */
function customersCsv() {
  const rows = [];
  for (let i = 0; i < 36; i++) {
    const [name, email, phone, card] = [NAMES[i % 4], EMAILS[i % 4], PHONES[i % 4], CARDS[i % 5]];
    const [iban, ssn, ip] = [IBANS[i % 3], SSNS[i % 3], IPS[i % 5]];
    // Names are found by column name only: the note holds the kinds found in any text.
    const note = `Customer wrote from ${email}, call ${phone}; card ${card}, IBAN ${iban}, SSN ${ssn}, from ${ip}`;
    const age = 20 + ((i * 7) % 50);
    const spend = i === 17 ? 99999 : 10 + ((i * 13) % 40);
    const label = i % 3 === 0 ? 'churn' : 'stay';
    rows.push(`${1000 + i},"${name}",${email},"${phone}","${card}","${iban}",${ssn},${ip},"${note}",${age},${spend},${label}`);
  }
  rows.push(rows[0], rows[5], rows[7].replace(',stay', ',churn').replace('1007', '2007'));
  return `customer_id,full_name,email,phone,card,iban,ssn,ip,note,age,spend,label\n${rows.join('\n')}\n`;
}

/** Every planted value as written, and the digit-only and compact forms. */
function plantedValues() {
  const raw = [...NAMES, ...EMAILS, ...PHONES, ...CARDS, ...IBANS, ...SSNS, ...IPS];
  const digits = [...CARDS, ...PHONES, ...SSNS].map((v) => v.replace(/\D/g, ''));
  const compact = IBANS.map((v) => v.replace(/ /g, ''));
  const parts = [...EMAILS.map((e) => e.split('@')[0]), ...NAMES.map((n) => n.split(' ')[1])];
  return [...new Set([...raw, ...digits, ...compact, ...parts])];
}

function leaked(text, values) {
  return values.filter((v) => text.includes(v));
}

/** The file's own shape: no script, no handler, no URL attribute, no external address, the CSP meta. */
function assertSelfContained(html) {
  assert.match(html, /^<!doctype html>/i);
  assert.ok(
    html.includes(`<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;; img-src data:">`),
    'the CSP meta forbids every fetch',
  );
  assert.doesNotMatch(html, /https?:\/\//i, 'no address');
  const tags = html.match(/<[a-z][^>]*>/gi) ?? [];
  assert.ok(tags.length > 50, `${tags.length} tags`);
  for (const tag of tags) {
    const name = tag.match(/^<([a-z0-9]+)/i)[1].toLowerCase();
    assert.ok(!['script', 'link', 'img', 'iframe', 'object', 'embed'].includes(name), `<${name}> in the report`);
    const attributes = tag.replace(/"[^"]*"/g, '""');
    assert.doesNotMatch(attributes, /\s(on[a-z]+|src|href|srcset|action)=/i, `a handler or URL attribute: ${tag}`);
  }
}

describe('page, the shareable HTML report (CPU backend)', { concurrency: false }, () => {
  let session;
  let page;
  let dir;
  let file;

  before(async () => {
    requirePrerequisites();
    dir = makeTempDir();
    file = path.join(dir, 'customers.csv');
    fs.writeFileSync(file, customersCsv());
    session = await startSession({ webgpu: false });
    page = await session.newPage();
    await page.locator('[data-testid="options"] > summary').click();
    await page.locator('[data-testid="label-input"]').fill('label');
  });

  after(async () => {
    await session?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the downloaded HTML has the verdict and no raw personal data, with and without row values', async () => {
    const values = plantedValues();
    const input = fs.readFileSync(file, 'utf8');
    for (const v of [...NAMES, ...EMAILS, ...PHONES, ...CARDS, ...IBANS, ...SSNS, ...IPS]) assert.ok(input.includes(v), `${v} is planted`);

    await runViaDrop(page, file);
    const report = JSON.parse((await download(page, 'download-json')).text);
    for (const kind of ['email', 'phone', 'card', 'iban', 'ssn', 'ipv4', 'ipv6']) {
      assert.ok((report.pii?.kinds?.[kind] ?? 0) > 0, `the page found ${kind}: ${JSON.stringify(report.pii?.kinds)}`);
    }
    const checkbox = page.locator('[data-testid="include-rows-input"]');
    assert.equal(await checkbox.isChecked(), false, 'row values are left out by default');

    const html = await download(page, 'download-html');
    assert.match(html.name, /^customers\.preflight\.html$/);
    assertSelfContained(html.text);
    assert.ok(html.text.includes(`data-testid="verdict" data-passed="${report.verdict.passed}"`), 'the verdict is in the file');
    assert.ok(html.text.includes(report.verdict.passed ? 'Verdict: passed' : 'Verdict: FAILED'));
    assert.ok(html.text.includes('data-testid="row-values" data-included="false"'), 'the file says row values are left out');
    assert.ok(html.text.includes(`data-testid="stat-rows" data-value="${report.source.rows}"`));
    assert.ok(html.text.includes('data-testid="pii-finding"'), 'the personal data findings are listed');
    assert.deepEqual(leaked(html.text, values), [], 'raw personal data in the HTML report');
    assert.deepEqual(leaked(JSON.stringify(report), values), [], 'raw personal data in the JSON report');

    await checkbox.check();
    const withRows = await download(page, 'download-html');
    assertSelfContained(withRows.text);
    assert.ok(withRows.text.includes('data-testid="row-values" data-included="true"'), 'the file says row values are included');
    assert.ok(withRows.text.includes('data-testid="quoted-row"'), 'row values are quoted');
    assert.deepEqual(leaked(withRows.text, values), [], 'raw personal data in the HTML report with row values');
    await checkbox.uncheck();

    // Opened on its own, the file asks for nothing: every request is recorded and refused.
    const viewer = await session.context.newPage();
    const requests = [];
    const violations = [];
    await viewer.route('**/*', (route) => {
      requests.push(route.request().url());
      return route.abort();
    });
    viewer.on('request', (r) => requests.push(r.url()));
    viewer.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    await viewer.setContent(html.text, { waitUntil: 'load' });
    await viewer.waitForTimeout(300);
    assert.equal(await viewer.locator('[data-testid="verdict"]').getAttribute('data-passed'), String(report.verdict.passed));
    assert.equal(await viewer.locator('[data-testid="stat-rows"]').getAttribute('data-value'), String(report.source.rows));
    assert.ok(await viewer.locator('[data-testid="class-bar"]').count() >= 2, 'the class chart renders');
    assert.deepEqual(requests, [], 'the report makes no request');
    assert.deepEqual(violations, [], 'nothing in the report runs into its CSP');
    assert.deepEqual(session.pageErrors.map(String), [], 'no page errors');
    await viewer.close();
  });

  test('a comparison downloads as one HTML file with both reports', async () => {
    const candidate = path.join(dir, 'customers-new.csv');
    const lines = customersCsv().trim().split('\n');
    fs.writeFileSync(candidate, `${lines[0]}\n${lines.slice(20).join('\n')}\n`);
    // The file checked last is the reference.
    await runViaDrop(page, file);
    const before = await page.evaluate(() => Number(document.body.dataset.run || 0));
    await page.locator('[data-testid="compare-input"]').setInputFiles(candidate);
    const outcome = await waitRunEnd(page, before);
    assert.ok(outcome.ok, `the comparison failed: ${outcome.error}`);
    const report = JSON.parse((await download(page, 'download-compare-json')).text);
    const html = await download(page, 'download-html');
    assert.match(html.name, /\.preflight-compare\.html$/);
    assertSelfContained(html.text);
    assert.ok(html.text.includes('<h1>preflight comparison</h1>'));
    assert.ok(html.text.includes(`data-testid="verdict" data-passed="${report.verdict.passed}"`));
    for (const id of ['section-leakage', 'section-drift', 'reference-report', 'candidate-report']) assert.ok(html.text.includes(`id="${id}"`), `${id} missing`);
    assert.ok(html.text.includes('data-testid="leak-pair"'), 'the shared rows are listed');
    assert.deepEqual(leaked(html.text, plantedValues()), [], 'raw personal data in the comparison HTML');
  });
});
