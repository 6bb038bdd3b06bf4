// Runs one embedding engine in a fresh module worker on the given sentences
// and resolves to {seconds, sentences, tokens?, backend, vectors (first 8)}.
// bench/semantic/speed.mjs drives this page with Playwright.

function inWorker(script, message) {
  const worker = new Worker(script, { type: 'module' });
  return new Promise((resolve, reject) => {
    worker.onmessage = ({ data }) => {
      worker.terminate();
      data.ok ? resolve(data) : reject(new Error(data.error));
    };
    worker.onerror = (e) => {
      worker.terminate();
      reject(new Error(e.message || 'worker failed'));
    };
    worker.postMessage(message);
  });
}

window.benchSemantic = {
  preflight: (texts, backend) => inWorker('speed-preflight.js', { texts, backend }),
  transformers: (texts, device, batch) => inWorker('speed-transformers.js', { texts, device, batch }),
};
window.benchReady = true;
