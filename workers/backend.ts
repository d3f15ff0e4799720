// The compute backend training threads use: the core's fastest available, one GEMM thread each
// (the worker already runs one training thread per core).

import { selectKernels, type Kernels } from '../src/core/index.js';

let kernels: Kernels | null = null;

export function trainingKernels(): Kernels {
  kernels ??= selectKernels({ threads: 1 });
  return kernels;
}

export function describeBackend(): string {
  return trainingKernels().name;
}
