// The compute backend trainers use: the core's fastest available, one GEMM thread each
// (the worker already runs one trainer per core).

import type { Logger } from 'pino';
import { computeBackend, singleThreadKernels } from '../src/compute-backend.js';
import type { Kernels } from '../src/core/index.js';

export function trainingKernels(): Kernels {
  return singleThreadKernels();
}

/** Start-up line: the backend, and a warning with the reason when the native addon did not load. */
export function logComputeBackend(logger: Logger): string {
  const { backend, nativeAddonError } = computeBackend();
  if (nativeAddonError !== null) {
    logger.warn({ backend, nativeAddonError }, `native addon not loaded; training on ${backend}`);
  }
  return backend;
}
