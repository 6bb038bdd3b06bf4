#!/usr/bin/env node
// A tiny static file server for preflight's page (www/). No dependencies.
//
//   node scripts/serve.mjs [--port 8080] [--root www] [--base /tools/preflight/]
//
// --base serves the root under that URL path only (as an intranet would host
// the tool at https://intranet/tools/preflight/): every other path is a 404.
//
// Binds 127.0.0.1 only. Sends the page's Content-Security-Policy as a header
// too, because a dedicated worker takes its policy from its own response, not
// from the page's <meta> tag. Tests import `startServer` and use port 0.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The page's policy; www/index.html carries the same one in a meta tag. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join('; ');

const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.csv': 'text/csv; charset=utf-8',
  '.tsv': 'text/tab-separated-values; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.jsonl': 'application/x-ndjson; charset=utf-8',
  '.ndjson': 'application/x-ndjson; charset=utf-8',
  '.gz': 'application/gzip',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.ts': 'text/plain; charset=utf-8', // .d.ts files in pkg/: not video
};

/** MIME type for a file name; unknown extensions are plain bytes. */
export function mimeType(fileName) {
  return MIME_TYPES[path.extname(fileName).toLowerCase()] ?? 'application/octet-stream';
}

function baseHeaders() {
  return {
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': 'no-cache',
  };
}

function sendText(res, status, text, method) {
  const body = Buffer.from(text + '\n', 'utf8');
  res.writeHead(status, {
    ...baseHeaders(),
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': body.length,
  });
  res.end(method === 'HEAD' ? undefined : body);
}

/**
 * Maps a URL path to a file under `root`, or null when the path is not
 * acceptable (traversal, NUL bytes, bad escapes, dot files).
 */
export function resolveUnderRoot(root, urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/').filter((s) => s !== '');
  // Refuse any '..' and any hidden segment ('.git', '.env'), before joining.
  if (segments.some((s) => s === '..' || s.startsWith('.'))) return null;
  const resolved = path.resolve(root, ...segments);
  const rootWithSep = root.endsWith(path.sep) ? root : root + path.sep;
  if (resolved !== root && !resolved.startsWith(rootWithSep)) return null;
  return resolved;
}

/**
 * The URL path the site is served under: '/' or '/a/b/', with one leading
 * and one trailing slash. Throws on a base that is not a plain path.
 */
export function normalizeBase(base = '/') {
  const segments = String(base).split('/').filter((s) => s !== '');
  for (const s of segments) {
    if (s === '.' || s === '..' || !/^[A-Za-z0-9._~-]+$/.test(s)) throw new Error(`bad base path: ${JSON.stringify(base)} (use letters, digits and . _ ~ - between slashes)`);
  }
  return segments.length ? `/${segments.join('/')}/` : '/';
}

/**
 * Starts the server. Resolves to {url, port, close()}; `close` resolves when
 * the server has stopped. `onRequest(method, urlPath)` sees every request.
 * `base` (default '/') is the URL path the root is served under; `url` ends
 * with it.
 */
export function startServer({ port = 8080, root = 'www', host = '127.0.0.1', base = '/', onRequest, quiet = true } = {}) {
  const rootDir = fs.realpathSync(path.resolve(root));
  const basePath = normalizeBase(base);
  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    let urlPath;
    try {
      urlPath = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      sendText(res, 400, 'bad request', method);
      return;
    }
    if (onRequest) onRequest(method, urlPath);
    if (!quiet) process.stderr.write(`${method} ${urlPath}\n`);
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      sendText(res, 405, 'method not allowed', method);
      return;
    }
    if (basePath !== '/' && urlPath === basePath.slice(0, -1)) {
      res.writeHead(301, { ...baseHeaders(), Location: basePath });
      res.end();
      return;
    }
    if (!urlPath.startsWith(basePath)) {
      sendText(res, 404, `not found (this server serves ${basePath} only)`, method);
      return;
    }
    let filePath = resolveUnderRoot(rootDir, urlPath.slice(basePath.length - 1));
    if (filePath === null) {
      sendText(res, 403, 'forbidden', method);
      return;
    }
    fs.stat(filePath, (statErr, stat) => {
      if (!statErr && stat.isDirectory()) {
        if (!urlPath.endsWith('/')) {
          res.writeHead(301, { ...baseHeaders(), Location: urlPath + '/' });
          res.end();
          return;
        }
        filePath = path.join(filePath, 'index.html');
      }
      // Follow symlinks only when they stay inside the root.
      fs.realpath(filePath, (realErr, realPath) => {
        if (realErr) {
          sendText(res, 404, 'not found', method);
          return;
        }
        if (realPath !== rootDir && !realPath.startsWith(rootDir + path.sep)) {
          sendText(res, 403, 'forbidden', method);
          return;
        }
        fs.stat(realPath, (err2, fileStat) => {
          if (err2 || !fileStat.isFile()) {
            sendText(res, 404, 'not found', method);
            return;
          }
          res.writeHead(200, {
            ...baseHeaders(),
            'Content-Type': mimeType(realPath),
            'Content-Length': fileStat.size,
          });
          if (method === 'HEAD') {
            res.end();
            return;
          }
          const stream = fs.createReadStream(realPath);
          stream.on('error', () => res.destroy());
          stream.pipe(res);
        });
      });
    });
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      const url = `http://${host}:${address.port}${basePath}`;
      const close = () =>
        new Promise((done) => {
          server.close(() => done());
          server.closeAllConnections?.();
        });
      resolve({ url, port: address.port, close, server });
    });
  });
}

function parseArgs(argv) {
  const options = { port: 8080, root: 'www', quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
      return argv[++i];
    };
    if (flag === '--port' || flag === '-p') {
      const port = Number(value());
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad port: ${port}`);
      options.port = port;
    } else if (flag === '--root') {
      options.root = value();
    } else if (flag === '--base') {
      options.base = normalizeBase(value());
    } else if (flag === '--quiet' || flag === '-q') {
      options.quiet = true;
    } else if (flag === '--help' || flag === '-h') {
      options.help = true;
    } else {
      throw new Error(`unknown argument: ${arg}`);
    }
  }
  return options;
}

const isMain = process.argv[1] && fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url));
if (isMain) {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`serve: ${err.message}\nusage: node scripts/serve.mjs [--port 8080] [--root www] [--base /sub/path/] [--quiet]\n`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write('usage: node scripts/serve.mjs [--port 8080] [--root www] [--base /sub/path/] [--quiet]\n');
    process.exit(0);
  }
  if (!fs.existsSync(options.root) || !fs.statSync(options.root).isDirectory()) {
    process.stderr.write(`serve: root is not a directory: ${options.root}\n`);
    process.exit(2);
  }
  startServer(options).then(
    ({ url }) => {
      process.stdout.write(`preflight: serving ${path.resolve(options.root)} at ${url}\n`);
    },
    (err) => {
      process.stderr.write(`serve: ${err.message}\n`);
      process.exit(1);
    },
  );
}
