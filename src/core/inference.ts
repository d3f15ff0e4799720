// A loaded model prepared for repeated inference (predict): each dense layer's weights packed once
// for the backend's inference kernel when it has one (ReLU applied as the outputs are stored),
// dropout skipped (the identity outside training), the model's own buffers reused. The outputs
// have modelForward's bits; only the per-call work (packing the weights, extra passes) is gone.
// B batch, I inputs, O outputs.

import { activationForward } from './activations.js';
import { denseForward } from './dense.js';
import { CoreError } from './errors.js';
import type { NetworkLayer, PackedDense } from './kernels/kernels.js';
import type { Model } from './model.js';

export interface Inference {
  /** The model's outputs for the first B rows of X, in a buffer reused by the next call (B·outputWidth values valid). */
  run(X: Float32Array, B: number): Float32Array;
  /**
   * The outputs of all n rows of X written to out (n·outputWidth values), row-wise softmax'd when
   * `softmax`, in one backend call with no limit on n and the bits of run() (then softmaxRows). false,
   * with nothing written, when the backend cannot do it for this model: the caller then uses run().
   */
  runAll(X: Float32Array, n: number, out: Float32Array, softmax: boolean): boolean;
}

const prepared = new WeakMap<Model, Inference>();

/**
 * The model's inference, prepared on first use and kept while the model lives. The packed weights
 * are a copy: a model whose parameters change afterwards (training) must not use this.
 */
export function inferenceOf(m: Model): Inference {
  let inference = prepared.get(m);
  if (inference === undefined) {
    inference = prepareInference(m);
    prepared.set(m, inference);
  }
  return inference;
}

type Step = (h: Float32Array, B: number) => Float32Array;

function prepareInference(m: Model): Inference {
  const k = m.kernels;
  const steps: Step[] = [];
  // The whole network in one call when every layer is dense with ReLU or no activation (null: not).
  let network: NetworkLayer[] | null = k.inferNetwork === undefined ? null : [];
  for (const layer of m.stack) {
    // Dropout is the identity outside training; any other kind of layer must be handled here (the
    // type checker says so: below this line the layer is dense).
    if (layer.kind === 'dropout') continue;
    const { I, O, Z, A, activation, alpha } = layer;
    const W = layer.W.data;
    const b = layer.b === null ? null : layer.b.data;
    if (activation !== 'relu' && activation !== 'linear') network = null;
    const activate = (B: number): void => {
      if (activation !== 'linear' && !(k.activationForward?.(activation, Z, A, B * O, alpha) ?? false)) {
        activationForward(activation, Z, A, B, O, alpha);
      }
    };
    if (k.packDense !== undefined && k.denseInfer !== undefined) {
      const packed: PackedDense = k.packDense(W, O, I);
      const denseInfer = k.denseInfer.bind(k);
      if (activation === 'relu' || activation === 'linear') {
        // Straight into the layer's output (A is Z when linear).
        const relu = activation === 'relu';
        network?.push({ packed, bias: b, relu });
        steps.push((h, B) => {
          denseInfer(packed, h, B, b, relu, A);
          return A;
        });
      } else {
        steps.push((h, B) => {
          denseInfer(packed, h, B, b, false, Z);
          activate(B);
          return A;
        });
      }
    } else {
      network = null;
      steps.push((h, B) => {
        denseForward(k, h, W, b, Z, B, I, O);
        activate(B);
        return A;
      });
    }
  }
  return {
    run(X, B) {
      if (!(B >= 1 && B <= m.maxBatch)) throw new CoreError('batchSize', `batch of ${B} rows outside [1, ${m.maxBatch}]`);
      if (X.length < B * m.inputWidth) {
        throw new CoreError('dataset', `input holds ${X.length} values, fewer than ${B} rows × ${m.inputWidth}`);
      }
      let h = X;
      for (const step of steps) h = step(h, B);
      return h;
    },
    runAll(X, n, out, softmax) {
      if (network === null || k.inferNetwork === undefined) return false;
      if (X.length < n * m.inputWidth || out.length < n * m.outputWidth) {
        throw new CoreError('dataset', `runAll: buffers too short for ${n} rows`);
      }
      return k.inferNetwork(network, X, n, out, softmax);
    },
  };
}
