// The example portal's script (portal.html): the Upload button stays
// disabled until <preflight-check> has passed the chosen file, and the
// status line says why when it has not. "Uploading" only says what would be
// sent: this page has no server to send it to.

import './preflight-check.js';

const check = document.querySelector('preflight-check');
const upload = document.getElementById('upload');
check.addEventListener('preflight-state', () => { upload.disabled = !check.passed; });

// The rest is this example's own: the status line and the form.
const status = document.getElementById('upload-status');
const form = document.getElementById('share-form');

check.addEventListener('preflight-start', (event) => {
  status.dataset.state = 'checking';
  status.textContent = `Checking ${event.detail.file.name} before it can be uploaded…`;
});
check.addEventListener('preflight-report', (event) => {
  const { file, passed, failedRules, failures } = event.detail;
  status.dataset.state = passed ? 'allowed' : 'blocked';
  status.textContent = passed
    ? `${file.name} passed the checks: it can be uploaded.`
    : `${file.name} cannot be uploaded: ${(failedRules.length ? failedRules.map((r) => `${r.rule}: ${r.message}`) : failures).join('; ')}`;
});
check.addEventListener('preflight-error', (event) => {
  status.dataset.state = 'error';
  status.textContent = `The file could not be checked, so it cannot be uploaded: ${event.detail.message}`;
});
check.addEventListener('preflight-reset', () => {
  status.dataset.state = '';
  status.textContent = 'Choose a file: it is checked before it can be uploaded.';
});

form.addEventListener('submit', (event) => {
  event.preventDefault();
  if (upload.disabled || !check.passed) return;
  const file = check.file;
  status.dataset.state = 'uploaded';
  status.textContent = `Would upload ${file.name} (${file.size} bytes) now; this example page sends nothing.`;
});
