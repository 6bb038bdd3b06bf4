// The benchmark pages' server (bench/big/run.mjs and trace.mjs,
// bench/semantic/speed.mjs): the checkout's files under the given path
// prefixes on 127.0.0.1, any free port, cross-origin isolated (DuckDB-wasm
// and onnxruntime-web may then use their threads).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.css': 'text/css', '.pfm': 'application/octet-stream' };

/** Serves what lies under `prefixes` (URL paths such as '/www/'). */
export function startBenchServer(prefixes = ['/www/', '/bench/big/', '/bench/node_modules/']) {
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      const urlPath = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      const allowed = prefixes.some((prefix) => urlPath.startsWith(prefix));
      const file = path.join(REPO, urlPath);
      if (!allowed || urlPath.includes('..') || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, {
        'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
        'Cache-Control': 'no-cache',
      });
      fs.createReadStream(file).pipe(res);
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}
