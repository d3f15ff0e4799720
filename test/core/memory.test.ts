// The memory estimate against the allocations a real training run makes: every typed array the
// dataset, the core and its serialization create during the run is counted (through counting
// subclasses installed as the global constructors), views at their measured heap cost, and the
// estimate must cover the count within a stated factor.
import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memoryEstimate, train } from '../../src/core/index.js';
import { ROW_VIEW_BYTES } from '../../src/core/memory.js';
import type { Dataset, OptimizerConfig, TrainConfig } from '../../src/core/types.js';
import { config, dense, dropout } from './train-helpers.js';

/** The estimate may exceed what a run allocates by at most this factor (it must never be below). */
const MAX_FACTOR = 1.25;

const NAMES = ['Float32Array', 'Float64Array', 'Int32Array', 'Uint8Array'] as const;
type Name = (typeof NAMES)[number];
const globals = globalThis as unknown as Record<Name, unknown>;
const originals = Object.fromEntries(NAMES.map((n) => [n, globals[n]])) as Record<Name, unknown>;

interface Counter {
  bytes: number;
  views: number;
}

/** Replaces the global typed-array constructors with subclasses that count what they allocate. */
function countAllocations(): Counter {
  const counter: Counter = { bytes: 0, views: 0 };
  for (const name of NAMES) {
    const Base = originals[name] as new (...args: unknown[]) => { byteLength: number };
    globals[name] = class extends Base {
      constructor(...args: unknown[]) {
        super(...args);
        const first = args[0];
        // A view over an existing buffer (subarray, wrapping) allocates no backing store.
        if (first instanceof ArrayBuffer || first instanceof SharedArrayBuffer) counter.views += 1;
        else counter.bytes += this.byteLength;
      }
    };
  }
  return counter;
}

function restoreConstructors(): void {
  for (const name of NAMES) globals[name] = originals[name];
}

let gc: () => void = () => undefined;
/** Heap bytes one kept subarray view costs here (V8 object plus its slot in an array), measured. */
let viewBytes = 0;

function measureViewBytes(): number {
  const n = 200_000;
  const base = new Float32Array(n);
  gc();
  const before = process.memoryUsage().heapUsed;
  const rows: Float32Array[] = [];
  for (let i = 0; i < n; i++) rows.push(base.subarray(i, i + 1));
  gc();
  const after = process.memoryUsage().heapUsed;
  expect(rows.length).toBe(n);
  return (after - before) / n;
}

beforeAll(() => {
  v8.setFlagsFromString('--expose-gc');
  gc = runInNewContext('gc') as () => void;
  viewBytes = Math.min(measureViewBytes(), measureViewBytes());
});

afterEach(restoreConstructors);

/** Deterministic rows (must be built while counting: the run's row views are views of these). */
function dataset(n: number, features: number, targetWidth: number, classes: number | null, seed: number): Dataset {
  let s = seed;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const x = new Float32Array(n * features);
  const y = new Float32Array(n * targetWidth);
  for (let i = 0; i < x.length; i++) x[i] = 2 * rand() - 1;
  for (let i = 0; i < y.length; i++) y[i] = classes === null ? rand() : Math.floor(rand() * classes);
  return { x, y, n, features, targetWidth };
}

interface Case {
  name: string;
  cfg: TrainConfig;
  rows: number;
  validationRows: number;
  features: number;
  targetWidth: number;
  classes: number | null;
}

const sgdMomentum: OptimizerConfig = { type: 'sgd', momentum: 0.9, nesterov: true };
const rmspropCentered: OptimizerConfig = { type: 'rmsprop', rho: 0.9, momentum: 0.5, centered: true, epsilon: 1e-7 };
const adam: OptimizerConfig = { type: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, amsgrad: false };

const cases: Case[] = [
  {
    name: 'MLP 64-128-64-10, adam, batch 32, validation',
    cfg: config({ layers: [dense(128, 'relu'), dense(64, 'tanh'), dense(10)], optimizer: adam, batchSize: 32, epochs: 1 }),
    rows: 6_000,
    validationRows: 1_000,
    features: 64,
    targetWidth: 1,
    classes: 10,
  },
  {
    name: 'batchSize "full" with dropout, sgd momentum, regression',
    cfg: config({
      layers: [dense(256, 'relu'), dropout(0.5), dense(256, 'gelu'), dropout(0.2), dense(1)],
      loss: { type: 'mse' },
      optimizer: sgdMomentum,
      batchSize: 'full',
      epochs: 1,
    }),
    rows: 2_000,
    validationRows: 0,
    features: 32,
    targetWidth: 1,
    classes: null,
  },
  {
    name: 'wide layer on one feature, full batch (the issue\'s shape, scaled down)',
    cfg: config({ layers: [dense(4096, 'relu'), dense(1)], loss: { type: 'mse' }, optimizer: sgdMomentum, batchSize: 'full', epochs: 1 }),
    rows: 2_000,
    validationRows: 0,
    features: 1,
    targetWidth: 1,
    classes: null,
  },
  {
    name: 'centered rmsprop, restoreBest, normalize, dropout, validation larger than the batch',
    cfg: config({
      layers: [dense(200, 'sigmoid'), dropout(0.3), dense(3)],
      loss: { type: 'binary_cross_entropy' },
      optimizer: rmspropCentered,
      batchSize: 32,
      epochs: 1,
      normalize: 'standard',
      earlyStopping: { monitor: 'val_loss', mode: 'auto', patience: 3, minDelta: 0, startFromEpoch: 0, baseline: null, restoreBest: true },
    }),
    rows: 2_000,
    validationRows: 500,
    features: 100,
    targetWidth: 3,
    classes: 2,
  },
];

async function countRun(c: Case, resume: Uint8Array | null = null): Promise<{ counted: number; latest: Uint8Array | null }> {
  let latest: Uint8Array | null = null;
  const counter = countAllocations();
  try {
    const data = {
      train: dataset(c.rows, c.features, c.targetWidth, c.classes, 1),
      validation: c.validationRows > 0 ? dataset(c.validationRows, c.features, c.targetWidth, c.classes, 2) : null,
    };
    await train(c.cfg, data, { onLatest: (e) => void (latest = e.bytes) }, { resume });
  } finally {
    restoreConstructors();
  }
  // A resumed run also holds the resume file it was given.
  const counted = counter.bytes + counter.views * viewBytes + (resume?.byteLength ?? 0);
  return { counted, latest };
}

function estimateOf(c: Case) {
  return memoryEstimate(c.cfg, { trainRows: c.rows, validationRows: c.validationRows, features: c.features, targetWidth: c.targetWidth });
}

describe('memoryEstimate against a training run\'s counted allocations', () => {
  it(`a kept row view costs at most ROW_VIEW_BYTES (${ROW_VIEW_BYTES}) of heap`, () => {
    expect(viewBytes).toBeGreaterThan(32);
    expect(viewBytes).toBeLessThanOrEqual(ROW_VIEW_BYTES);
  });

  for (const c of cases) {
    it(`${c.name}: within 1–${MAX_FACTOR}× of what the run allocates`, async () => {
      const { counted } = await countRun(c);
      const { bytes } = estimateOf(c);
      const ratio = bytes / counted;
      console.log(`memory estimate ${c.name}: estimate ${bytes} B, counted ${Math.round(counted)} B, ratio ${ratio.toFixed(3)}`);
      expect(ratio).toBeGreaterThanOrEqual(1);
      expect(ratio).toBeLessThanOrEqual(MAX_FACTOR);
    });
  }

  it('restoring a resume state (file, decoded tensors, optimizer state) stays within the factor too', async () => {
    const c = cases[3]!;
    const first = await countRun(c);
    // Its one epoch is done: this run restores everything and writes the final checkpoint.
    const { counted } = await countRun(c, first.latest);
    const ratio = estimateOf(c).bytes / counted;
    console.log(`memory estimate resumed: counted ${Math.round(counted)} B, ratio ${ratio.toFixed(3)}`);
    expect(ratio).toBeGreaterThanOrEqual(1);
    expect(ratio).toBeLessThanOrEqual(MAX_FACTOR);
  });
});

describe('memoryEstimate parts', () => {
  const shape = { trainRows: 1000, validationRows: 0, features: 10, targetWidth: 1 };
  const slotsOf = (optimizer: OptimizerConfig) => {
    const { parts } = memoryEstimate(config({ layers: [dense(20, 'relu'), dense(1)], loss: { type: 'mse' }, optimizer }), shape);
    return parts.optimizerState / parts.parameters;
  };

  it('optimizer state slots per parameter: sgd 0 or 1, adagrad 1, rmsprop 1–3, adam 2 (3 with amsgrad)', () => {
    expect(slotsOf({ type: 'sgd', momentum: 0, nesterov: false })).toBe(0);
    expect(slotsOf(sgdMomentum)).toBe(1);
    expect(slotsOf({ type: 'adagrad', initialAccumulator: 0.1, epsilon: 1e-10 })).toBe(1);
    expect(slotsOf({ type: 'rmsprop', rho: 0.9, momentum: 0, centered: false, epsilon: 1e-7 })).toBe(1);
    expect(slotsOf(rmspropCentered)).toBe(3);
    expect(slotsOf(adam)).toBe(2);
    expect(slotsOf({ ...adam, amsgrad: true })).toBe(3);
  });

  it('the issue\'s job (10,000 rows of 1 feature, full batch, 65,536 units) needs about 10 GB, mostly batch buffers', () => {
    const cfg = config({ layers: [dense(65_536, 'relu'), dense(1)], loss: { type: 'mse' }, batchSize: 'full' });
    const { bytes, parts } = memoryEstimate(cfg, { trainRows: 10_000, validationRows: 0, features: 1, targetWidth: 1 });
    expect(bytes).toBeGreaterThan(10e9);
    expect(bytes).toBeLessThan(11e9);
    // Z, A, dZ of the wide layer and the next layer's dIn: four 10,000 × 65,536 float32 buffers.
    expect(parts.activations + parts.activationGradients).toBeGreaterThan(4 * 10_000 * 65_536 * 4);
    expect(bytes).toBe(Object.values(parts).reduce((a, b) => a + b, 0));
  });

  it('"full" resolves to the training rows and a batch larger than the data to the data', () => {
    const cfg = (batchSize: number | 'full') => config({ layers: [dense(50, 'relu'), dense(2)], batchSize });
    const at = (batchSize: number | 'full') => memoryEstimate(cfg(batchSize), shape).parts.activations;
    expect(at('full')).toBe(at(1000));
    expect(at(5000)).toBe(at(1000));
    expect(at(10)).toBeLessThan(at(1000));
  });
});
