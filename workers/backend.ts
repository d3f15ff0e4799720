// The compute backend trainers use: the core's fastest available, with the threads the worker gave
// the job (workers/core-shares.ts). One pool per thread count, made once per process.

import type { Logger } from 'pino';
import { computeBackend, singleThreadKernels } from '../src/compute-backend.js';
import { selectKernels, type Kernels } from '../src/core/node.js';

const pools = new Map<number, Kernels>();

export function trainingKernels(threads = 1): Kernels {
  if (threads <= 1) return singleThreadKernels();
  let k = pools.get(threads);
  if (k === undefined) {
    k = selectKernels({ threads });
    pools.set(threads, k);
  }
  return k;
}

/** Start-up line: the backend, and a warning with the reason when the native addon did not load. */
export function logComputeBackend(logger: Logger): string {
  const { backend, nativeAddonError } = computeBackend();
  if (nativeAddonError !== null) {
    logger.warn({ backend, nativeAddonError }, `native addon not loaded; training on ${backend}`);
  }
  return backend;
}
