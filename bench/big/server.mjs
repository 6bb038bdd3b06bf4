// The benchmark pages' server (bench/big/run.mjs, bench/big/trace.mjs):
// www/, bench/big/ and bench/node_modules/ from the checkout on 127.0.0.1,
// any free port, cross-origin isolated.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.css': 'text/css', '.pfm': 'application/octet-stream' };

export function startBenchServer() {
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      const urlPath = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      const allowed = urlPath.startsWith('/www/') || urlPath.startsWith('/bench/big/') || urlPath.startsWith('/bench/node_modules/');
      const file = path.join(REPO, urlPath);
      if (!allowed || urlPath.includes('..') || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, {
        'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        // Cross-origin isolation, so DuckDB-wasm may pick its threaded build.
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
        'Cache-Control': 'no-cache',
      });
      fs.createReadStream(file).pipe(res);
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}
