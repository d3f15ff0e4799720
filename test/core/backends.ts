// The Kernels implementations the core tests run against: every backend that runs on this machine
// (js reference, WebAssembly SIMD, native when built), plus native with two threads.

import type { Kernels } from '../../src/core/kernels/kernels.js';
import { availableBackends, createBackend } from '../../src/core/kernels/select.js';

const backends: Kernels[] = [...availableBackends(1)];
const nativeTwoThreads = createBackend('native', 2);
if (nativeTwoThreads !== null) backends.push(nativeTwoThreads);

export function forEachBackend(): Kernels[] {
  return backends;
}
