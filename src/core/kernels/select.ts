// Picks the fastest compute backend available here: the native addon (when built for this
// platform), else WebAssembly SIMD, else the plain TypeScript reference. The result's `name` says
// which one runs, for logs and job metadata.
import { jsKernels } from './js.js';
import type { Kernels } from './kernels.js';
import { createNativeKernels } from './native.js';
import { createWasmKernels } from './wasm.js';

export type BackendKind = 'native' | 'wasm' | 'js';

/** Fastest first. */
export const BACKEND_KINDS: readonly BackendKind[] = ['native', 'wasm', 'js'];

export interface SelectOptions {
  /** Threads for one GEMM (the caller's plus helpers); backends without threads use 1. Default 1.
   *  The service always asks for 1; more threads are used by the benchmark and the backend tests. */
  threads?: number;
  /** Try this backend first; the others remain fallbacks. */
  prefer?: BackendKind;
}

/** The given backend with `threads` threads, or null when it cannot run here. */
export function createBackend(kind: BackendKind, threads = 1): Kernels | null {
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new RangeError(`threads must be an integer in [1, 64], got ${threads}`);
  }
  switch (kind) {
    case 'native':
      return createNativeKernels(threads);
    case 'wasm':
      return createWasmKernels(threads);
    case 'js':
      return jsKernels;
  }
}

export function selectKernels(options: SelectOptions = {}): Kernels {
  const threads = options.threads ?? 1;
  const order = options.prefer ? [options.prefer, ...BACKEND_KINDS.filter((k) => k !== options.prefer)] : BACKEND_KINDS;
  for (const kind of order) {
    const k = createBackend(kind, threads);
    if (k !== null) return k;
  }
  return jsKernels;
}

/** Every backend that runs here, once per kind (for tests and the benchmark). */
export function availableBackends(threads = 1): Kernels[] {
  const out: Kernels[] = [];
  for (const kind of BACKEND_KINDS) {
    const k = createBackend(kind, threads);
    if (k !== null) out.push(k);
  }
  return out;
}
