// The one small interface every compute backend implements. Layers call only these, so a faster
// backend (WebAssembly SIMD, threads, native BLAS) replaces the plain TypeScript one untouched.

export interface Kernels {
  /** Backend name, reported in job metadata, e.g. "js" or "wasm-simd". */
  readonly name: string;
  readonly threads: number;
  /** Float32 buffers the backend can compute on without copying (e.g. views into wasm memory). */
  alloc(length: number): Float32Array;
  /**
   * Row-major C[M×N] = alpha · op(A) · op(B) + beta · C, where op(A) is M×K and op(B) is K×N.
   * A is stored M×K (or K×M when transA), B is K×N (or N×K when transB). beta 0 ignores C's contents.
   */
  gemm(
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
