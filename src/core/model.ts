// A model is a stack of dense and dropout layers with its parameters and every buffer it needs,
// allocated once for up to maxBatch rows; forward and backward walk the stack and allocate nothing.

import { activationBackward, activationForward, defaultAlpha } from './activations.js';
import { denseBackward, denseForward } from './dense.js';
import { dropoutBackward, dropoutForward } from './dropout.js';
import { CoreError } from './errors.js';
import { initialize, validateInit } from './init.js';
import { byteInputsOf, type Kernels } from './kernels/kernels.js';
import type { Rng } from './rng.js';
import type { Activation, DenseLayerConfig, LayerConfig, LossConfig } from './types.js';

/** A trainable tensor, named as in the checkpoint (`layers.{i}.weight` [O, I] / `layers.{i}.bias` [O]). */
export interface Param {
  name: string;
  shape: number[];
  data: Float32Array;
  grad: Float32Array;
  isWeight: boolean;
}

interface DenseLayer {
  kind: 'dense';
  I: number;
  O: number;
  W: Param;
  b: Param | null;
  /** The activation applied here: 'linear' on the output layer when the loss fuses its own. */
  activation: Activation;
  alpha: number;
  /** Pre-activation [maxBatch × O]. */
  Z: Float32Array;
  /** Output [maxBatch × O]; the same buffer as Z when the activation is linear. */
  A: Float32Array;
  /** Gradient with respect to Z; unused (and aliasing Z) when the activation is linear. */
  dZ: Float32Array;
  /** Gradient with respect to this layer's input; null when no parameter lies below. */
  dIn: Float32Array | null;
}

interface DropoutLayer {
  kind: 'dropout';
  width: number;
  rate: number;
  Y: Float32Array;
  mask: Float32Array;
  dIn: Float32Array | null;
}

/** One layer of a built model: its parameters and the buffers its forward and backward passes use. */
type Layer = DenseLayer | DropoutLayer;

export interface Model {
  readonly layers: readonly LayerConfig[];
  readonly inputWidth: number;
  readonly outputWidth: number;
  readonly loss: LossConfig;
  readonly maxBatch: number;
  readonly kernels: Kernels;
  /** In layer order: weight then bias (if any) of each dense layer. */
  readonly params: Param[];
  /** Internal: one entry per layer, in order. */
  readonly stack: Layer[];
  /** Internal: the input of the last forward pass, kept for backward. */
  input: Float32Array | Uint8Array;
}

const ACTIVATIONS: readonly Activation[] = ['linear', 'relu', 'leaky_relu', 'elu', 'sigmoid', 'tanh', 'gelu', 'softmax'];
const LOSSES: readonly LossConfig['type'][] = ['softmax_cross_entropy', 'binary_cross_entropy', 'mse', 'mae', 'huber'];

/** True when the loss takes logits and applies the output layer's softmax/sigmoid itself. */
export function lossFusesActivation(loss: LossConfig): boolean {
  return loss.type === 'softmax_cross_entropy' || loss.type === 'binary_cross_entropy';
}

function isPositiveInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

function validateDense(layer: DenseLayerConfig, path: string, isOutput: boolean): void {
  if (!isPositiveInteger(layer.units)) {
    throw new CoreError(`${path}.units`, `units must be a positive integer, got ${String(layer.units)}`);
  }
  if (!ACTIVATIONS.includes(layer.activation)) {
    throw new CoreError(`${path}.activation`, `unknown activation '${String(layer.activation)}'`);
  }
  if (layer.activation === 'softmax' && !isOutput) {
    throw new CoreError(`${path}.activation`, 'softmax is only supported on the output layer');
  }
  if (layer.activation === 'softmax' && layer.units < 2) {
    throw new CoreError(`${path}.activation`, 'softmax over 1 unit always outputs 1; use sigmoid for a single unit');
  }
  if (layer.alpha !== undefined && (!Number.isFinite(layer.alpha) || layer.alpha < 0)) {
    throw new CoreError(`${path}.alpha`, `alpha must be finite and >= 0, got ${layer.alpha}`);
  }
  if (typeof layer.useBias !== 'boolean') {
    throw new CoreError(`${path}.useBias`, `useBias must be a boolean, got ${String(layer.useBias)}`);
  }
  validateInit(layer.init, 'weight', `${path}.init`);
  if (layer.useBias) validateInit(layer.biasInit, 'bias', `${path}.biasInit`);
}

function validateLoss(loss: LossConfig, output: DenseLayerConfig, outputPath: string): void {
  if (!LOSSES.includes(loss.type)) throw new CoreError('loss', `unknown loss '${String(loss.type)}'`);
  if (loss.type === 'huber' && !(Number.isFinite(loss.delta) && loss.delta > 0)) {
    throw new CoreError('loss.delta', `huber delta must be finite and > 0, got ${loss.delta}`);
  }
  if (loss.type === 'softmax_cross_entropy') {
    if (output.units < 2) {
      throw new CoreError(
        'loss',
        `softmax_cross_entropy needs an output layer of at least 2 units, got ${output.units}; ` +
          'for two classes with one unit use binary_cross_entropy',
      );
    }
    if (output.activation !== 'softmax' && output.activation !== 'linear') {
      throw new CoreError(
        `${outputPath}.activation`,
        `softmax_cross_entropy applies softmax to the output layer's logits itself; its activation must be 'softmax' or 'linear', got '${output.activation}'`,
      );
    }
  }
  if (loss.type === 'binary_cross_entropy' && output.activation !== 'sigmoid' && output.activation !== 'linear') {
    throw new CoreError(
      `${outputPath}.activation`,
      `binary_cross_entropy applies sigmoid to the output layer's logits itself; its activation must be 'sigmoid' or 'linear', got '${output.activation}'`,
    );
  }
}

/** Throws CoreError, with the config field's path, for a model that cannot run. */
export function validateModel(layers: readonly LayerConfig[], inputWidth: number, loss: LossConfig): void {
  if (!isPositiveInteger(inputWidth)) {
    throw new CoreError('dataset', `the input width must be a positive integer, got ${String(inputWidth)}`);
  }
  if (!Array.isArray(layers) || layers.length === 0) {
    throw new CoreError('layers', 'the model needs at least one dense layer');
  }
  const last = layers.length - 1;
  layers.forEach((layer, i) => {
    const path = `layers.${i}`;
    if (layer.type === 'dense') {
      validateDense(layer, path, i === last);
    } else if (layer.type === 'dropout') {
      if (!(Number.isFinite(layer.rate) && layer.rate >= 0 && layer.rate < 1)) {
        throw new CoreError(`${path}.rate`, `dropout rate must be in [0, 1), got ${layer.rate}`);
      }
      if (i === last) {
        throw new CoreError(`${path}.type`, 'the last layer must be dense: dropout there would drop the model\'s outputs');
      }
    } else {
      throw new CoreError(`${path}.type`, `unknown layer type '${String((layer as { type: unknown }).type)}'`);
    }
  });
  validateLoss(loss, layers[last] as DenseLayerConfig, `layers.${last}`);
}

/** Trainable parameter count, for limits checked before a model is built. */
export function countParams(layers: readonly LayerConfig[], inputWidth: number): number {
  let width = inputWidth;
  let count = 0;
  for (const layer of layers) {
    if (layer.type !== 'dense') continue;
    count += layer.units * width + (layer.useBias ? layer.units : 0);
    width = layer.units;
  }
  return count;
}

function makeParam(k: Kernels, name: string, shape: number[], isWeight: boolean): Param {
  const length = shape.reduce((a, b) => a * b, 1);
  const data = k.alloc(length);
  const grad = k.alloc(length);
  data.fill(0);
  grad.fill(0);
  return { name, shape, data, grad, isWeight };
}

/** Validates, initializes the parameters from `rng` (weight then bias, layer by layer) and allocates all buffers. */
export function createModel(
  layers: LayerConfig[],
  inputWidth: number,
  loss: LossConfig,
  rng: Rng,
  k: Kernels,
  maxBatch: number,
): Model {
  validateModel(layers, inputWidth, loss);
  if (!isPositiveInteger(maxBatch)) {
    throw new CoreError('batchSize', `the batch size must be a positive integer, got ${String(maxBatch)}`);
  }
  const params: Param[] = [];
  const stack: Layer[] = [];
  const fused = lossFusesActivation(loss);
  const last = layers.length - 1;
  let width = inputWidth;
  let hasParamsBelow = false;
  layers.forEach((layer, i) => {
    if (layer.type === 'dropout') {
      const n = maxBatch * width;
      stack.push({
        kind: 'dropout',
        width,
        rate: layer.rate,
        Y: k.alloc(n),
        mask: k.alloc(n),
        dIn: hasParamsBelow ? k.alloc(n) : null,
      });
      return;
    }
    const I = width;
    const O = layer.units;
    const W = makeParam(k, `layers.${i}.weight`, [O, I], true);
    initialize(W.data, layer.init, I, O, rng, 'weight', `layers.${i}.init`);
    params.push(W);
    let b: Param | null = null;
    if (layer.useBias) {
      b = makeParam(k, `layers.${i}.bias`, [O], false);
      initialize(b.data, layer.biasInit, I, O, rng, 'bias', `layers.${i}.biasInit`);
      params.push(b);
    }
    const activation: Activation = fused && i === last ? 'linear' : layer.activation;
    const Z = k.alloc(maxBatch * O);
    stack.push({
      kind: 'dense',
      I,
      O,
      W,
      b,
      activation,
      alpha: layer.alpha ?? defaultAlpha(layer.activation),
      Z,
      A: activation === 'linear' ? Z : k.alloc(maxBatch * O),
      dZ: activation === 'linear' ? Z : k.alloc(maxBatch * O),
      dIn: hasParamsBelow ? k.alloc(maxBatch * I) : null,
    });
    hasParamsBelow = true;
    width = O;
  });
  return { layers, inputWidth, outputWidth: width, loss, maxBatch, kernels: k, params, stack, input: new Float32Array(0) };
}

function layerOutput(layer: Layer): Float32Array {
  return layer.kind === 'dense' ? layer.A : layer.Y;
}

/**
 * Runs B rows of X [B × inputWidth] through the model and returns its output buffer, whose first
 * B·outputWidth entries are valid: logits when the loss fuses softmax/sigmoid, else the final
 * activation'layer values. The buffer is reused by the next call. `rng` draws the dropout masks.
 * X may be bytes standing for byte / 255 when the first layer is dense and the backend has
 * ByteInputKernels (the training batches, see batches.ts).
 */
export function modelForward(m: Model, X: Float32Array | Uint8Array, B: number, training: boolean, rng: Rng): Float32Array {
  if (!(B >= 1 && B <= m.maxBatch)) throw new CoreError('batchSize', `batch of ${B} rows outside [1, ${m.maxBatch}]`);
  if (X.length < B * m.inputWidth) {
    throw new CoreError('dataset', `input holds ${X.length} values, fewer than ${B} rows × ${m.inputWidth}`);
  }
  m.input = X;
  let h = X;
  for (const layer of m.stack) {
    if (layer.kind === 'dense') {
      denseLayerForward(m.kernels, layer, h, B);
      h = layer.A;
    } else {
      if (h instanceof Uint8Array) throw new CoreError('dataset', 'byte inputs reach only a first dense layer');
      dropoutForward(h, layer.Y, layer.mask, B * layer.width, layer.rate, rng, training);
      h = layer.Y;
    }
  }
  return h as Float32Array;
}

/**
 * Z = h·Wᵀ + b, then A = f(Z). A backend with a fused dense pass does ReLU (or linear) in the
 * GEMM's output pass; its bits are those of the separate steps.
 */
function denseLayerForward(k: Kernels, layer: DenseLayer, h: Float32Array | Uint8Array, B: number): void {
  const { activation, I, O, Z, A } = layer;
  const W = layer.W.data;
  const b = layer.b === null ? null : layer.b.data;
  // Whether the GEMM's output pass applies the activation (ReLU, or none for linear).
  const fusable = activation === 'relu' || activation === 'linear';
  const reluOut = activation === 'relu' ? A : null;
  let activated = false;
  if (h instanceof Uint8Array) {
    byteInputsOf(k).denseForward(h, W, b, Z, fusable ? reluOut : null, B, I, O);
    activated = fusable;
  } else if (k.denseForward !== undefined && fusable) {
    k.denseForward(h, W, b, Z, reluOut, B, I, O);
    activated = true;
  } else {
    denseForward(k, h, W, b, Z, B, I, O);
  }
  // A backend's element-wise pass, when it has one, computes the same bits as ours.
  if (!activated && activation !== 'linear' && !(k.activationForward?.(activation, Z, A, B * O, layer.alpha) ?? false)) {
    activationForward(activation, Z, A, B, O, layer.alpha);
  }
}

/** Sets each Param's grad to ∂L/∂param, from dOut = ∂L/∂output of the last forward pass (every parameter is a dense layer's, and each is written whole). */
export function modelBackward(m: Model, dOut: Float32Array, B: number): void {
  const k = m.kernels;
  let g = dOut;
  // True when g is already ∂L/∂Z of the layer it reaches: the ReLU's derivative was applied by the
  // GEMM above that computed g (the fused pass), so the layer skips its own activation backward.
  let gIsDZ = false;
  for (let i = m.stack.length - 1; i >= 0; i--) {
    const layer = m.stack[i]!;
    const below = i === 0 ? null : m.stack[i - 1]!;
    const input = below === null ? m.input : layerOutput(below);
    if (layer.kind === 'dense') {
      let dZ = g;
      if (layer.activation !== 'linear' && !gIsDZ) {
        if (!(k.activationBackward?.(layer.activation, layer.Z, layer.A, g, layer.dZ, B * layer.O, layer.alpha) ?? false)) {
          activationBackward(layer.activation, layer.Z, layer.A, g, layer.dZ, B, layer.O, layer.alpha);
        }
        dZ = layer.dZ;
      }
      const fuseRelu = layer.dIn !== null && below?.kind === 'dense' && below.activation === 'relu' && k.denseInputGradientRelu !== undefined;
      const W = layer.W.data;
      denseBackward(k, dZ, input, W, layer.W.grad, layer.b === null ? null : layer.b.grad, fuseRelu ? null : layer.dIn, B, layer.I, layer.O, true);
      if (fuseRelu) {
        // dX = dZ·W with the ReLU derivative of the layer below, straight into that layer's dZ.
        k.denseInputGradientRelu!(dZ, W, below.Z, below.dZ, B, layer.I, layer.O);
        g = below.dZ;
        gIsDZ = true;
        continue;
      }
    } else if (layer.dIn !== null) {
      dropoutBackward(g, layer.mask, layer.dIn, B * layer.width);
    }
    if (layer.dIn === null) return;
    g = layer.dIn;
    gIsDZ = false;
  }
}

export function zeroGrads(m: Model): void {
  for (const p of m.params) p.grad.fill(0);
}

/** Copies each parameter'layer values into `into` (one array per parameter, same order). */
export function saveWeights(params: readonly Param[], into: Float32Array[]): void {
  params.forEach((p, k) => into[k]!.set(p.data));
}

export function loadWeights(from: readonly Float32Array[], params: readonly Param[]): void {
  params.forEach((p, k) => p.data.set(from[k]!));
}

export function weightsFinite(params: readonly Param[]): boolean {
  for (const p of params) {
    for (let i = 0; i < p.data.length; i++) if (!Number.isFinite(p.data[i]!)) return false;
  }
  return true;
}
