// Evaluation with real processes: POST /v1/jobs/:id/evaluate queues the scoring in a worker
// process; its figures are checked against an independent computation from /predict's outputs on
// the same small uploaded dataset. Polling, the synchronous wait, and refusals naming the field.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinDataset } from '../../src/data/index.js';
import { api, startStack, waitForJob, type Stack } from './stack.js';

interface ClassReport {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

interface EvaluationView {
  id: string;
  jobId: string;
  status: string;
  error: string | null;
  checkpoint: { epoch: number; sha256: string };
  dataset: unknown;
  result: {
    task: string;
    rows: number;
    loss: number;
    accuracy?: number;
    classes?: ClassReport[];
    macro?: { precision: number; recall: number; f1: number };
    confusionMatrix?: number[][] | null;
    mae?: number;
    rmse?: number;
    r2?: number;
  } | null;
  expiresAt: string;
}

interface ErrorView {
  error: { code: string; message: string; details: { path?: string } };
}

let stack: Stack;
let classifier: string;
let regressor: string;
/** Every other iris row (75), uploaded as CSV, and its rows for /predict. */
let irisTest: { id: string; rows: number[][]; labels: number[] };
let sineTest: { id: string; rows: number[][]; targets: number[] };

async function upload(csv: string, query: string): Promise<string> {
  const res = await fetch(`${stack.baseUrl}/v1/datasets?${query}`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
  const body = (await res.json()) as { id: string };
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body.id;
}

async function trained(spec: Record<string, unknown>): Promise<string> {
  const res = await api<{ id: string }>(stack, 'POST', '/v1/jobs', spec);
  expect(res.status).toBe(201);
  const done = await waitForJob<{ status: string }>(stack, res.body.id, (j) => ['completed', 'failed'].includes(j.status), 60_000);
  expect(done.status).toBe('completed');
  return res.body.id;
}

beforeAll(async () => {
  stack = await startStack({ workers: 1 });
  const iris = builtinDataset('iris').dataset;
  const rows: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < iris.n; i += 2) {
    rows.push(Array.from(iris.x.subarray(i * 4, i * 4 + 4)));
    labels.push(iris.y[i]!);
  }
  const irisCsv = ['a,b,c,d,label', ...rows.map((r, i) => `${r.join(',')},${labels[i]}`)].join('\n');
  irisTest = { id: await upload(irisCsv, 'label=label&name=iris-test'), rows, labels };

  const sine = builtinDataset('sine').dataset;
  const sRows: number[][] = [];
  const targets: number[] = [];
  for (let i = 0; i < sine.n; i += 7) {
    sRows.push([sine.x[i]!]);
    targets.push(sine.y[i]!);
  }
  const sineCsv = ['x,y', ...sRows.map((r, i) => `${r[0]},${targets[i]}`)].join('\n');
  sineTest = { id: await upload(sineCsv, 'label=y&task=regression'), rows: sRows, targets };

  // A classifier trained briefly (so it makes some mistakes), with an L2 penalty in its loss.
  classifier = await trained({
    dataset: { builtin: 'iris' },
    model: { layers: [{ type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 3 }] },
    loss: 'softmax_cross_entropy',
    optimizer: { type: 'adam' },
    learningRate: 0.02,
    epochs: 3,
    normalize: 'standard',
    regularization: { l2: 0.001 },
    seed: 3,
  });
  regressor = await trained({
    dataset: { builtin: 'sine' },
    model: { layers: [{ type: 'dense', units: 16, activation: 'tanh' }, { type: 'dense', units: 1 }] },
    loss: 'mse',
    optimizer: { type: 'adam' },
    learningRate: 0.02,
    epochs: 5,
    seed: 3,
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

async function evaluate(jobId: string, body: unknown, wait = 20) {
  return api<EvaluationView & ErrorView>(stack, 'POST', `/v1/jobs/${jobId}/evaluate?wait=${wait}`, body);
}

describe('evaluating a checkpoint', () => {
  it('classifier: loss, accuracy, per-class precision/recall/F1 and the confusion matrix agree with /predict', async () => {
    const res = await evaluate(classifier, { dataset: irisTest.id });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const ev = res.body;
    expect(ev.status).toBe('completed');
    expect(ev.result?.task).toBe('classification');

    const predicted = await api<{ outputs: { probabilities: number[]; label: number }[]; checkpoint: { epoch: number; sha256: string } }>(stack, 'POST', `/v1/jobs/${classifier}/predict`, { inputs: irisTest.rows });
    expect(predicted.status).toBe(200);
    expect(ev.checkpoint).toEqual(predicted.body.checkpoint);
    const cm = [0, 1, 2].map(() => [0, 0, 0]);
    let nll = 0;
    predicted.body.outputs.forEach((o, i) => {
      const truth = irisTest.labels[i]!;
      cm[truth]![o.label]! += 1;
      nll -= Math.log(o.probabilities[truth]!);
    });
    expect(ev.result?.confusionMatrix).toEqual(cm);
    const n = irisTest.rows.length;
    expect(ev.result?.rows).toBe(n);
    const correct = cm[0]![0]! + cm[1]![1]! + cm[2]![2]!;
    expect(correct).toBeLessThan(n); // an imperfect model: the per-class figures are not all 1
    expect(ev.result?.accuracy).toBeCloseTo(correct / n, 12);
    for (let k = 0; k < 3; k++) {
      const tp = cm[k]![k]!;
      const col = cm[0]![k]! + cm[1]![k]! + cm[2]![k]!;
      const row = cm[k]!.reduce((a, b) => a + b, 0);
      const precision = col === 0 ? 0 : tp / col;
      const recall = tp / row;
      const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
      expect(ev.result?.classes?.[k]).toEqual({ precision: expect.closeTo(precision, 12), recall: expect.closeTo(recall, 12), f1: expect.closeTo(f1, 12), support: row });
    }
    // The loss: mean cross-entropy plus l2·Σw² over the weights of the downloaded checkpoint.
    const ckpt = await fetch(`${stack.baseUrl}/v1/jobs/${classifier}/checkpoints/${ev.checkpoint.epoch}`);
    const bytes = new Uint8Array(await ckpt.arrayBuffer());
    const { decodeSafetensors } = await import('../../src/core/index.js');
    let sumSq = 0;
    for (const [name, t] of decodeSafetensors(bytes).tensors) if (name.endsWith('.weight')) for (const w of t.data) sumSq += w * w;
    // /predict's probabilities are float32: about 1e-6 relative.
    expect(ev.result?.loss).toBeCloseTo(nll / n + 0.001 * sumSq, 4);
  });

  it('regressor: MAE, RMSE and R² agree with /predict', async () => {
    const res = await evaluate(regressor, { dataset: sineTest.id, checkpoint: 'best' });
    expect(res.status).toBe(200);
    const r = res.body.result!;
    const predicted = await api<{ outputs: { value: number[] }[] }>(stack, 'POST', `/v1/jobs/${regressor}/predict`, { inputs: sineTest.rows });
    const t = sineTest.targets;
    const mean = t.reduce((a, b) => a + b, 0) / t.length;
    let abs = 0;
    let sq = 0;
    let tot = 0;
    predicted.body.outputs.forEach((o, i) => {
      const e = o.value[0]! - t[i]!;
      abs += Math.abs(e);
      sq += e * e;
      tot += (t[i]! - mean) ** 2;
    });
    expect(r.task).toBe('regression');
    expect(r.mae).toBeCloseTo(abs / t.length, 5);
    expect(r.rmse).toBeCloseTo(Math.sqrt(sq / t.length), 5);
    expect(r.r2).toBeCloseTo(1 - sq / tot, 5);
    expect(r.loss).toBeCloseTo(sq / t.length, 5);
    expect(r.accuracy).toBeUndefined();
  });

  it('without a wait: 202 with Location, then GET /v1/evaluations/:id gives the same result', async () => {
    const res = await evaluate(classifier, { dataset: irisTest.id }, 0);
    expect(res.status).toBe(202);
    expect(['queued', 'running', 'completed']).toContain(res.body.status);
    expect(res.body.id).toMatch(/^ev_/);
    const sync = await evaluate(classifier, { dataset: irisTest.id });
    let polled: EvaluationView;
    const deadline = Date.now() + 20_000;
    do {
      polled = (await api<EvaluationView>(stack, 'GET', `/v1/evaluations/${res.body.id}`)).body;
      if (polled.status === 'completed') break;
      await new Promise((r) => setTimeout(r, 50));
    } while (Date.now() < deadline);
    expect(polled.status).toBe('completed');
    expect(polled.result).toEqual(sync.body.result);
    expect(Date.parse(polled.expiresAt)).toBeGreaterThan(Date.now() + 3000 * 1000);
  });

  it('scores a kept epoch and a built-in dataset; refuses a dataset that does not fit, naming it', async () => {
    const list = await api<{ items: { epoch: number; sha256: string }[] }>(stack, 'GET', `/v1/jobs/${classifier}/checkpoints`);
    const kept = list.body.items[0]!;
    const byEpoch = await evaluate(classifier, { dataset: { builtin: 'iris' }, checkpoint: kept.epoch });
    expect(byEpoch.status).toBe(200);
    expect(byEpoch.body.checkpoint).toEqual({ epoch: kept.epoch, sha256: kept.sha256 });
    expect(byEpoch.body.result?.rows).toBe(150);

    const width = await evaluate(classifier, { dataset: sineTest.id });
    expect(width.status).toBe(400);
    expect(width.body.error.details.path).toBe('dataset');
    expect(width.body.error.message).toBe('dataset: the dataset has 1 features, the model takes 4 inputs');

    const regressionOnClassifier = await evaluate(regressor, { dataset: { builtin: 'moons' } });
    expect(regressionOnClassifier.status).toBe(400);
    expect(regressionOnClassifier.body.error.details.path).toBe('dataset');

    const missing = await evaluate(classifier, { dataset: 'ds_00000000000000000000000000' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.details.path).toBe('dataset');
    const noEpoch = await evaluate(classifier, { dataset: irisTest.id, checkpoint: 999 });
    expect(noEpoch.status).toBe(404);
    expect(noEpoch.body.error.details.path).toBe('checkpoint');
    const badBody = await evaluate(classifier, { dataset: irisTest.id, extra: 1 });
    expect(badBody.status).toBe(400);
    const badWait = await evaluate(classifier, { dataset: irisTest.id }, 61);
    expect(badWait.status).toBe(400);
    expect((await api(stack, 'GET', '/v1/evaluations/ev_00000000000000000000000000')).status).toBe(404);
    expect((await evaluate('job_00000000000000000000000000', { dataset: irisTest.id })).status).toBe(404);
  });
});
