// Personal data in the page: a CSV with planted emails, phones, cards, IBANs,
// SSNs and IP addresses (in their own columns and inside a free-text note,
// one row duplicated) is dropped on the page. The report must equal the
// CLI's, the "Personal data" section must list each column and kind with
// masked examples, and neither the page's text nor any download may hold a
// planted value.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { download, dropAndCompare, pageSession } from './helpers.mjs';

/** Row i's planted values (cards and IBANs valid: Luhn and mod 97 hold). */
const PLANTED = [
  ['Zelda Quackenbush', 'zelda.q@example.com', '+44 20 7946 0101', '4111 1111 1111 1111', 'GB82 WEST 1234 5698 7654 32', '123-45-6789', '192.168.10.11', '2001:db8::8a2e:370:7334'],
  ['Yusuf Villanueva', 'yusuf.v@example.org', '+1 (415) 555-0132', '5555 5555 5555 4444', 'DE89 3704 0044 0532 0130 00', '234-56-7890', '10.20.30.40', 'fe80::1ff:fe23:4567:890a'],
  ['Xenia Okonkwo', 'xenia.o@example.net', '+33 6 12 34 56 78', '3782 822463 10005', 'FR14 2004 1010 0505 0001 3M02 606', '345-67-8901', '172.16.254.1', '2001:db8:85a3::8a2e:370:7335'],
];

function plantedCsv() {
  const lines = ['id,full_name,email,phone,card,iban,ssn,ip,ipv6,note,label'];
  const row = (i, id) => {
    const [name, email, phone, card, iban, ssn, ip, ipv6] = PLANTED[i];
    const note = `Ticket ${id}: please write to ${email} or call ${phone}; the parcel was left at the door`;
    return `${id},${name},${email},${phone},${card},${iban},${ssn},${ip},${ipv6},"${note}",${id % 2 ? 'b' : 'a'}`;
  };
  for (let id = 0; id < 3; id++) lines.push(row(id, id));
  lines.push(row(1, 1)); // an exact copy of row 1
  return `${lines.join('\n')}\n`;
}

describe('personal data in the page', { concurrency: false }, () => {
  const ctx = pageSession();

  test('findings per column and kind, masked everywhere', async () => {
    const { page, dir } = ctx;
    const file = path.join(dir, 'customers.csv');
    fs.writeFileSync(file, plantedCsv());
    const { json, report, rowsCsv } = await dropAndCompare(page, file);

    const found = report.pii.columns.map((f) => `${f.column}:${f.kind}:${f.count}`);
    assert.deepEqual(found, [
      'email:email:4', 'phone:phone:4', 'card:card:4', 'iban:iban:4', 'ssn:ssn:4', 'ip:ipv4:4', 'ipv6:ipv6:4', 'note:email:4', 'note:phone:4',
    ]);

    // The section: one row per finding, its masked examples as shown.
    const rows = page.locator('[data-testid="pii-finding"]');
    assert.equal(await rows.count(), found.length);
    const email = page.locator('[data-testid="pii-finding"][data-column="email"][data-kind="email"]');
    assert.equal(await email.getAttribute('data-count'), '4');
    assert.deepEqual(await email.locator('code').allTextContents(), ['z***@e***.com', 'y***@e***.org', 'x***@e***.net']);
    const card = page.locator('[data-testid="pii-finding"][data-column="card"]');
    assert.deepEqual(await card.locator('code').allTextContents(), ['**** **** **** 1111', '**** **** **** 4444', '**** **** **** 0005']);
    const hints = await page.locator('[data-testid="pii-hint"]').evaluateAll((nodes) => nodes.map((n) => `${n.dataset.column}:${n.dataset.kind}`));
    assert.ok(hints.includes('full_name:name') && hints.includes('email:email'), hints.join(', '));

    // No planted value in the page's text, the report or the rows.
    const pageText = await page.locator('body').innerText();
    for (const value of PLANTED.flat()) {
      for (const [what, text] of [['page', pageText], ['JSON report', json], ['rows CSV', rowsCsv]]) {
        assert.ok(!text.includes(value), `the ${what} shows ${value}`);
      }
    }
  });

  test('no uncaught errors in the page', () => {
    assert.deepEqual(ctx.session.pageErrors.map(String), []);
  });
});
