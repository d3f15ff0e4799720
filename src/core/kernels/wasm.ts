// The WebAssembly SIMD backend (portable, no compiler needed at install): the AssemblyScript GEMM
// in wasm/gemm.as, relaxed-SIMD FMA when V8 accepts it, else plain 128-bit SIMD.
import { setFlagsFromString } from 'node:v8';

import type { Kernels } from './kernels.js';
import { gemmRelaxedSimdWasm, gemmSimdWasm } from './wasm/gemm-wasm.js';

// The project's lib settings (ES2022, no DOM) do not declare WebAssembly; the part used here:
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: unknown };
  validate(bytes: Uint8Array): boolean;
}
const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface GemmExports {
  memory: WasmMemory;
  heapBase(): number;
  workBytes(): number;
  gemmRange(
    transA: number,
    transB: number,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: number,
    B: number,
    beta: number,
    C: number,
    i0: number,
    i1: number,
    j0: number,
    j1: number,
    work: number,
  ): void;
}

let compiled: { module: object; relaxed: boolean } | null | undefined;

function decode(base64: string): Uint8Array {
  return new Uint8Array(Buffer.from(base64, 'base64'));
}

/** Compiles once per thread: relaxed SIMD if V8 takes it (Node 20 needs its flag, set here), else SIMD. */
function compile(): { module: object; relaxed: boolean } | null {
  if (compiled !== undefined) return compiled;
  const relaxed = decode(gemmRelaxedSimdWasm);
  if (!WebAssembly.validate(relaxed)) {
    try {
      // Only affects validation of modules compiled after this; harmless when already on.
      setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      // Flag unknown to this V8: plain SIMD below.
    }
  }
  if (WebAssembly.validate(relaxed)) {
    compiled = { module: new WebAssembly.Module(relaxed), relaxed: true };
    return compiled;
  }
  const simd = decode(gemmSimdWasm);
  compiled = WebAssembly.validate(simd) ? { module: new WebAssembly.Module(simd), relaxed: false } : null;
  return compiled;
}

const PAGE = 65536;

/**
 * WebAssembly kernels, or null when this engine lacks SIMD. Operands are copied into the module's
 * memory (its buffer may grow, which would detach views handed out by alloc), so alloc returns
 * ordinary arrays. The scratch region grows to the largest call seen and is then reused.
 */
export function createWasmKernels(): Kernels | null {
  const c = compile();
  if (c === null) return null;
  const instance = new WebAssembly.Instance(c.module, {
    env: {
      abort: () => {
        throw new Error('wasm gemm aborted');
      },
    },
  });
  const wasm = instance.exports as unknown as GemmExports;
  const work = wasm.heapBase();
  const dataStart = (work + wasm.workBytes() + 63) & ~63;
  let heap = new Float32Array(wasm.memory.buffer);

  function ensure(bytes: number): void {
    const have = wasm.memory.buffer.byteLength;
    if (bytes > have) wasm.memory.grow(Math.ceil((bytes - have) / PAGE));
    if (heap.buffer !== wasm.memory.buffer) heap = new Float32Array(wasm.memory.buffer);
  }

  function copyIn(src: Float32Array, n: number, at: number): void {
    heap.set(src.length === n ? src : src.subarray(0, n), at >> 2);
  }

  return {
    name: c.relaxed ? 'wasm-relaxed-simd' : 'wasm-simd',
    threads: 1,
    alloc: (length) => new Float32Array(length),
    gemm(transA, transB, M, N, K, alpha, A, B, beta, C) {
      if (A.length < M * K || B.length < K * N || C.length < M * N) {
        throw new RangeError('gemm: a buffer is shorter than its dimensions need');
      }
      if (M === 0 || N === 0) return;
      const a = dataStart;
      const b = (a + 4 * M * K + 63) & ~63;
      const cOff = (b + 4 * K * N + 63) & ~63;
      ensure(cOff + 4 * M * N);
      copyIn(A, M * K, a);
      copyIn(B, K * N, b);
      if (beta !== 0) copyIn(C, M * N, cOff);
      if (K === 0) {
        heap.fill(0, cOff >> 2, (cOff >> 2) + M * N);
        if (beta !== 0) for (let i = 0; i < M * N; i++) heap[(cOff >> 2) + i] = beta * C[i]!;
      } else {
        wasm.gemmRange(transA ? 1 : 0, transB ? 1 : 0, M, N, K, alpha, a, b, beta, cOff, 0, M, 0, N, work);
      }
      C.set(heap.subarray(cOff >> 2, (cOff >> 2) + M * N));
    },
  };
}
