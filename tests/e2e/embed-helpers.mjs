// Shared pieces of the embedding and hosting tests (portal.test.mjs,
// hosting.test.mjs): test files with and without PII, a browser with every
// request recorded, and the element's state.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../../scripts/chromium-flags.mjs';
import { CHROMIUM, REPO, makeTempDir } from './helpers.mjs';

/** Luhn-valid test card numbers (the issuers' published test numbers). */
const CARDS = ['4111 1111 1111 1111', '5500 0000 0000 0004', '3400 0000 0000 009', '6011 0000 0000 0004', '4012 8888 8888 1881'];

const COUNTRIES = ['ES', 'FR', 'DE', 'IT', 'PT', 'NL', 'BE', 'AT'];
const PLANS = ['basic', 'plus', 'pro'];

/**
 * A CSV of 40 distinct customer rows: `pii` adds an email column and a card
 * number column (every row), otherwise nothing in it looks like personal data.
 */
export function customersCsv({ pii }) {
  const header = pii ? 'id,plan,country,amount,visits,email,card' : 'id,plan,country,amount,visits';
  const lines = [header];
  for (let i = 0; i < 40; i++) {
    const fields = [i + 1, PLANS[i % 3], COUNTRIES[(i * 5) % COUNTRIES.length], (12.5 + i * 3.25).toFixed(2), (i * 7) % 23];
    if (pii) fields.push(`customer${i + 1}.name@example.com`, CARDS[i % CARDS.length]);
    lines.push(fields.join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** Writes the PII and the clean customers files into `dir`. */
export function writeCustomerFiles(dir) {
  const pii = path.join(dir, 'customers-with-pii.csv');
  const clean = path.join(dir, 'customers-clean.csv');
  fs.writeFileSync(pii, customersCsv({ pii: true }));
  fs.writeFileSync(clean, customersCsv({ pii: false }));
  return { pii, clean };
}

/**
 * A fresh headless Chromium with every request recorded (page and worker
 * requests, with the URL as the browser sent it). Resolves to
 * {context, requests, pageErrors, consoleMessages, newPage(url), close()}.
 */
export async function startBrowser() {
  const userDataDir = makeTempDir('preflight-chromium-');
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS],
    serviceWorkers: 'block',
    viewport: { width: 1200, height: 900 },
  });
  const requests = [];
  const pageErrors = [];
  const consoleMessages = [];
  const record = (request) => requests.push({ url: request.url(), method: request.method(), resourceType: request.resourceType(), at: Date.now() });
  context.on('request', record);
  return {
    context,
    requests,
    pageErrors,
    consoleMessages,
    /** Opens `url` in a new tab; uncaught errors and console errors are collected. */
    async newPage(url) {
      const page = await context.newPage();
      page.on('pageerror', (err) => pageErrors.push(err));
      page.on('console', (message) => {
        consoleMessages.push({ type: message.type(), text: message.text() });
        if (message.type() === 'error') pageErrors.push(new Error(`console: ${message.text()}`));
      });
      await page.goto(url, { waitUntil: 'load' });
      return page;
    },
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts recording the element's events in the page (window.__preflightEvents:
 * {type, state, passed, rules} per event).
 */
export async function recordElementEvents(page) {
  await page.evaluate(() => {
    window.__preflightEvents = [];
    for (const type of ['preflight-start', 'preflight-progress', 'preflight-report', 'preflight-error', 'preflight-reset', 'preflight-state']) {
      document.addEventListener(type, (event) => {
        const d = event.detail ?? {};
        window.__preflightEvents.push({
          type,
          file: d.file?.name ?? null,
          state: d.state ?? null,
          passed: d.passed ?? null,
          failures: d.failures ?? null,
          failedRules: d.failedRules ? d.failedRules.map((r) => r.rule) : null,
          stage: d.stage ?? null,
          message: d.message ?? null,
        });
      });
    }
  });
}

/** The recorded events, optionally of one type. */
export async function elementEvents(page, type) {
  const events = await page.evaluate(() => window.__preflightEvents ?? []);
  return type ? events.filter((e) => e.type === type) : events;
}

/**
 * Waits until <preflight-check> (the first one, or `selector`) has finished
 * the check of `fileName`: its state is passed, failed or error. Resolves to
 * the state.
 */
export async function waitCheckEnd(page, fileName, { selector = 'preflight-check', timeout = 120_000 } = {}) {
  const handle = await page.waitForFunction(
    ({ selector, fileName }) => {
      const check = document.querySelector(selector);
      if (!check || check.file?.name !== fileName) return null;
      return ['passed', 'failed', 'error'].includes(check.state) ? check.state : null;
    },
    { selector, fileName },
    { timeout, polling: 50 },
  );
  return handle.jsonValue();
}

/** Waits until the worker that <preflight-check> preloads has loaded the wasm module. */
export async function waitPreloaded(page, timeout = 60_000) {
  await page.waitForFunction(
    async () => {
      const api = await import(new URL('preflight.js', document.baseURI).href);
      await api.preload();
      return true;
    },
    null,
    { timeout },
  );
}

/** Dispatches a drop of `file` (its bytes read here) on the element matched by `locator`. */
export async function dropOn(page, locator, file, name = path.basename(file)) {
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
    { base64, name },
  );
  await locator.dispatchEvent('dragenter', { dataTransfer });
  await locator.dispatchEvent('dragover', { dataTransfer });
  await locator.dispatchEvent('drop', { dataTransfer });
  await dataTransfer.dispose();
}

/** Fails unless every recorded URL is on `origin` and under `basePath`. */
export function assertAllUnder(urls, origin, basePath, what) {
  const outside = urls.filter((u) => {
    if (u.startsWith('data:') || u.startsWith('blob:')) return false;
    const url = new URL(u);
    return url.origin !== origin || !url.pathname.startsWith(basePath);
  });
  assert.deepEqual(outside, [], `${what}: requests outside ${origin}${basePath}`);
}

/**
 * The fenced code blocks of the README section whose heading is `heading`:
 * [{lang, text}].
 */
export function readmeBlocks(heading) {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README has a section "${heading}"`);
  const rest = readme.slice(start + heading.length + 2);
  const level = heading.match(/^#+/)[0].length;
  const next = rest.search(new RegExp(`\\n#{1,${level}} `));
  const section = next >= 0 ? rest.slice(0, next) : rest;
  return [...section.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], text: m[2] }));
}
