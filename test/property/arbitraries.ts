// fast-check generators for the API property tests: valid-by-construction job specs, one-place
// corruptions, CSV / JSON-rows bodies with bad cells, hostile ids.

import fc from 'fast-check';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

interface BuiltinInfo {
  name: string;
  rows: number;
  task: 'classification' | 'regression';
  classes: number | null;
}

const BUILTINS: BuiltinInfo[] = [
  { name: 'xor', rows: 4, task: 'classification', classes: 2 },
  { name: 'spirals', rows: 300, task: 'classification', classes: 3 },
  { name: 'moons', rows: 500, task: 'classification', classes: 2 },
  { name: 'circles', rows: 500, task: 'classification', classes: 2 },
  { name: 'iris', rows: 150, task: 'classification', classes: 3 },
  { name: 'sine', rows: 500, task: 'regression', classes: null },
  { name: 'linear', rows: 500, task: 'regression', classes: null },
];

const HIDDEN_ACTIVATIONS = ['linear', 'relu', 'leaky_relu', 'elu', 'sigmoid', 'tanh', 'gelu'] as const;
const INITS = ['xavier_uniform', 'xavier_normal', 'he_uniform', 'he_normal', 'lecun_normal'] as const;

const hiddenLayer: fc.Arbitrary<JsonObject> = fc.oneof(
  fc.record(
    {
      type: fc.constant('dense'),
      units: fc.integer({ min: 1, max: 48 }),
      activation: fc.constantFrom(...HIDDEN_ACTIVATIONS),
      init: fc.constantFrom(...INITS),
      useBias: fc.boolean(),
    },
    { requiredKeys: ['type', 'units'] },
  ),
  fc.record({ type: fc.constant('dropout'), rate: fc.double({ min: 0, max: 0.9, noNaN: true }) }),
);

const optimizer: fc.Arbitrary<JsonObject> = fc.oneof(
  // Nesterov needs momentum > 0 (as in PyTorch).
  fc
    .record({ momentum: fc.double({ min: 0, max: 0.99, noNaN: true }), nesterov: fc.boolean() })
    .map(({ momentum, nesterov }): JsonObject => ({ type: 'sgd', momentum, nesterov: nesterov && momentum > 0 })),
  fc.record({ type: fc.constant('adam'), beta1: fc.double({ min: 0, max: 0.99, noNaN: true }), amsgrad: fc.boolean() }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constant('adamw'), weightDecay: fc.double({ min: 0, max: 0.1, noNaN: true }) }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constant('rmsprop'), rho: fc.double({ min: 0, max: 0.99, noNaN: true }), centered: fc.boolean() }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constant('adagrad') }),
);

const lr = fc.double({ min: 1e-5, max: 1, noNaN: true });
const learningRate: fc.Arbitrary<Json> = fc.oneof(
  lr,
  fc.record({ schedule: fc.constant('step'), initial: lr, factor: fc.double({ min: 0.01, max: 1, noNaN: true }), everyEpochs: fc.integer({ min: 1, max: 10 }) }),
  fc.record({ schedule: fc.constant('exponential'), initial: lr, decaySteps: fc.integer({ min: 1, max: 1000 }), decayRate: fc.double({ min: 0.01, max: 1, noNaN: true }) }),
  fc.record({ schedule: fc.constant('cosine'), initial: lr, decaySteps: fc.integer({ min: 1, max: 1000 }), warmupSteps: fc.integer({ min: 0, max: 50 }) }),
  fc.record({ schedule: fc.constant('reduce_on_plateau'), initial: lr, patience: fc.integer({ min: 0, max: 5 }), monitor: fc.constant('loss') }),
);

/** A spec that must be accepted (201): every field in range and consistent with its dataset. */
export const validSpec: fc.Arbitrary<JsonObject> = fc
  .record({
    ds: fc.constantFrom(...BUILTINS),
    hidden: fc.array(hiddenLayer, { maxLength: 3 }),
    optimizer,
    learningRate,
    batchSize: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constant('full')),
    epochs: fc.integer({ min: 1, max: 20 }),
    validation: fc.option(fc.double({ min: 0.05, max: 0.5, noNaN: true }), { nil: null }),
    binary: fc.boolean(),
    keepBest: fc.integer({ min: 1, max: 5 }),
    seed: fc.option(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { nil: null }),
    // (A grapheme can be several UTF-16 units; the spec allows 200.)
    name: fc.option(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((s) => s.length <= 200), { nil: null }),
    earlyStopping: fc.boolean(),
  })
  .map((g): JsonObject => {
    let loss: string;
    let units: number;
    if (g.ds.task === 'regression') {
      loss = g.binary ? 'mse' : 'huber';
      units = 1;
    } else if (g.binary && g.ds.classes === 2) {
      loss = 'binary_cross_entropy';
      units = 1;
    } else {
      loss = 'softmax_cross_entropy';
      units = g.ds.classes ?? 2;
    }
    const spec: JsonObject = {
      dataset: { builtin: g.ds.name },
      model: { layers: [...g.hidden, { type: 'dense', units }] },
      loss,
      optimizer: g.optimizer,
      learningRate: g.learningRate,
      batchSize: g.batchSize,
      epochs: g.epochs,
      checkpoints: { keepBest: g.keepBest },
    };
    if (g.validation !== null) spec.validation = { fraction: g.validation };
    if (g.seed !== null) spec.seed = g.seed;
    if (g.name !== null) spec.name = g.name;
    if (g.earlyStopping) spec.earlyStopping = { monitor: g.validation !== null ? 'val_loss' : 'loss', patience: 2, startFromEpoch: 0 };
    return spec;
  });

/** Every path to a value inside a JSON value (objects and arrays), root excluded. */
export function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [];
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push([...prefix, i], ...paths(v, [...prefix, i]));
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.push([...prefix, k], ...paths(v, [...prefix, k]));
  }
  return out;
}

/** Tokens written into the raw JSON text in place of a value. */
export const RAW_TOKENS = ['NaN', 'Infinity', '-Infinity', '1e999', '-1e999', 'undefined', '0x10', '01'] as const;

export type Mutation =
  | { kind: 'set'; value: Json }
  | { kind: 'raw'; token: (typeof RAW_TOKENS)[number] }
  | { kind: 'delete' }
  | { kind: 'unknownKey'; key: string };

const TRAVERSAL = ['../../etc/passwd', '..%2F..%2Fetc%2Fpasswd', '/etc/passwd', 'ds_../../../../etc/passwd', 'C:\\Windows\\win.ini', '\u0000', 'ds_01ARZ3NDEKTSV4RRFFQ69G5FAV/../x'];

/** One corruption of one place: a wrong or out-of-range value, a raw non-JSON token, a missing or an unknown key. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('set' as const),
    value: fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.array(fc.integer(), { maxLength: 3 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.constantFrom(...TRAVERSAL),
      fc.constantFrom('5', '0.1', 'true', 'NaN', 'Infinity'),
    ),
  }),
  fc.record({
    kind: fc.constant('set' as const),
    value: fc.constantFrom<Json>(1e308, -1e308, 2 ** 53 + 1, 1e21, -1, 0, 5e-324, 3.5, -0),
  }),
  fc.record({ kind: fc.constant('raw' as const), token: fc.constantFrom(...RAW_TOKENS) }),
  fc.record({ kind: fc.constant('delete' as const) }),
  fc.record({ kind: fc.constant('unknownKey' as const), key: fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => `x-${s}`) }),
);

const PLACEHOLDER = '"__traind_raw_token__"';

/** Applies a mutation at `path` of a deep copy of `spec`; returns the raw JSON body text. */
export function corrupt(spec: JsonObject, path: (string | number)[], m: Mutation): string {
  const copy = JSON.parse(JSON.stringify(spec)) as JsonObject;
  const parent = path.slice(0, -1).reduce<Json>((node, key) => (node as Record<string, Json>)[key] as Json, copy) as Record<string | number, Json> | Json[];
  const last = path[path.length - 1] as string | number;
  switch (m.kind) {
    case 'set':
      (parent as Record<string | number, Json>)[last] = m.value;
      return JSON.stringify(copy);
    case 'raw':
      (parent as Record<string | number, Json>)[last] = '__traind_raw_token__';
      return JSON.stringify(copy).replace(PLACEHOLDER, m.token);
    case 'delete':
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
      return JSON.stringify(copy);
    case 'unknownKey': {
      const target = (parent as Record<string | number, Json>)[last];
      if (target !== null && typeof target === 'object' && !Array.isArray(target)) target[m.key] = 1;
      else (parent as Record<string | number, Json>)[last] = { [m.key]: 1 };
      return JSON.stringify(copy);
    }
  }
}

/** A CSV cell that must make the upload fail (400), whatever column it lands in. */
export const badCell = fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e999', '-1e39', 'abc', 'été', '0x1F', '--1', '1.2.3', '', '١٢', '1e', '🙂');

export interface CsvCase {
  features: number;
  rows: number[][];
  labels: number[];
}

const finite = fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true });

export const csvCase: fc.Arbitrary<CsvCase> = fc.integer({ min: 1, max: 5 }).chain((features) =>
  fc.integer({ min: 1, max: 30 }).chain((n) =>
    fc.record({
      features: fc.constant(features),
      rows: fc.array(fc.array(finite, { minLength: features, maxLength: features }), { minLength: n, maxLength: n }),
      labels: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n }),
    }),
  ),
);

export function csvText(c: CsvCase, cells?: (row: number, col: number, text: string) => string): string {
  const header = [...Array.from({ length: c.features }, (_, j) => `f${j}`), 'label'].join(',');
  const lines = c.rows.map((r, i) => [...r, c.labels[i] ?? 0].map((v, j) => (cells ? cells(i, j, String(v)) : String(v))).join(','));
  return `${header}\n${lines.join('\n')}\n`;
}

/** Ids nobody has: random text, traversal attempts, look-alikes of real ids. */
export const hostileId = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }),
  fc.constantFrom(...TRAVERSAL, '..', '.', 'job_', 'job_../../../etc/passwd', 'job_01ARZ3NDEKTSV4RRFFQ69G5FAV', 'ds_01ARZ3NDEKTSV4RRFFQ69G5FAV', `job_${'Z'.repeat(26)}`, 'a'.repeat(500)),
  fc.stringMatching(/^(job|ds)_[0-9A-Z]{20,30}$/),
);
