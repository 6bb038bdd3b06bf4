// Static hosting from a sub-path (README, "Hosting"): www/ is copied to
// tools/preflight/ in a temporary directory and served three ways: by
// Python's http.server with no configuration (no CSP header, its own MIME
// types), by a bare Node server that sends the wasm module as
// application/octet-stream (the loader's fallback), and by scripts/serve.mjs
// with --base /tools/preflight/ (CSP header). Each time the checker's page
// checks a dropped file, the example portal passes a clean file, and the
// README's JavaScript API snippet runs as written; every request the browser
// and the server see stays on the origin and under /tools/preflight/.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServer } from '../../scripts/serve.mjs';
import { assertAllUnder, readmeBlocks, startBrowser, waitCheckEnd, writeCustomerFiles } from './embed-helpers.mjs';
import { WWW, makeTempDir, requirePrerequisites, runViaDrop, waitEngineReady } from './helpers.mjs';

const BASE = '/tools/preflight/';

/**
 * The README's JavaScript API snippet as a module: its imports stay at the
 * top, the rest becomes the body of `run(file)`, which returns `report`.
 */
function snippetModule() {
  const block = readmeBlocks('## Embedding in a portal').find((b) => b.lang === 'js' && /\bprofile\(/.test(b.text));
  assert.ok(block, 'README shows the profile() snippet');
  const lines = block.text.split('\n');
  const imports = lines.filter((l) => l.startsWith('import '));
  const body = lines.filter((l) => !l.startsWith('import '));
  assert.ok(imports.length >= 1, 'the snippet imports preflight.js');
  return `${imports.join('\n')}\n\nexport async function run(file) {\n${body.join('\n')}\nreturn report;\n}\n`;
}

/** Python's http.server on a free port, bound to 127.0.0.1; its request log is kept. */
async function startPythonServer(directory) {
  const child = spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', directory], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    for (const m of chunk.matchAll(/"([A-Z]+) (\S+) HTTP\/[\d.]+"/g)) log.push({ method: m[1], urlPath: m[2] });
  });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`http.server did not start: ${out}${stderr}`)), 15_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/port (\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`http.server exited with ${code}: ${out}${stderr}`)));
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

/**
 * A bare static server: Content-Type from a short table with .wasm sent as
 * application/octet-stream, no other header.
 */
async function startOctetStreamServer(directory) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.csv': 'text/csv' };
  const log = [];
  const server = http.createServer((req, res) => {
    const urlPath = new URL(req.url, 'http://x').pathname;
    log.push({ method: req.method, urlPath });
    let file = path.join(directory, ...decodeURIComponent(urlPath).split('/').filter((s) => s && s !== '..'));
    if (urlPath.endsWith('/')) file = path.join(file, 'index.html');
    fs.readFile(file, (err, body) => {
      if (err) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': types[path.extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    log,
    close: () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      }),
  };
}

/** serve.mjs with --base, its root being the copied www/. */
async function startServeMjs(siteRoot) {
  const log = [];
  const server = await startServer({ port: 0, root: siteRoot, base: BASE, onRequest: (method, urlPath) => log.push({ method, urlPath }) });
  assert.equal(server.url, `http://127.0.0.1:${server.port}${BASE}`);
  return { origin: new URL(server.url).origin, log, close: server.close };
}

/** [name, start(siteDir), whether the wasm loader must fall back from streaming compilation]. */
const SERVERS = [
  ['python3 -m http.server, no configuration', (dir) => startPythonServer(dir), false],
  ['a server sending the wasm module as application/octet-stream', (dir) => startOctetStreamServer(dir), true],
  ['scripts/serve.mjs --base /tools/preflight/', (dir) => startServeMjs(path.join(dir, 'tools', 'preflight')), false],
];

/** wasm-bindgen's loader says so when it falls back to compiling the fetched bytes. */
const MIME_FALLBACK = /does not serve Wasm with `application\/wasm` MIME type/;

describe('hosting under a sub-path', { concurrency: false }, () => {
  let dir;
  let siteDir;
  let files;
  let browser;

  before(async () => {
    requirePrerequisites();
    dir = makeTempDir('preflight-hosting-');
    siteDir = path.join(dir, 'site');
    const copy = path.join(siteDir, 'tools', 'preflight');
    // README: copy www/ after the build, as it is.
    fs.cpSync(WWW, copy, { recursive: true, dereference: true });
    fs.writeFileSync(path.join(copy, 'api-snippet.js'), snippetModule());
    files = writeCustomerFiles(dir);
    browser = await startBrowser();
  });

  after(async () => {
    await browser?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const [name, start, fallback] of SERVERS) {
    describe(name, { concurrency: false }, () => {
      let server;
      let page;
      let requestsFrom;
      let consoleFrom;

      before(async () => {
        server = await start(siteDir);
        requestsFrom = browser.requests.length;
        consoleFrom = browser.consoleMessages.length;
      });

      after(async () => {
        await page?.close();
        await server?.close();
      });

      test('the checker page loads from the sub-path and checks a dropped file', async () => {
        page = await browser.newPage(`${server.origin}${BASE}`);
        await waitEngineReady(page);
        const outcome = await runViaDrop(page, files.clean);
        assert.equal(outcome.ok, true);
        const ready = page.locator('[data-testid="report-ready"]');
        assert.equal(await ready.getAttribute('data-file'), 'customers-clean.csv');
        assert.match(await ready.textContent(), /: 40 rows checked/);
      });

      test('the example portal passes a clean file and enables upload', async () => {
        await page.goto(`${server.origin}${BASE}portal.html`, { waitUntil: 'load' });
        await page.locator('#dataset-file').setInputFiles(files.clean);
        assert.equal(await waitCheckEnd(page, 'customers-clean.csv'), 'passed');
        assert.equal(await page.locator('#upload').isDisabled(), false);
      });

      test("the README's profile() snippet runs as written", async () => {
        const csv = fs.readFileSync(files.pii, 'utf8');
        const report = await page.evaluate(async (csv) => {
          const { run } = await import(new URL('api-snippet.js', document.baseURI).href);
          return run(new File([csv], 'customers-with-pii.csv', { type: 'text/csv' }));
        }, csv);
        assert.equal(report.source.name, 'customers-with-pii.csv');
        assert.equal(report.source.rows, 40);
        assert.equal(report.verdict.passed, false, 'the snippet applied the portal rules');
        assert.ok(report.verdict.rules.some((r) => r.rule === 'no_pii' && !r.passed));
      });

      test('every request stayed on the origin and under the sub-path', () => {
        const urls = browser.requests.slice(requestsFrom).map((r) => r.url);
        assert.ok(urls.some((u) => u.endsWith('/pkg/preflight_bg.wasm')), 'the browser fetched the wasm module from the sub-path');
        assertAllUnder(urls, server.origin, BASE, 'browser');
        const outside = server.log.filter((r) => !r.urlPath.startsWith(BASE));
        assert.deepEqual(outside, [], 'server: requests outside the sub-path');
        assert.ok(server.log.some((r) => r.urlPath === `${BASE}worker.js`), 'the server saw the worker load from the sub-path');
        assert.deepEqual(server.log.filter((r) => r.method !== 'GET'), [], 'only GETs');
      });

      test(fallback ? 'the wasm loader fell back from the wrong MIME type and worked' : 'the wasm module was compiled while streaming (application/wasm)', () => {
        const warnings = browser.consoleMessages.slice(consoleFrom).filter((m) => MIME_FALLBACK.test(m.text));
        if (fallback) assert.ok(warnings.length >= 1, 'the loader warned that it fell back');
        else assert.deepEqual(warnings, []);
      });
    });
  }

  test('serve.mjs --base serves nothing outside the sub-path and redirects its bare name', async () => {
    const server = await startServer({ port: 0, root: WWW, base: 'tools/preflight' });
    try {
      const origin = new URL(server.url).origin;
      const get = (p) => new Promise((resolve, reject) => http.get(`${origin}${p}`, (res) => { res.resume(); resolve(res); }).on('error', reject));
      assert.equal((await get('/')).statusCode, 404);
      assert.equal((await get('/index.html')).statusCode, 404);
      assert.equal((await get('/tools/preflightx/index.html')).statusCode, 404);
      const bare = await get('/tools/preflight');
      assert.equal(bare.statusCode, 301);
      assert.equal(bare.headers.location, BASE);
      const index = await get(BASE);
      assert.equal(index.statusCode, 200);
      assert.match(index.headers['content-security-policy'], /wasm-unsafe-eval/);
      assert.equal((await get(`${BASE}pkg/preflight_bg.wasm`)).headers['content-type'], 'application/wasm');
      assert.equal((await get(`${BASE}../index.html`)).statusCode, 404, 'dot segments resolve outside the base');
    } finally {
      await server.close();
    }
  });

  test('no uncaught errors in the pages', () => {
    assert.deepEqual(browser.pageErrors.map(String), []);
  });
});
