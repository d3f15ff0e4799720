// The WebAssembly SIMD backend (portable, no compiler needed at install): the AssemblyScript GEMM
// in wasm/gemm.as, relaxed-SIMD FMA when V8 accepts it, else plain 128-bit SIMD. With threads > 1,
// helper worker threads compute on the same shared WebAssembly.Memory; the calling thread posts a
// task and blocks in Atomics.wait (the Kernels interface is synchronous).
import { Worker } from 'node:worker_threads';
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
  Memory: new (desc: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  validate(bytes: Uint8Array): boolean;
}
const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface GemmExports {
  heapBase(): number;
  workBytes(): number;
  tileRows(): number;
  tileCols(): number;
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

const PAGE = 65536;
/** Must match --maximumMemory in wasm/build.sh (1 GiB of address space, committed only as used). */
const MAX_PAGES = 16384;

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

// Control block (Int32 slots in shared memory) through which the caller posts a GEMM to helpers.
// CLAIM packs (generation & 2047) << 20 | chunks << 10 | next chunk, so a helper that wakes late
// claims nothing of a finished task and never reads a task being rewritten (cf. native/addon.c).
const GEN = 0;
const CLAIM = 1;
const DONE = 2;
const P_TA = 3;
const P_TB = 4;
const P_M = 5;
const P_N = 6;
const P_K = 7;
const P_ALPHA = 8;
const P_A = 9;
const P_B = 10;
const P_BETA = 11;
const P_C = 12;
const P_SPLIT_COLS = 13;
const CTRL_SLOTS = 16;
const MAX_CHUNKS = 1023;

/** Runs in each helper and in the caller: claim chunks of task `gen` until none are left. */
function workOn(ctrl: Int32Array, ctrlF: Float32Array, wasm: GemmExports, gen: number, work: number): void {
  for (;;) {
    const cur = Atomics.load(ctrl, CLAIM);
    const total = (cur >>> 10) & 1023;
    const c = cur & 1023;
    if (cur >>> 20 !== (gen & 2047) || c >= total) return;
    if (Atomics.compareExchange(ctrl, CLAIM, cur, cur + 1) !== cur) continue;
    // Chunk c is ours and unfinished, so the task's parameters are stable while we read them.
    const M = ctrl[P_M]!;
    const N = ctrl[P_N]!;
    const splitCols = ctrl[P_SPLIT_COLS]! === 1;
    const unit = splitCols ? wasm.tileCols() : wasm.tileRows();
    const tiles = Math.ceil((splitCols ? N : M) / unit);
    const lo = Math.min(Math.floor((tiles * c) / total) * unit, splitCols ? N : M);
    const hi = Math.min(Math.floor((tiles * (c + 1)) / total) * unit, splitCols ? N : M);
    if (lo < hi) {
      wasm.gemmRange(
        ctrl[P_TA]!,
        ctrl[P_TB]!,
        M,
        N,
        ctrl[P_K]!,
        ctrlF[P_ALPHA]!,
        ctrl[P_A]!,
        ctrl[P_B]!,
        ctrlF[P_BETA]!,
        ctrl[P_C]!,
        splitCols ? 0 : lo,
        splitCols ? M : hi,
        splitCols ? lo : 0,
        splitCols ? hi : N,
        work,
      );
    }
    if (Atomics.add(ctrl, DONE, 1) + 1 === total) Atomics.notify(ctrl, DONE);
  }
}

// The helper's program (an eval'd CommonJS worker, so no file needs to be found at run time).
const HELPER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctrlOffset, work } = workerData;
const wasm = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('wasm gemm aborted'); } } }).exports;
const ctrl = new Int32Array(memory.buffer, ctrlOffset, ${CTRL_SLOTS});
const ctrlF = new Float32Array(memory.buffer, ctrlOffset, ${CTRL_SLOTS});
const [GEN, CLAIM, DONE, P_TA, P_TB, P_M, P_N, P_K, P_ALPHA, P_A, P_B, P_BETA, P_C, P_SPLIT_COLS] =
  ${JSON.stringify([GEN, CLAIM, DONE, P_TA, P_TB, P_M, P_N, P_K, P_ALPHA, P_A, P_B, P_BETA, P_C, P_SPLIT_COLS])};
const workOn = ${workOn.toString()};
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, GEN, seen);
  seen = Atomics.load(ctrl, GEN);
  workOn(ctrl, ctrlF, wasm, seen, work);
}
`;

/** Below this many multiply-adds waking a helper costs more than it saves. */
const MIN_PARALLEL_MACS = 1 << 20;
/** Chunks per thread: enough to rebalance when a helper starts late. */
const CHUNKS_PER_THREAD = 2;

const kernelsByThreads = new Map<number, Kernels>();

/**
 * WebAssembly kernels with `threads` threads (helpers are started once per thread count and kept,
 * unref'd), or null when this engine lacks SIMD. Operands are copied into the module's memory (it
 * may grow, and callers' arrays live elsewhere), so alloc returns ordinary arrays. Results do not
 * depend on the thread count: each element is computed by the same code whichever thread runs it.
 */
export function createWasmKernels(threads = 1): Kernels | null {
  const cached = kernelsByThreads.get(threads);
  if (cached !== undefined) return cached;
  const c = compile();
  if (c === null) return null;
  const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
  const imports = {
    env: {
      memory,
      abort: () => {
        throw new Error('wasm gemm aborted');
      },
    },
  };
  const wasm = new WebAssembly.Instance(c.module, imports).exports as GemmExports;
  const ctrlOffset = (wasm.heapBase() + 63) & ~63;
  const workBytes = (wasm.workBytes() + 63) & ~63;
  const works = Array.from({ length: threads }, (_, i) => ctrlOffset + 4 * CTRL_SLOTS + 64 + i * workBytes);
  const dataStart = works[threads - 1]! + workBytes;
  let heap = new Float32Array(memory.buffer);

  function ensure(bytes: number): void {
    const have = memory.buffer.byteLength;
    if (bytes > MAX_PAGES * PAGE) throw new RangeError(`gemm operands need ${bytes} bytes, more than the ${MAX_PAGES * PAGE}-byte WebAssembly memory`);
    if (bytes > have) memory.grow(Math.ceil((bytes - have) / PAGE));
    if (heap.buffer !== memory.buffer) heap = new Float32Array(memory.buffer);
  }
  ensure(dataStart);
  const ctrl = new Int32Array(memory.buffer, ctrlOffset, CTRL_SLOTS);
  const ctrlF = new Float32Array(memory.buffer, ctrlOffset, CTRL_SLOTS);
  for (let i = 1; i < threads; i++) {
    const helper = new Worker(HELPER_SOURCE, { eval: true, workerData: { module: c.module, memory, ctrlOffset, work: works[i] } });
    helper.unref();
  }
  let gen = 0;

  function copyIn(src: Float32Array, n: number, at: number): void {
    heap.set(src.length === n ? src : src.subarray(0, n), at >> 2);
  }

  function run(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number, a: number, b: number, beta: number, cOff: number): void {
    const rowTiles = Math.ceil(M / wasm.tileRows());
    const colTiles = Math.ceil(N / wasm.tileCols());
    const splitCols = colTiles >= rowTiles;
    const chunks = Math.min(threads * CHUNKS_PER_THREAD, splitCols ? colTiles : rowTiles, MAX_CHUNKS);
    if (threads === 1 || M * N * K < MIN_PARALLEL_MACS || chunks < 2) {
      wasm.gemmRange(transA ? 1 : 0, transB ? 1 : 0, M, N, K, alpha, a, b, beta, cOff, 0, M, 0, N, works[0]!);
      return;
    }
    gen = (gen + 1) | 0;
    ctrl[P_TA] = transA ? 1 : 0;
    ctrl[P_TB] = transB ? 1 : 0;
    ctrl[P_M] = M;
    ctrl[P_N] = N;
    ctrl[P_K] = K;
    ctrlF[P_ALPHA] = alpha;
    ctrl[P_A] = a;
    ctrl[P_B] = b;
    ctrlF[P_BETA] = beta;
    ctrl[P_C] = cOff;
    ctrl[P_SPLIT_COLS] = splitCols ? 1 : 0;
    Atomics.store(ctrl, DONE, 0);
    Atomics.store(ctrl, CLAIM, ((gen & 2047) << 20) | (chunks << 10));
    Atomics.store(ctrl, GEN, gen);
    Atomics.notify(ctrl, GEN);
    workOn(ctrl, ctrlF, wasm, gen, works[0]!);
    for (;;) {
      const done = Atomics.load(ctrl, DONE);
      if (done === chunks) break;
      Atomics.wait(ctrl, DONE, done);
    }
  }

  const kernels: Kernels = {
    name: c.relaxed ? 'wasm-relaxed-simd' : 'wasm-simd',
    threads,
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
      if (K === 0) {
        for (let i = 0; i < M * N; i++) C[i] = beta === 0 ? 0 : beta * C[i]!;
        return;
      }
      copyIn(A, M * K, a);
      copyIn(B, K * N, b);
      if (beta !== 0) copyIn(C, M * N, cOff);
      run(transA, transB, M, N, K, alpha, a, b, beta, cOff);
      C.set(heap.subarray(cOff >> 2, (cOff >> 2) + M * N));
    },
  };
  kernelsByThreads.set(threads, kernels);
  return kernels;
}
