// The optional native backend: a C GEMM (AVX-512 / AVX2 / portable micro-kernels, picked at load
// time) over a fixed pthread pool, loaded as a Node-API addon when a build for this platform exists.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Kernels } from './kernels.js';

interface NativeAddon {
  isa(): string;
  createPool(threads: number): object;
  gemm(
    pool: object,
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    B: Float32Array,
    beta: number,
    C: Float32Array,
  ): void;
}

const ADDON_PATH = join('src', 'core', 'kernels', 'native', 'prebuilt', `${process.platform}-${process.arch}`, 'traind_kernels.node');

let addon: NativeAddon | null | undefined;

/** The addon's file: looked up from this module upwards, so both src/ (tsx, vitest) and dist/ find it. */
export function nativeAddonPath(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, ADDON_PATH);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

function loadAddon(): NativeAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  const path = nativeAddonPath();
  if (path === null) return null;
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch {
    // A build for another libc or CPU: fall back to the portable backends.
    addon = null;
  }
  return addon;
}

/** Native kernels with `threads` threads (the caller's plus threads − 1 helpers), or null when unavailable. */
export function createNativeKernels(threads: number): Kernels | null {
  const native = loadAddon();
  if (native === null) return null;
  const pool = native.createPool(threads);
  return {
    name: `native-${native.isa()}`,
    threads,
    alloc: (length) => new Float32Array(length),
    gemm: (transA, transB, M, N, K, alpha, A, B, beta, C) =>
      native.gemm(pool, transA, transB, M, N, K, alpha, A, B, beta, C),
  };
}
