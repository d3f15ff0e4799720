// The inference path predict runs (weights packed once, ReLU fused where the backend can) gives the
// bits of the training forward pass, on every backend and the native addon's narrower builds, for
// shapes that exercise the kernels' edges: several and uneven K blocks, output widths that are not
// a multiple of a vector or a packed block, row counts below and across a register tile and split
// across threads, no bias, activations fused and not, dropout, and non-finite inputs.
import { describe, expect, it } from 'vitest';
import { softmaxRows } from '../../src/core/activations.js';
import { checkpointBytes, loadCheckpoint, predict } from '../../src/core/checkpoint.js';
import { inferenceOf } from '../../src/core/inference.js';
import type { Kernels } from '../../src/core/kernels/kernels.js';
import { createNativeKernels, nativeIsas } from '../../src/core/kernels/native.js';
import { outputTransform } from '../../src/core/losses.js';
import { createModel, modelForward } from '../../src/core/model.js';
import { createRng, nextFloat } from '../../src/core/rng.js';
import type { Activation, LayerConfig, LossConfig } from '../../src/core/types.js';
import { forEachBackend } from './backends.js';
import { config } from './train-helpers.js';

const narrowerNative: Kernels[] = nativeIsas()
  .slice(1)
  .flatMap((isa) => [createNativeKernels(1, isa), createNativeKernels(2, isa)])
  .filter((k): k is Kernels => k !== null);

interface Case {
  inputs: number;
  hidden: number[];
  activation: Activation;
  useBias: boolean;
  dropout?: boolean;
}

const CASES: Case[] = [
  { inputs: 784, hidden: [128], activation: 'relu', useBias: true },
  { inputs: 784, hidden: [256, 128], activation: 'relu', useBias: true, dropout: true },
  { inputs: 1000, hidden: [70], activation: 'relu', useBias: false },
  { inputs: 37, hidden: [19, 130], activation: 'linear', useBias: true },
  { inputs: 300, hidden: [33], activation: 'tanh', useBias: true },
  { inputs: 513, hidden: [64], activation: 'gelu', useBias: false },
  { inputs: 5, hidden: [3], activation: 'leaky_relu', useBias: true },
];

const ROWS = [1, 2, 5, 6, 7, 13, 64, 255, 256];
const MAX_ROWS = 256;

function layersOf(c: Case): LayerConfig[] {
  const layers: LayerConfig[] = [];
  for (const units of c.hidden) {
    layers.push({ type: 'dense', units, activation: c.activation, init: 'xavier_uniform', useBias: c.useBias, biasInit: 'he_normal' });
    if (c.dropout === true) layers.push({ type: 'dropout', rate: 0.3 });
  }
  layers.push({ type: 'dense', units: 10, activation: 'linear', init: 'xavier_uniform', useBias: c.useBias, biasInit: 'he_normal' });
  return layers;
}

/** Inputs with exact zeros, negatives, and in one row Infinity and NaN. */
function inputs(n: number, width: number): Float32Array {
  const x = Float32Array.from({ length: n * width }, (_, i) => (i % 7 === 0 ? 0 : Math.sin(i * 0.37) * 2));
  if (n > 3) {
    x[3 * width] = Infinity;
    x[3 * width + 1] = NaN;
  }
  return x;
}

describe.each([...forEachBackend(), ...narrowerNative].map((k) => [`${k.name} ${k.threads}T`, k] as const))('inference on %s', (_name, kernels) => {
  it.each(CASES.map((c) => [`${c.inputs}-${c.hidden.join('-')}-10 ${c.activation}${c.useBias ? '' : ' no bias'}${c.dropout === true ? ' dropout' : ''}`, c] as const))(
    'gives the forward pass bits for %s',
    (_label, c) => {
      const loss = { type: 'softmax_cross_entropy' } as const;
      const reference = createModel(layersOf(c), c.inputs, loss, createRng(3), kernels, MAX_ROWS);
      const model = createModel(layersOf(c), c.inputs, loss, createRng(3), kernels, MAX_ROWS);
      const x = inputs(MAX_ROWS, c.inputs);
      const inference = inferenceOf(model);
      for (const B of ROWS) {
        const want = modelForward(reference, x, B, false, createRng(0)).slice(0, B * 10);
        const got = inference.run(x, B).slice(0, B * 10);
        expect(new Uint32Array(got.buffer), `${B} rows`).toEqual(new Uint32Array(want.buffer));
      }
      expect(inferenceOf(model)).toBe(inference);
    },
  );
});

describe.each([...forEachBackend(), ...narrowerNative].map((k) => [`${k.name} ${k.threads}T`, k] as const))('predict on %s', (_name, kernels) => {
  const losses: [string, LossConfig, number][] = [
    ['softmax cross-entropy', { type: 'softmax_cross_entropy' }, 10],
    ['binary cross-entropy', { type: 'binary_cross_entropy' }, 3],
    ['mse', { type: 'mse' }, 2],
  ];
  it.each(losses)('gives the forward pass then the output transform, bit for bit (%s, 600 rows in chunks)', (_label, loss, outputs) => {
    const cfg = config({
      layers: [{ type: 'dense', units: 130, activation: 'relu', init: 'xavier_uniform', useBias: true, biasInit: 'he_normal' }, { type: 'dense', units: outputs, activation: 'linear', init: 'xavier_uniform', useBias: true, biasInit: 'zeros' }],
      loss,
    });
    const reference = createModel(cfg.layers, 784, loss, createRng(5), kernels, MAX_ROWS);
    const ckpt = loadCheckpoint(checkpointBytes(reference.params, cfg, { epoch: 1, step: 1, metrics: null, inputWidth: 784, normalization: null }), kernels);
    const n = 600;
    const x = inputs(n, 784).map((v) => (Number.isFinite(v) ? v : 0));
    const want = new Float32Array(n * outputs);
    for (let start = 0; start < n; start += MAX_ROWS) {
      const B = Math.min(MAX_ROWS, n - start);
      const out = modelForward(reference, x.subarray(start * 784), B, false, createRng(0));
      outputTransform(loss, out, want.subarray(start * outputs), B, outputs);
    }
    const got = predict(ckpt, x, n).outputs;
    expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array(want.buffer));
  });
});

describe('inference bounds', () => {
  it('refuses a batch outside [1, maxBatch] and a short input, as the forward pass does', () => {
    const model = createModel(layersOf(CASES[4]!), 300, { type: 'softmax_cross_entropy' }, createRng(3), forEachBackend()[0]!, 8);
    const inference = inferenceOf(model);
    expect(() => inference.run(new Float32Array(9 * 300), 9)).toThrow(/batch of 9 rows outside \[1, 8\]/);
    expect(() => inference.run(new Float32Array(299), 1)).toThrow(/fewer than 1 rows × 300/);
  });
});

// runAll (predict's path): the whole network over any number of rows in one backend call, the hidden
// activations of a few rows at a time kept in a thread's scratch. Its outputs must be run()'s, then
// the TypeScript softmax, bit for bit; a hidden layer of 4,000 units makes the chunks shorter than
// usual (the scratch holds two chunks of the widest layer).
const RUN_ALL_CASES: Case[] = [...CASES, { inputs: 20, hidden: [4000], activation: 'relu', useBias: true }];

describe.each([...forEachBackend(), ...narrowerNative].map((k) => [`${k.name} ${k.threads}T`, k] as const))('runAll on %s', (_name, kernels) => {
  it.each(RUN_ALL_CASES.map((c) => [`${c.inputs}-${c.hidden.join('-')}-10 ${c.activation}${c.useBias ? '' : ' no bias'}${c.dropout === true ? ' dropout' : ''}`, c] as const))(
    'gives run() bits, then the softmax, for %s',
    (_label, c) => {
      const loss = { type: 'softmax_cross_entropy' } as const;
      const model = createModel(layersOf(c), c.inputs, loss, createRng(3), kernels, MAX_ROWS);
      const reference = createModel(layersOf(c), c.inputs, loss, createRng(3), kernels, MAX_ROWS);
      const inference = inferenceOf(model);
      const supported = kernels.inferNetwork !== undefined && (c.activation === 'relu' || c.activation === 'linear');
      for (const n of [1, 5, 13, 64, 1000]) {
        const x = inputs(n, c.inputs);
        const logits = new Float32Array(n * 10);
        const probabilities = new Float32Array(n * 10);
        for (let start = 0; start < n; start += MAX_ROWS) {
          const B = Math.min(MAX_ROWS, n - start);
          const out = inferenceOf(reference).run(x.subarray(start * c.inputs), B);
          logits.set(out.subarray(0, B * 10), start * 10);
          softmaxRows(out, probabilities.subarray(start * 10), B, 10);
        }
        for (const [softmax, want] of [[false, logits], [true, probabilities]] as const) {
          const got = new Float32Array(n * 10).fill(-1);
          expect(inference.runAll(x, n, got, softmax), `${n} rows`).toBe(supported);
          if (supported) expect(new Uint32Array(got.buffer), `${n} rows, softmax ${softmax}`).toEqual(new Uint32Array(want.buffer));
          else expect(got.every((v) => v === -1)).toBe(true);
        }
      }
    },
  );
});

// Zero skipping (infer.c, the AVX-512 build): runAll leaves out the first layer's steps where all
// of a tile's inputs are zero, with the tile's rows taken in the order of where their nonzeros
// start and end. Exact only because each output is an FMA chain from +0 and 0·w is ±0 for finite w:
// so the bits must equal run()'s (layer by layer, which never skips) on image-like rows (zero
// borders of every width, zero rows, −0, NaN and Infinity inside a zero border), and no step may be
// skipped when a first-layer weight is infinite or NaN (0·∞ is NaN).
function imageLikeRows(n: number, width: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const x = new Float32Array(n * width);
  for (let r = 0; r < n; r++) {
    if (r % 11 === 4) continue; // an all-zero row
    const start = Math.floor(nextFloat(rng) * width * 0.4);
    const end = start + Math.floor(nextFloat(rng) * (width - start));
    for (let k = start; k < end; k++) x[r * width + k] = nextFloat(rng) < 0.2 ? 0 : Math.round(nextFloat(rng) * 255) / 255;
    if (r % 9 === 2) x[r * width + Math.max(0, start - 1)] = -0;
  }
  if (n > 20) {
    // Alone in a zero border: the steps that hold them must not be skipped.
    x[7 * width + width - 1] = NaN;
    x[19 * width] = Infinity;
  }
  return x;
}

const SKIP_CASES: { inputs: number; hidden: number[]; useBias: boolean; activation: Activation }[] = [
  { inputs: 784, hidden: [128], useBias: true, activation: 'relu' },
  { inputs: 784, hidden: [256, 128], useBias: true, activation: 'relu' },
  { inputs: 1000, hidden: [70], useBias: false, activation: 'relu' },
  { inputs: 37, hidden: [19, 130], useBias: true, activation: 'linear' },
  { inputs: 2100, hidden: [40], useBias: true, activation: 'relu' },
];

describe.each([...forEachBackend(), ...narrowerNative].map((k) => [`${k.name} ${k.threads}T`, k] as const))('runAll over image-like rows on %s', (_name, kernels) => {
  it.each(SKIP_CASES.map((c) => [`${c.inputs}-${c.hidden.join('-')}-10`, c] as const))('gives run() bits for %s, also with a non-finite first-layer weight', (_label, c) => {
    const loss = { type: 'softmax_cross_entropy' } as const;
    const layers = layersOf({ ...c });
    const clean = inferenceOf(createModel(layers, c.inputs, loss, createRng(8), kernels, MAX_ROWS));
    for (const poison of [null, Infinity, NaN]) {
      const model = createModel(layers, c.inputs, loss, createRng(8), kernels, MAX_ROWS);
      const reference = createModel(layers, c.inputs, loss, createRng(8), kernels, MAX_ROWS);
      if (poison !== null) {
        // Input 0's weight into every unit; input 0 is zero in most rows, so skipping its step
        // would give the clean model's outputs there instead of the poison's.
        for (let unit = 0; unit < c.hidden[0]!; unit++) {
          model.params[0]!.data[unit * c.inputs] = poison;
          reference.params[0]!.data[unit * c.inputs] = poison;
        }
      }
      for (const n of [1, 6, 47, 48, 49, 200]) {
        const x = imageLikeRows(n, c.inputs, n + c.inputs);
        const want = new Float32Array(n * 10);
        const unpoisoned = new Float32Array(n * 10);
        for (let start = 0; start < n; start += MAX_ROWS) {
          const B = Math.min(MAX_ROWS, n - start);
          want.set(inferenceOf(reference).run(x.subarray(start * c.inputs), B).subarray(0, B * 10), start * 10);
          unpoisoned.set(clean.run(x.subarray(start * c.inputs), B).subarray(0, B * 10), start * 10);
        }
        const got = new Float32Array(n * 10);
        if (!inferenceOf(model).runAll(x, n, got, false)) continue; // no whole-network path on this backend
        expect(new Uint32Array(got.buffer), `${n} rows, weight ${poison}`).toEqual(new Uint32Array(want.buffer));
        if (poison !== null) expect(new Uint32Array(want.buffer), `${n} rows, weight ${poison}`).not.toEqual(new Uint32Array(unpoisoned.buffer));
      }
    }
  });
});
