// Checkpoints written by a real worker say how their inputs were scaled, what their output layer
// gives and their class names; examples/load_pytorch.py rebuilds each model from that metadata,
// loads it with strict=True and answers what /predict answers (run where /usr/bin/python3 imports
// torch: Debian's python3-torch; reported as skipped elsewhere).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTraindClient, type TraindClient } from '../../src/client/index.js';
import { decodeSafetensors } from '../../src/core/index.js';
import { idxFile } from '../helpers/idx.js';
import { repoRoot, startStack, waitForJob, type Stack } from './stack.js';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const LOADER = path.join(repoRoot, 'examples/load_pytorch.py');

const common = { optimizer: { type: 'adam' }, learningRate: 0.02, batchSize: 16, seed: 11 };

/** 40 4×4 images: class 1 has a bright left half, class 0 a bright right half (a learnable IDX set). */
function idxImages(): { images: Buffer; labels: Buffer } {
  const n = 40;
  const pixels = new Uint8Array(n * 16);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    for (let p = 0; p < 16; p++) {
      const left = p % 4 < 2;
      pixels[i * 16 + p] = (left === (labels[i] === 1) ? 180 : 20) + ((i * 7 + p * 13) % 60);
    }
  }
  return { images: idxFile(0x08, [n, 4, 4], pixels), labels: idxFile(0x08, [n], labels) };
}

describe('checkpoint metadata and the PyTorch loader', () => {
  let stack: Stack;
  let client: TraindClient;
  let dir: string;
  const jobs: Record<string, { id: string; rows: number[][] }> = {};

  async function finished(spec: Record<string, unknown>): Promise<string> {
    const job = await client.submitJob(spec as never);
    const done = await waitForJob<{ status: string }>(stack, job.id, (j) => j.status === 'completed' || j.status === 'failed', 90_000);
    expect(done.status).toBe('completed');
    return job.id;
  }

  beforeAll(async () => {
    stack = await startStack({ workers: 1 });
    client = createTraindClient({ baseUrl: stack.baseUrl });
    dir = mkdtempSync(path.join(tmpdir(), 'traind-pytorch-'));
    const { images, labels } = idxImages();
    const idx = await client.uploadIdx(images, labels, { name: 'halves' });
    // Iris: class names, normalize, GELU, dropout, a leaky_relu with its own slope, softmax CE.
    jobs.iris = {
      id: await finished({
        ...common,
        dataset: { builtin: 'iris' },
        normalize: 'standard',
        model: { layers: [{ type: 'dense', units: 16, activation: 'gelu' }, { type: 'dropout', rate: 0.2 }, { type: 'dense', units: 8, activation: 'leaky_relu', alpha: 0.1 }, { type: 'dense', units: 3 }] },
        loss: 'softmax_cross_entropy',
        epochs: 6,
      }),
      rows: [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [7.7, 3.0, 6.1, 2.3], [0, 0, 0, 0], [20, -5, 3, 9]],
    };
    // A regressor whose output layer has its own activation (tanh), no bias on a hidden layer, huber.
    jobs.sine = {
      id: await finished({
        ...common,
        dataset: { builtin: 'sine' },
        model: { layers: [{ type: 'dense', units: 16, activation: 'elu', useBias: false }, { type: 'dense', units: 8, activation: 'sigmoid' }, { type: 'dense', units: 1, activation: 'tanh' }] },
        loss: 'huber',
        epochs: 5,
      }),
      rows: [[-3], [-0.5], [0], [1.2], [6]],
    };
    // IDX bytes ÷ 255, binary CE on one unit.
    jobs.idx = {
      id: await finished({
        ...common,
        dataset: idx.id,
        model: { layers: [{ type: 'dense', units: 6, activation: 'relu' }, { type: 'dense', units: 1 }] },
        loss: 'binary_cross_entropy',
        epochs: 5,
      }),
      rows: [Array.from({ length: 16 }, (_, p) => (p % 4 < 2 ? 0.8 : 0.1)), Array.from({ length: 16 }, (_, p) => (p % 4 < 2 ? 0.1 : 0.8)), Array(16).fill(0.5)],
    };
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes the input scaling, what the output layer gives and the class names into every checkpoint', async () => {
    const meta = async (id: string) => decodeSafetensors(await client.downloadCheckpoint(id, 'best')).metadata;
    const iris = await meta(jobs.iris!.id);
    expect(iris).toMatchObject({ input_scaling: 'none', output: 'logits', output_transform: 'softmax', task: 'classification', input_width: '4' });
    expect(JSON.parse(iris.class_names!)).toEqual(['setosa', 'versicolor', 'virginica']);
    const sine = await meta(jobs.sine!.id);
    expect(sine).toMatchObject({ input_scaling: 'none', output: 'values', output_transform: 'none', task: 'regression' });
    expect(sine.class_names).toBeUndefined();
    const idx = await meta(jobs.idx!.id);
    expect(idx).toMatchObject({ input_scaling: 'divide_by_255', output: 'logits', output_transform: 'sigmoid' });
    expect(idx.class_names).toBeUndefined();
    // Every kept checkpoint, not only the best.
    const all = await stack.app.inject({ method: 'GET', url: `/v1/jobs/${jobs.iris!.id}/checkpoints` });
    for (const c of (all.json() as { items: { epoch: number }[] }).items) {
      expect(decodeSafetensors(await client.downloadCheckpoint(jobs.iris!.id, c.epoch)).metadata.class_names).toBe(iris.class_names);
    }
  });

  it.skipIf(!hasTorch)('examples/load_pytorch.py loads each checkpoint with strict=True and answers what /predict answers (needs python3-torch)', async () => {
    for (const [name, job] of Object.entries(jobs)) {
      const file = path.join(dir, `${name}.safetensors`);
      writeFileSync(file, await client.downloadCheckpoint(job.id, 'best'));
      const rowsFile = path.join(dir, `${name}.json`);
      writeFileSync(rowsFile, JSON.stringify({ inputs: job.rows }));
      const run = spawnSync(PYTHON, [LOADER, file, rowsFile], { encoding: 'utf8' });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const ours = JSON.parse(run.stdout) as { outputs: ({ probabilities: number[]; label: number } | { value: number[] })[] };
      const want = await client.predict(job.id, job.rows);
      expect(ours.outputs).toHaveLength(job.rows.length);
      ours.outputs.forEach((o, r) => {
        const w = want.outputs[r]!;
        const got = 'probabilities' in o ? o.probabilities : o.value;
        const expected = 'probabilities' in w ? w.probabilities : w.value;
        expect(got).toHaveLength(expected.length);
        got.forEach((v, k) => expect(Math.abs(v - expected[k]!), `${name} row ${r}[${k}]`).toBeLessThanOrEqual(1e-5));
        if ('label' in w) expect((o as { label: number }).label).toBe(w.label);
      });
    }
    // Without rows it describes the model: the state dict's names are the file's, class names included.
    const described = spawnSync(PYTHON, [LOADER, path.join(dir, 'iris.safetensors')], { encoding: 'utf8' });
    expect(described.status).toBe(0);
    expect(described.stdout).toContain('class_names: ["setosa","versicolor","virginica"]');
    expect(described.stdout).toContain('(2): Linear(in_features=16, out_features=8, bias=True)');
  }, 120_000);
});
