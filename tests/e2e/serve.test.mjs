// scripts/serve.mjs: MIME types, headers, traversal, 404s, loopback only.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CONTENT_SECURITY_POLICY, startServer } from '../../scripts/serve.mjs';

/** A raw GET, so that paths like /../x reach the server unnormalised. */
function rawGet(url, rawPath, method = 'GET') {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path: rawPath, method }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('scripts/serve.mjs', () => {
  let dir;
  let root;
  let server;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-serve-'));
    root = path.join(dir, 'www');
    fs.mkdirSync(path.join(root, 'pkg'), { recursive: true });
    fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>t</title>');
    fs.writeFileSync(path.join(root, 'app.js'), 'export {};');
    fs.writeFileSync(path.join(root, 'style.css'), 'body{}');
    fs.writeFileSync(path.join(root, 'pkg', 'preflight_bg.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    fs.writeFileSync(path.join(root, 'pkg', 'x.mjs'), 'export {};');
    fs.writeFileSync(path.join(root, '.secret'), 'hidden');
    fs.writeFileSync(path.join(dir, 'outside.txt'), 'outside the root');
    fs.symlinkSync(path.join(dir, 'outside.txt'), path.join(root, 'link.txt'));
    server = await startServer({ port: 0, root });
  });

  after(async () => {
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('binds to 127.0.0.1 and reports its URL', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(server.server.address().address, '127.0.0.1');
  });

  test('serves index.html with the CSP and nosniff headers', async () => {
    const res = await rawGet(server.url, '/');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^text\/html/);
    assert.equal(res.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.match(res.body, /<title>t<\/title>/);
  });

  test('the CSP header equals the policy in www/index.html', () => {
    const html = fs.readFileSync(new URL('../../www/index.html', import.meta.url), 'utf8');
    const meta = html.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/);
    assert.ok(meta, 'index.html has a CSP meta tag');
    assert.equal(meta[1], CONTENT_SECURITY_POLICY);
  });

  test('MIME types', async () => {
    const cases = [
      ['/app.js', /^text\/javascript/],
      ['/pkg/x.mjs', /^text\/javascript/],
      ['/style.css', /^text\/css/],
      ['/pkg/preflight_bg.wasm', /^application\/wasm$/],
      ['/index.html', /^text\/html/],
    ];
    for (const [p, type] of cases) {
      const res = await rawGet(server.url, p);
      assert.equal(res.status, 200, p);
      assert.match(res.headers['content-type'], type, p);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', p);
    }
  });

  test('HEAD has headers and no body', async () => {
    const res = await rawGet(server.url, '/app.js', 'HEAD');
    assert.equal(res.status, 200);
    assert.equal(res.body, '');
    assert.equal(res.headers['content-length'], String('export {};'.length));
  });

  test('404 for missing files', async () => {
    const res = await rawGet(server.url, '/nope.js');
    assert.equal(res.status, 404);
    assert.match(res.headers['content-type'], /^text\/plain/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
  });

  test('refuses traversal, dot files, symlinks out of the root, other methods', async () => {
    for (const p of ['/../outside.txt', '/%2e%2e/outside.txt', '/pkg/..%2f..%2foutside.txt', '/..%5coutside.txt', '/.secret', '/%00']) {
      const res = await rawGet(server.url, p);
      assert.ok(res.status === 403 || res.status === 404 || res.status === 400, `${p}: status ${res.status}`);
      assert.doesNotMatch(res.body, /outside the root|hidden/, p);
    }
    const link = await rawGet(server.url, '/link.txt');
    assert.equal(link.status, 403);
    const post = await rawGet(server.url, '/', 'POST');
    assert.equal(post.status, 405);
  });

  test('directories without a slash redirect', async () => {
    const res = await rawGet(server.url, '/pkg');
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, '/pkg/');
  });
});
