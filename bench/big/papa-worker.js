// PapaParse only parsing a File in a worker (classic worker: PapaParse is a
// UMD script), default settings (arrays of strings, no typing), chunked.
importScripts('/bench/node_modules/papaparse/papaparse.min.js');

onmessage = ({ data: file }) => {
  const started = performance.now();
  let rows = 0;
  let errors = 0;
  Papa.parse(file, {
    chunkSize: 4 << 20,
    chunk(results) {
      rows += results.data.length;
      errors += results.errors.length;
    },
    complete() {
      postMessage({ ok: true, seconds: (performance.now() - started) / 1000, rows, errors });
    },
    error(err) {
      postMessage({ ok: false, error: String(err) });
    },
  });
};
