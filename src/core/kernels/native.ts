// The optional native backend: a C GEMM (AVX-512 / AVX2 / portable micro-kernels, picked at load
// time) over a fixed pool of libuv threads, loaded as a Node-API addon when a build for this platform exists.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { GemmArgs, Kernels, NetworkLayer, PackedDense } from './kernels.js';

interface NativeAddon {
  isa(): string;
  supportedIsas(): string[];
  fmaPeak(): FmaPeak | null;
  allocAligned(length: number): Float32Array | null;
  addressAlignment(view: ArrayBufferView): number;
  createPool(threads: number, isa?: string): object;
  /** A or B may be bytes standing for byte / 255 (sgemm.h). */
  gemm(pool: object, ...args: GemmArgs<Float32Array | Uint8Array>): void;
  gemmFused(
    pool: object,
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    A: Float32Array | Uint8Array,
    B: Float32Array | Uint8Array,
    C: Float32Array,
    bias: Float32Array | null,
    reluOut: Float32Array | null,
    reluMask: Float32Array | null,
  ): void;
  reluForward(Z: Float32Array, A: Float32Array, n: number): void;
  leakyReluForward(Z: Float32Array, A: Float32Array, n: number, alpha: number): void;
  reluBackward(Z: Float32Array, dA: Float32Array, dZ: Float32Array, n: number): void;
  leakyReluBackward(Z: Float32Array, dA: Float32Array, dZ: Float32Array, n: number, alpha: number): void;
  sigmoidBackward(A: Float32Array, dA: Float32Array, dZ: Float32Array, n: number): void;
  tanhBackward(A: Float32Array, dA: Float32Array, dZ: Float32Array, n: number): void;
  biasGradient(dZ: Float32Array, db: Float32Array, B: number, O: number): void;
  sgdStep(pool: object, w: Float32Array, g: Float32Array, buf: Float32Array | null, n: number, lr: number, momentum: number, nesterov: boolean): void;
  gatherRows(pool: object, src: Float32Array, width: number, order: Int32Array, start: number, count: number, dst: Float32Array): void;
  /** dst a Uint8Array: the bytes are copied, not converted. */
  gatherByteRows(pool: object, src: Uint8Array, width: number, order: Int32Array, start: number, count: number, dst: Float32Array | Uint8Array): void;
  packDense(pool: object, W: Float32Array, O: number, I: number): object;
  denseInfer(pool: object, packed: object, X: Float32Array, B: number, b: Float32Array | null, relu: boolean, Z: Float32Array): void;
  inferNetwork(pool: object, packed: object[], biases: (Float32Array | null)[], relu: boolean[], X: Float32Array, B: number, out: Float32Array, softmax: boolean): boolean;
  softmaxAvailable(): boolean;
  softmaxRows(Z: Float32Array, A: Float32Array, rows: number, cols: number, scalar?: boolean): void;
  softmaxCrossEntropyAvailable(): boolean;
  softmaxCrossEntropy(
    Z: Float32Array,
    labels: Float32Array,
    P: Float32Array,
    dZ: Float32Array | null,
    rows: number,
    cols: number,
    scalar?: boolean,
    hits?: Float64Array,
  ): number;
}

/** Weights packed by the addon for one pool's instruction set. */
interface NativePacked extends PackedDense {
  readonly handle: object;
}

const ADDON_PATH = join('src', 'core', 'kernels', 'native', 'prebuilt', `${process.platform}-${process.arch}`, 'traind_kernels.node');

let addon: NativeAddon | null | undefined;
let loadError: string | null = null;

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
  if (path === null) {
    loadError = `no native build for ${process.platform}-${process.arch} (${ADDON_PATH} not found)`;
    return null;
  }
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    // A build for another libc or CPU: fall back to the portable backends, and keep the reason
    // for the service to report (the core itself does no I/O).
    loadError = `${path}: ${(err as Error).message}`;
    addon = null;
  }
  return addon;
}

/** Why the native addon is not in use (null when it loaded): for start-up logs and /readyz. */
export function nativeLoadError(): string | null {
  loadAddon();
  return loadError;
}

/** What one core's FP32 peak is made of, measured by the addon (probe.c) with the vectors of its GEMM build. */
export interface FmaPeak {
  /** From a chain of dependent integer adds (one cycle each). */
  clockGHz: number;
  /** A chain of dependent vector FMAs, in those cycles. */
  fmaLatencyCycles: number;
  /** Vector FMAs per cycle from twelve independent chains: the FMA units, once rounded. */
  fmaPerCycle: number;
  lanes: number;
}

/** The measured FMA figures (a fraction of a second's work), or null without the addon or an x86-64 SIMD build. */
export function nativeFmaPeak(): FmaPeak | null {
  return loadAddon()?.fmaPeak() ?? null;
}

/** The largest power of two (up to 2 MiB) dividing the address of `view`'s first element; null without the addon. */
export function nativeAddressAlignment(view: ArrayBufferView): number | null {
  return loadAddon()?.addressAlignment(view) ?? null;
}

/** The GEMM builds ("avx512", "avx2", "generic") this CPU runs, widest first; empty without the addon. */
export function nativeIsas(): string[] {
  return loadAddon()?.supportedIsas() ?? [];
}

/**
 * Native kernels with `threads` threads (the caller's plus threads − 1 helpers), or null when
 * unavailable. `isa` forces a narrower GEMM build (tests); by default the widest this CPU runs.
 */
export function createNativeKernels(threads: number, isa?: string): Kernels | null {
  const native = loadAddon();
  return native === null ? null : kernelsOf(native, threads, isa);
}

/**
 * The same from another build of the addon (a file made by build.sh with an output directory), for
 * comparing two builds in one process (bench/compare-builds.ts). Throws when it does not load.
 */
export function createNativeKernelsFromFile(path: string, threads: number, isa?: string): Kernels {
  return kernelsOf(createRequire(import.meta.url)(path) as NativeAddon, threads, isa);
}

function kernelsOf(native: NativeAddon, threads: number, isa: string | undefined): Kernels {
  const pool = native.createPool(threads, isa);
  // Only where the node binary exports V8's exp, so the native softmax rounds as Math.exp does.
  const softmax = native.softmaxAvailable();
  // And V8's log, for the loss.
  const crossEntropy = native.softmaxCrossEntropyAvailable();
  return {
    name: `native-${isa ?? native.isa()}`,
    threads,
    // On cache lines, large ones on huge pages (allocAligned in addon.c).
    alloc: (length) => native.allocAligned(length) ?? new Float32Array(length),
    gemm: (transA, transB, M, N, K, alpha, A, B, beta, C) =>
      native.gemm(pool, transA, transB, M, N, K, alpha, A, B, beta, C),
    // Bias and ReLU in the GEMM's output pass (sgemm.c's epilogue).
    denseForward: (X, W, b, Z, A, B, I, O) => native.gemmFused(pool, false, true, B, O, I, X, W, Z, b, A, null),
    denseInputGradientRelu: (dZ, W, mask, dX, B, I, O) => native.gemmFused(pool, false, false, B, I, O, dZ, W, dX, null, null, mask),
    activationForward(kind, Z, A, n, alpha) {
      switch (kind) {
        case 'relu':
          native.reluForward(Z, A, n);
          return true;
        case 'leaky_relu':
          native.leakyReluForward(Z, A, n, alpha);
          return true;
        default:
          // exp/tanh/erf would round differently from V8's Math functions: left to TypeScript.
          return false;
      }
    },
    activationBackward(kind, Z, A, dA, dZ, n, alpha) {
      switch (kind) {
        case 'relu':
          native.reluBackward(Z, dA, dZ, n);
          return true;
        case 'leaky_relu':
          native.leakyReluBackward(Z, dA, dZ, n, alpha);
          return true;
        case 'sigmoid':
          native.sigmoidBackward(A, dA, dZ, n);
          return true;
        case 'tanh':
          native.tanhBackward(A, dA, dZ, n);
          return true;
        default:
          return false;
      }
    },
    biasGradient: (dZ, db, B, O) => native.biasGradient(dZ, db, B, O),
    // These split across the pool's threads (by elements / rows: the same bits either way).
    sgdStep: (w, g, buf, n, lr, momentum, nesterov) => native.sgdStep(pool, w, g, buf, n, lr, momentum, nesterov),
    gatherRows: (src, width, order, start, count, dst) => native.gatherRows(pool, src, width, order, start, count, dst),
    gatherByteRows: (src, width, order, start, count, dst) => native.gatherByteRows(pool, src, width, order, start, count, dst),
    // The GEMM converts byte operands a cache block at a time (sgemm.h).
    byteInputs: {
      gatherRows: (src, width, order, start, count, dst) => native.gatherByteRows(pool, src, width, order, start, count, dst),
      denseForward: (X, W, b, Z, A, B, I, O) => native.gemmFused(pool, false, true, B, O, I, X, W, Z, b, A, null),
      weightGradient: (dZ, X, dW, B, I, O, beta) => native.gemm(pool, true, false, O, I, B, 1, dZ, X, beta, dW),
    },
    packDense: (W, O, I): NativePacked => ({ O, I, handle: native.packDense(pool, W, O, I) }),
    denseInfer: (packed, X, B, b, relu, Z) => native.denseInfer(pool, (packed as NativePacked).handle, X, B, b, relu, Z),
    inferNetwork: (layers: readonly NetworkLayer[], X, B, out, softmax) =>
      native.inferNetwork(
        pool,
        layers.map((l) => (l.packed as NativePacked).handle),
        layers.map((l) => l.bias),
        layers.map((l) => l.relu),
        X,
        B,
        out,
        softmax,
      ),
    softmaxRows(Z, A, rows, cols) {
      if (!softmax) return false;
      native.softmaxRows(Z, A, rows, cols);
      return true;
    },
    softmaxCrossEntropy(Z, y, P, dZ, B, O, hits) {
      if (!crossEntropy) return null;
      // A negative result -(r + 1) names a row whose label is not a class index.
      const total = native.softmaxCrossEntropy(Z, y, P, dZ, B, O, false, hits);
      return total < 0 ? null : total;
    },
  };
}
