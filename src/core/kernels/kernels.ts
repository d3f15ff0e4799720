// The one small interface every compute backend implements. Layers call only these, so a faster
// backend (WebAssembly SIMD, threads, native BLAS) replaces the plain TypeScript one untouched.

import { CoreError } from '../errors.js';
import type { Activation } from '../types.js';

/**
 * The arguments of every GEMM in the core, its backends and their tests, in this order (BLAS's sgemm
 * without the leading dimensions). `Operand` widens A and B for the native addon's byte operands.
 */
export type GemmArgs<Operand = Float32Array> = [
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Operand,
  B: Operand,
  beta: number,
  C: Float32Array,
];

/**
 * Row-major C[M×N] = alpha · op(A) · op(B) + beta · C, where op(A) is M×K and op(B) is K×N.
 * A is stored M×K (or K×M when transA), B is K×N (or N×K when transB). beta 0 ignores C's contents.
 */
export type Gemm = (...args: GemmArgs) => void;

export interface Kernels {
  /** Backend name, reported in job metadata, e.g. "js" or "wasm-simd". */
  readonly name: string;
  readonly threads: number;
  /** Float32 buffers the backend can compute on without copying (e.g. views into wasm memory). */
  alloc(length: number): Float32Array;
  gemm: Gemm;

  // Optional element-wise passes. A backend that has them computes exactly the bits of the
  // TypeScript loop it replaces (float64 arithmetic in the same order, rounded on store), so callers
  // use them when present and fall back to their own loop otherwise (or when one returns false).

  /** A = f(Z) over n elements; returns false (nothing written) for kinds it does not handle. */
  activationForward?(kind: Activation, Z: Float32Array, A: Float32Array, n: number, alpha: number): boolean;
  /** dZ = f'(Z)·dA over n elements (dZ may alias dA); false for kinds it does not handle (softmax always). */
  activationBackward?(kind: Activation, Z: Float32Array, A: Float32Array, dA: Float32Array, dZ: Float32Array, n: number, alpha: number): boolean;
  /** db[o] += Σ_r dZ[r·O + o], each column summed in float64 in row order. */
  biasGradient?(dZ: Float32Array, db: Float32Array, B: number, O: number): void;
  /** torch.optim.SGD (dampening 0): buf = μ·buf + g; w −= lr·(nesterov ? g + μ·buf : buf); buf null: w −= lr·g. */
  sgdStep?(w: Float32Array, g: Float32Array, buf: Float32Array | null, n: number, lr: number, momentum: number, nesterov: boolean): void;
  // Optional fused dense passes: the GEMM's output pass also adds the bias and applies ReLU, with
  // exactly the bits of the separate calls they replace (dense.ts says which), so a layer's bias and
  // activation cost no pass over its outputs of their own.

  /** Z[B×O] = X·Wᵀ (+ b, seeded into Z as denseForward does), then A = relu(Z) when A is given. */
  denseForward?(X: Float32Array, W: Float32Array, b: Float32Array | null, Z: Float32Array, A: Float32Array | null, B: number, I: number, O: number): void;
  /** dX[B×I] = dZ·W, then dX = mask > 0 ? dX : 0 (the ReLU derivative of the layer below, mask its Z). */
  denseInputGradientRelu?(dZ: Float32Array, W: Float32Array, mask: Float32Array, dX: Float32Array, B: number, I: number, O: number): void;
  /** dst row r (width floats) = src row order[start + r], for r < count. */
  gatherRows?(src: Float32Array, width: number, order: Int32Array, start: number, count: number, dst: Float32Array): void;
  /** The same from bytes read as byte / 255 (compact IDX pixels): dst = Math.fround(src / 255). */
  gatherByteRows?(src: Uint8Array, width: number, order: Int32Array, start: number, count: number, dst: Float32Array): void;
  /** Byte mini-batches for training: see ByteInputKernels. */
  byteInputs?: ByteInputKernels;

  // Optional inference kernels (predict): a dense layer's weights packed once, then used for every
  // call, with bits equal to this backend's denseForward (and ReLU) on the same weights.

  /** W [O×I] packed for denseInfer; the packed copy does not follow later changes to W. */
  packDense?(W: Float32Array, O: number, I: number): PackedDense;
  /** Z[B×O] = X[B×I]·Wᵀ + b (b null: none), then ReLU when `relu`. */
  denseInfer?(packed: PackedDense, X: Float32Array, B: number, b: Float32Array | null, relu: boolean, Z: Float32Array): void;
  /**
   * out [B×O_last] = the dense layers in order applied to X [B×I_0], then the row-wise softmax when
   * `softmax`: the bits of denseInfer layer by layer, then softmaxRows, in one call (each row's hidden
   * activations stay in the thread's cache). false, with nothing written, when it cannot promise them.
   */
  inferNetwork?(layers: readonly NetworkLayer[], X: Float32Array, B: number, out: Float32Array, softmax: boolean): boolean;
  /** A = row-wise softmax of Z [rows × cols], softmaxRows' bits; false (nothing written) when it cannot promise them. */
  softmaxRows?(Z: Float32Array, A: Float32Array, rows: number, cols: number): boolean;
  /**
   * Softmax cross-entropy of logits Z [B×O] against class labels y [B]: P = softmax(Z), dZ (null: not
   * wanted) = ∂(mean loss)/∂Z, and the summed loss Σ_r (log Σ_j exp Z[r,j] − Z[r,y_r]) returned, with the
   * bits of lossAndOutputs then lossBackward. null when it cannot promise them or a label is not a
   * class index: the caller's own code then runs (and reports the label). With `hits`, hits[0] = the
   * rows whose predicted class (the first largest P, as metrics.ts picks it) is their label.
   */
  softmaxCrossEntropy?(Z: Float32Array, y: Float32Array, P: Float32Array, dZ: Float32Array | null, B: number, O: number, hits?: Float64Array): number | null;
}

/**
 * Training on byte features (IDX pixels: each byte stands for Math.fround(byte / 255)) without writing
 * a mini-batch out as floats: its rows are gathered as bytes (a quarter of the memory traffic) and the
 * first dense layer's two products read them, converting as they go, with exactly the bits of
 * gathering floats and calling denseForward and gemm on them.
 */
export interface ByteInputKernels {
  /** dst row r (width bytes) = src row order[start + r], for r < count. */
  gatherRows(src: Uint8Array, width: number, order: Int32Array, start: number, count: number, dst: Uint8Array): void;
  /** Kernels.denseForward with X [B×I] as bytes. */
  denseForward(X: Uint8Array, W: Float32Array, b: Float32Array | null, Z: Float32Array, A: Float32Array | null, B: number, I: number, O: number): void;
  /** dW [O×I] = dZᵀ·X + beta·dW with X [B×I] as bytes: gemm(true, false, O, I, B, 1, dZ, X, beta, dW). */
  weightGradient(dZ: Float32Array, X: Uint8Array, dW: Float32Array, B: number, I: number, O: number, beta: 0 | 1): void;
}

/** The backend's byte inputs, for a caller that was handed a byte batch (only such backends make them). */
export function byteInputsOf(k: Kernels): ByteInputKernels {
  if (k.byteInputs === undefined) throw new CoreError('dataset', 'byte inputs need a backend that reads them');
  return k.byteInputs;
}

/** A dense layer's weights in a backend's own layout for inference (opaque). */
export interface PackedDense {
  readonly O: number;
  readonly I: number;
}

/** One layer of inferNetwork: packed weights, its bias (null: none), and whether ReLU follows. */
export interface NetworkLayer {
  readonly packed: PackedDense;
  readonly bias: Float32Array | null;
  readonly relu: boolean;
}
