// Browser tests with WebGPU (Chromium's SwiftShader adapter): the GPU path must run.
import { defineSuite } from './suite.mjs';

defineSuite('gpu');
