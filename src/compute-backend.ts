// Which compute backend this process trains and predicts with, and why the native addon is not
// it when it is not: reported once at start-up (a warning) and on GET /readyz, so a host that
// silently fell back to WebAssembly (a third of the speed) is visible from outside.
import { nativeLoadError, selectKernels, type Kernels } from './core/node.js';

export interface ComputeBackend {
  /** The backend single-threaded jobs use here, e.g. "native-avx512", "wasm-simd", "js". */
  backend: string;
  /** Null when the native addon loaded; otherwise the loader's reason. */
  nativeAddonError: string | null;
}

let kernels: Kernels | null = null;

/** The process's one-thread kernels (created once: a native pool is not free). */
export function singleThreadKernels(): Kernels {
  kernels ??= selectKernels({ threads: 1 });
  return kernels;
}

export function computeBackend(): ComputeBackend {
  return { backend: singleThreadKernels().name, nativeAddonError: nativeLoadError() };
}
