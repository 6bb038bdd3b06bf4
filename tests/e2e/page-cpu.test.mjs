// Browser tests without a WebGPU adapter: the CPU fallback must run.
import { defineSuite } from './suite.mjs';

defineSuite('cpu');
