// The Kernels implementations the core tests run against: every backend that runs on this machine
// (js reference, WebAssembly SIMD, native when built), plus the threaded ones with two threads.

import type { Kernels } from '../../src/core/kernels/kernels.js';
import { availableBackends } from '../../src/core/kernels/select.js';

const backends: Kernels[] = [...availableBackends(1), ...availableBackends(2).filter((k) => k.threads === 2)];

export function forEachBackend(): Kernels[] {
  return backends;
}
