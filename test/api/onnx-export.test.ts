// ?format=onnx on checkpoint downloads: every variant of the inference path (each activation, each
// loss, with and without normalize and dropout) exported over real HTTP, loaded in ONNX Runtime
// (onnxruntime-node) and compared with what /predict answers for the same rows.
import type { AddressInfo } from 'node:net';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { train, type Dataset } from '../../src/core/index.js';
import { builtinDataset } from '../../src/data/index.js';
import { ONNX_OPSET } from '../../src/onnx/export-onnx.js';
import { onnxModelType } from '../../src/onnx/onnx-schema.js';
import { checkpointMetadata } from '../../src/spec/checkpoint-metadata.js';
import { JobSpecSchema } from '../../src/spec/job-spec.js';
import { resolveSpec, toTrainConfig } from '../../src/spec/to-train-config.js';
import { recordBestCheckpoint } from '../../src/store/checkpoints.js';
import { checkpointKey } from '../../src/store/object-keys.js';
import { transitionJob } from '../../src/store/jobs.js';
import { damageObject, objectBytes } from '../helpers/test-storage.js';
import { appFixture, errorOf, xorSpec, type AppFixture } from './helpers.js';

type Layer = Record<string, unknown>;

interface Variant {
  name: string;
  layers: Layer[];
  loss: string | Record<string, unknown>;
  data: Dataset;
  normalize?: boolean;
}

/** Iris with one-hot targets: three outputs for multi-label BCE and multi-output regression. */
function irisOneHot(): Dataset {
  const d = builtinDataset('iris').dataset;
  const y = new Float32Array(d.n * 3);
  for (let r = 0; r < d.n; r++) y[r * 3 + d.y[r]!] = 1;
  return { ...d, y, targetWidth: 3 };
}

const iris = builtinDataset('iris').dataset;
const IRIS_NAMES = builtinDataset('iris').classNames!;
const moons = builtinDataset('moons').dataset;
const linear = builtinDataset('linear').dataset;
const sine = builtinDataset('sine').dataset;

const dense = (units: number, activation = 'linear', extra: Layer = {}): Layer => ({ type: 'dense', units, activation, ...extra });
const dropout: Layer = { type: 'dropout', rate: 0.3 };

// Together: every activation the core has (linear, relu, leaky_relu, elu, sigmoid, tanh, gelu;
// softmax, which the spec allows on a softmax CE output only), every loss, normalize on and off, dropout, a layer without bias, several hidden layers.
const VARIANTS: Variant[] = [
  { name: 'relu · softmax CE', layers: [dense(16, 'relu'), dense(3)], loss: 'softmax_cross_entropy', data: iris },
  { name: 'leaky_relu(0.2) · softmax output · normalize · dropout', layers: [dense(16, 'leaky_relu', { alpha: 0.2 }), dropout, dense(3, 'softmax')], loss: 'softmax_cross_entropy', data: iris, normalize: true },
  { name: 'elu · binary CE (one unit)', layers: [dense(12, 'elu'), dense(1)], loss: 'binary_cross_entropy', data: moons },
  { name: 'sigmoid · binary CE (three labels) · normalize', layers: [dense(10, 'sigmoid'), dense(3, 'sigmoid')], loss: 'binary_cross_entropy', data: irisOneHot(), normalize: true },
  { name: 'tanh · mse', layers: [dense(16, 'tanh'), dense(1)], loss: 'mse', data: sine },
  { name: 'gelu · mae · normalize · dropout', layers: [dense(16, 'gelu'), dropout, dense(8, 'gelu'), dense(1)], loss: 'mae', data: linear, normalize: true },
  { name: 'linear hidden, no bias · huber · tanh output', layers: [dense(8, 'linear', { useBias: false }), dense(8, 'elu', { alpha: 0.5 }), dense(1, 'tanh')], loss: { type: 'huber', delta: 0.5 }, data: sine },
  { name: 'gelu · mse (three outputs) · sigmoid output · dropout', layers: [dense(12, 'gelu'), dropout, dense(3, 'sigmoid')], loss: 'mse', data: irisOneHot() },
];

describe('ONNX export', () => {
  let f: AppFixture;
  let base: string;
  beforeAll(async () => {
    f = await appFixture();
    await f.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(f.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await f.close();
  });

  /**
   * A job with real checkpoints from the core's train() on the variant's rows, written as the
   * worker writes them (the job record itself is a small valid submission: the store needs one).
   */
  async function trainedJob(v: Variant, epochs = 4): Promise<{ id: string; spec: unknown }> {
    const created = await fetch(`${base}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(xorSpec()) });
    expect(created.status).toBe(201);
    const id = ((await created.json()) as { id: string }).id;
    await transitionJob(f.store, id, 'running', { attempt: 1 });
    const body = {
      dataset: { builtin: 'iris' },
      model: { layers: v.layers },
      loss: v.loss,
      optimizer: { type: 'adam' },
      learningRate: 0.02,
      epochs,
      batchSize: 16,
      seed: 7,
      checkpoints: { keepBest: epochs },
      ...(v.normalize === true ? { normalize: 'standard' } : {}),
    };
    const spec = resolveSpec(JobSpecSchema.parse(body));
    await train(
      toTrainConfig(spec),
      { train: v.data, validation: null },
      {
        onBest: async (e) => {
          await recordBestCheckpoint(f.store, id, { tenant: 'default', epoch: e.epoch, step: e.step, monitor: e.monitor, value: e.value, bytes: e.bytes, bestEpoch: e.kept[0]!.epoch, evicted: e.evicted });
        },
      },
      // What the worker writes (the spec, input scaling, class names), and the core adds output/output_transform.
      { metadata: checkpointMetadata(spec, { format: 'builtin', classNames: v.data === iris ? IRIS_NAMES : null }) },
    );
    return { id, spec };
  }

  async function download(id: string, which: string, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${base}/v1/jobs/${id}/checkpoints/${which}?format=onnx`, { headers });
  }

  async function predictRows(id: string, rows: number[][]): Promise<{ outputs: ({ probabilities: number[]; label: number } | { value: number[] })[]; checkpoint: { epoch: number } }> {
    const res = await fetch(`${base}/v1/jobs/${id}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: rows }) });
    expect(res.status).toBe(200);
    return (await res.json()) as never;
  }

  function rowsOf(d: Dataset, count: number): number[][] {
    const rows: number[][] = [];
    for (let r = 0; r < Math.min(count, d.n); r++) rows.push(Array.from(d.x.subarray(r * d.features, (r + 1) * d.features)));
    // Beyond the training range too: the tails of GELU, ELU and the sigmoids.
    rows.push(rows[0]!.map((v) => v * 4 + 3), rows[1]!.map((v) => -v * 4 - 3));
    return rows;
  }

  for (const v of VARIANTS) {
    it(`matches /predict in ONNX Runtime: ${v.name}`, async () => {
      const { id } = await trainedJob(v);
      const res = await download(id, 'best');
      expect(res.status).toBe(200);
      const bytes = new Uint8Array(await res.arrayBuffer());
      const session = await ort.InferenceSession.create(bytes);
      const classifier = v.loss === 'softmax_cross_entropy' || v.loss === 'binary_cross_entropy';
      expect(session.inputNames).toEqual(['input']);
      expect(session.outputNames).toEqual(classifier ? ['probabilities', 'logits', 'label'] : ['value']);

      const rows = rowsOf(v.data, 40);
      const want = await predictRows(id, rows);
      // The batch dimension is dynamic: all rows at once, and one row alone, give the same numbers.
      const x = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, v.data.features]);
      const out = await session.run({ input: x });
      const got = out[classifier ? 'probabilities' : 'value']!;
      const width = got.dims[1]!;
      expect(got.dims).toEqual([rows.length, width]);
      let maxDiff = 0;
      want.outputs.forEach((o, r) => {
        const expected = 'probabilities' in o ? o.probabilities : o.value;
        expect(expected).toHaveLength(width);
        expected.forEach((e, k) => (maxDiff = Math.max(maxDiff, Math.abs(e - (got.data as Float32Array)[r * width + k]!))));
      });
      expect(maxDiff).toBeLessThanOrEqual(1e-5);
      const single = await session.run({ input: new ort.Tensor('float32', Float32Array.from(rows[2]!), [1, v.data.features]) });
      expect(Array.from(single[classifier ? 'probabilities' : 'value']!.data as Float32Array)).toEqual(Array.from((got.data as Float32Array).subarray(2 * width, 3 * width)));
      if (classifier) {
        // The label output is predict's label, int64 [batch].
        const labels = out.label!;
        expect(labels.type).toBe('int64');
        expect(labels.dims).toEqual([rows.length]);
        expect(Array.from(labels.data as BigInt64Array, Number)).toEqual(want.outputs.map((o) => (o as { label: number }).label));
        // The second output holds the logits: softmax/sigmoid of them is the first.
        const logits = out.logits!.data as Float32Array;
        const probs = got.data as Float32Array;
        for (let r = 0; r < rows.length; r++) {
          const z = Array.from(logits.subarray(r * width, (r + 1) * width));
          const p = v.loss === 'binary_cross_entropy' ? z.map((t) => 1 / (1 + Math.exp(-t))) : z.map((t) => Math.exp(t - Math.max(...z))).map((e, _k, all) => e / all.reduce((a, b) => a + b, 0));
          p.forEach((pk, k) => expect(Math.abs(pk - probs[r * width + k]!)).toBeLessThanOrEqual(1e-5));
        }
      }
    });
  }

  it('names the file .onnx, serves every kept epoch, gives the same bytes every time with an ETag that answers 304, and carries spec, epoch and metrics', async () => {
    const v = VARIANTS[1]!;
    const { id, spec } = await trainedJob(v, 3);
    const list = (await (await fetch(`${base}/v1/jobs/${id}/checkpoints`)).json()) as { items: { epoch: number; sha256: string; best: boolean }[] };
    const best = list.items.find((c) => c.best)!;
    const first = await download(id, 'best');
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('application/octet-stream');
    expect(first.headers.get('content-disposition')).toBe(`attachment; filename="${id}-epoch-${best.epoch}.onnx"`);
    expect(first.headers.get('x-checkpoint-epoch')).toBe(String(best.epoch));
    const etag = first.headers.get('etag');
    expect(etag).toBe(`"onnx1-${best.sha256}"`);
    const bytes = new Uint8Array(await first.arrayBuffer());
    expect(Number(first.headers.get('content-length'))).toBe(bytes.byteLength);
    const again = new Uint8Array(await (await download(id, String(best.epoch))).arrayBuffer());
    expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
    const cached = await download(id, 'best', { 'if-none-match': etag! });
    expect(cached.status).toBe(304);
    expect((await cached.arrayBuffer()).byteLength).toBe(0);
    // The safetensors ETag does not validate the ONNX file, nor the other way round.
    expect((await download(id, 'best', { 'if-none-match': `"${best.sha256}"` })).status).toBe(200);
    expect((await fetch(`${base}/v1/jobs/${id}/checkpoints/best`, { headers: { 'if-none-match': etag! } })).status).toBe(200);

    // Every kept epoch exports, each its own model.
    expect(list.items.length).toBeGreaterThan(1);
    const exports = await Promise.all(list.items.map(async (c) => Buffer.from(await (await download(id, String(c.epoch))).arrayBuffer())));
    expect(new Set(exports.map((b) => b.toString('base64'))).size).toBe(list.items.length);

    // The same spec, data and seed in another job: the same checkpoint bytes, so the same ONNX bytes.
    const twin = await trainedJob(v, 3);
    const twinBytes = new Uint8Array(await (await download(twin.id, 'best')).arrayBuffer());
    expect(Buffer.from(twinBytes).equals(Buffer.from(bytes))).toBe(true);

    const model = onnxModelType().toObject(onnxModelType().decode(bytes), { longs: Number }) as {
      ir_version: number;
      opset_import: { domain?: string; version: number }[];
      graph: { node: { op_type: string }[]; input: { type: { tensor_type: { shape: { dim: { dim_param?: string; dim_value?: number }[] } } } }[] };
      metadata_props: { key: string; value: string }[];
    };
    expect(model.opset_import).toEqual([{ domain: '', version: ONNX_OPSET }]);
    expect(ONNX_OPSET).toBeGreaterThanOrEqual(13);
    expect(model.graph.input[0]!.type.tensor_type.shape.dim).toEqual([{ dim_param: 'batch' }, { dim_value: 4 }]);
    const ops = model.graph.node.map((n) => n.op_type);
    expect(ops).toEqual(['Sub', 'Div', 'Gemm', 'LeakyRelu', 'Gemm', 'Softmax', 'ArgMax']); // normalize, dense, (no dropout), dense, softmax, label
    const meta = Object.fromEntries(model.metadata_props.map((p) => [p.key, p.value]));
    expect(JSON.parse(meta.spec!)).toEqual(spec);
    expect(meta.epoch).toBe(String(best.epoch));
    expect(JSON.parse(meta.metrics!)).toMatchObject({ epoch: best.epoch });
    expect(meta.checkpoint_sha256).toBe(best.sha256);
    expect(meta).toMatchObject({ task: 'classification', input_width: '4', input_scaling: 'none', output: 'logits', output_transform: 'softmax' });
    expect(JSON.parse(meta.class_names!)).toEqual(['setosa', 'versicolor', 'virginica']);
  });

  it('refuses an unknown format with 400 naming format, answers 404 for a missing epoch, and never exports a damaged file', async () => {
    const { id } = await trainedJob(VARIANTS[0]!, 2);
    const bad = await fetch(`${base}/v1/jobs/${id}/checkpoints/best?format=pt`);
    expect(bad.status).toBe(400);
    const err = errorOf(await bad.text());
    expect(err.details.path).toBe('format');
    expect(err.message).toMatch(/format/);
    expect((await download(id, '99')).status).toBe(404);

    const list = (await (await fetch(`${base}/v1/jobs/${id}/checkpoints`)).json()) as { items: { epoch: number; best: boolean }[] };
    const best = list.items.find((c) => c.best)!;
    const key = checkpointKey(id, best.epoch);
    const original = await objectBytes(f.store.storage, key);
    const flipped = Buffer.from(original);
    flipped[flipped.length - 1]! ^= 0x01;
    await damageObject(f.store.storage, key, flipped);
    const damaged = await download(id, 'best');
    expect(damaged.status).toBe(500);
    expect(errorOf(await damaged.text()).code).toBe('checkpoint_corrupt');
    await damageObject(f.store.storage, key, original);
    expect((await download(id, 'best')).status).toBe(200);
  });
});
