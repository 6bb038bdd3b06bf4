// Flags for headless Debian Chromium in this project's tests and benchmarks
// (DESIGN section 5): no sandbox (root in CI), no QUIC, and none of the
// background traffic a closed network refuses. WebGPU (SwiftShader) is
// opt-in: without --enable-unsafe-webgpu there is no adapter, which is how
// the CPU fallback is tested.
export const CHROMIUM_ARGS = Object.freeze([
  '--headless',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]);

/** The flag that gives pages and workers a SwiftShader WebGPU adapter. */
export const WEBGPU_ARG = '--enable-unsafe-webgpu';
