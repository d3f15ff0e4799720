// The `traind` CLI as people run it: the compiled dist/src/cli/main.js as a real process against a
// live service (API in this process, a worker process), checking its output and exit codes.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/api/auth.js';
import { appFixture } from '../api/helpers.js';
import { divergingSpec } from '../faults/specs.js';
import { circleCsv } from '../helpers/datasets.js';
import { idxFile } from '../helpers/idx.js';
import { repoRoot, startStack, type Stack } from '../integration/stack.js';

const cliEntry = path.join(repoRoot, 'dist/src/cli/main.js');
let stack: Stack;
let dir: string;

beforeAll(async () => {
  stack = await startStack({ workers: 1 });
  dir = mkdtempSync(path.join(tmpdir(), 'traind-cli-'));
});

afterAll(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `traind …` (asynchronously: the API answering it lives in this process). */
function traind(args: string[], env: Record<string, string> = {}, command = process.execPath, argv = [cliEntry, ...args]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TRAIND_URL: stack.baseUrl, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A port nothing listens on: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function file(name: string, content: string | Uint8Array): string {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
}

const classifier = {
  model: { layers: [{ type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 2 }] },
  loss: 'softmax_cross_entropy',
  epochs: 3,
  seed: 1,
};

describe('traind CLI', () => {
  it('uploads a CSV, submits with --follow (one line per epoch, exit 0), downloads and predicts', async () => {
    const csv = file('circle.csv', circleCsv(200));
    const up = await traind(['datasets', 'upload', csv, '--label', 'label', '--name', 'circle']);
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    const dsId = /^(ds_\w+)\s+200 rows × 2 features, classification, 2 classes$/m.exec(up.stdout)?.[1];
    expect(dsId).toBeDefined();

    const ls = await traind(['--json', 'datasets', 'ls']);
    expect(ls.code).toBe(0);
    expect((JSON.parse(ls.stdout) as { id: string }[]).map((d) => d.id)).toContain(dsId);

    const spec = file('spec.json', JSON.stringify(classifier));
    const run = await traind(['submit', spec, '--dataset', dsId as string, '--follow']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const jobId = /^submitted (job_\w+)$/m.exec(run.stdout)?.[1] as string;
    expect(jobId).toBeDefined();
    const epochLines = run.stdout.split('\n').filter((l) => l.startsWith('Epoch '));
    expect(epochLines.map((l) => l.split(' - ')[0])).toEqual(['Epoch 1/3', 'Epoch 2/3', 'Epoch 3/3']);
    expect(epochLines[0]).toMatch(/^Epoch 1\/3 - \d+\.\d\ds - loss: \d\.\d{4} - accuracy: \d\.\d{4} - .*lr: .* - \d+ samples\/s$/);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^${jobId} completed \\(max_epochs\\), best epoch \\d$`));
    // No terminal: no bar, no escape sequences.
    expect(run.stdout).not.toContain('\x1b');

    const out = path.join(dir, 'best.safetensors');
    const dl = await traind(['download', jobId, '-o', out]);
    expect(dl.code).toBe(0);
    const bytes = readFileSync(out);
    expect(dl.stdout).toBe(`wrote ${out} (${bytes.byteLength} bytes)\n`);
    // safetensors: an 8-byte little-endian header length, then the JSON header.
    expect(bytes.subarray(8, 9).toString()).toBe('{');

    const rows = file('rows.csv', 'x,y\n0,0\n3,3\n');
    const pred = await traind(['predict', jobId, '--input', rows]);
    expect(pred.code).toBe(0);
    expect(pred.stdout).toMatch(/^label [01] \(p=\d\.\d{4}\)\nlabel [01] \(p=\d\.\d{4}\)\n$/);

    // --format onnx: the default name ends .onnx, and ONNX Runtime gives what predict gives.
    const onnx = await traind(['download', jobId, '--format', 'onnx']);
    expect(onnx.code).toBe(0);
    expect(onnx.stdout).toMatch(new RegExp(`^wrote ${jobId}-best\\.onnx \\(\\d+ bytes\\)\n$`));
    const session = await ort.InferenceSession.create(readFileSync(path.join(dir, `${jobId}-best.onnx`)));
    const probs = (await session.run({ input: new ort.Tensor('float32', Float32Array.of(0, 0, 3, 3), [2, 2]) })).probabilities!.data as Float32Array;
    const predJson = JSON.parse((await traind(['--json', 'predict', jobId, '--input', rows])).stdout) as { outputs: { probabilities: number[] }[] };
    predJson.outputs.forEach((o, r) => o.probabilities.forEach((p, k) => expect(Math.abs(p - probs[r * o.probabilities.length + k]!)).toBeLessThanOrEqual(1e-5)));
    // The same rows as little-endian float32 (.f32) and as a gzipped IDX file of float32 [2, 2]: the same
    // answer; a row and a half is the server's 400, naming the body's size.
    const f32 = Buffer.alloc(16);
    [0, 0, 3, 3].forEach((v, i) => f32.writeFloatLE(v, 4 * i));
    const be = Buffer.alloc(16);
    [0, 0, 3, 3].forEach((v, i) => be.writeFloatBE(v, 4 * i));
    for (const input of [file('rows.f32', f32), file('rows.idx.gz', gzipSync(idxFile(0x0d, [2, 2], be)))]) {
      const binary = await traind(['--json', 'predict', jobId, '--input', input]);
      expect(binary.code, input).toBe(0);
      expect(JSON.parse(binary.stdout), input).toEqual(predJson);
    }
    const halfRow = await traind(['predict', jobId, '--input', file('half.f32', f32.subarray(0, 12))]);
    expect(halfRow.code).toBe(1);
    expect(halfRow.stderr).toContain('12 bytes');
    const badFormat = await traind(['download', jobId, '--format', 'pt']);
    expect(badFormat.code).toBe(2);
    expect(badFormat.stderr).toContain('--format');

    const show = await traind(['--json', 'jobs', 'show', jobId]);
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ id: jobId, status: 'completed' });
    const jobs = await traind(['jobs', 'ls', '--status', 'completed']);
    expect(jobs.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+STATUS\s+EPOCH/);
    expect(jobs.stdout).toMatch(new RegExp(`^${jobId}\\s+completed\\s+3/3`, 'm'));
  });

  it('uploads two IDX files in either order (one gzipped), and submit --dataset FILE uploads the file first', async () => {
    const n = 12;
    const images = idxFile(0x08, [n, 2, 2], Uint8Array.from({ length: n * 4 }, (_, i) => (i * 37) % 256));
    const labels = idxFile(0x08, [n], Uint8Array.from({ length: n }, (_, i) => i % 3));
    const imagesFile = path.join(dir, 'images-idx3-ubyte.gz');
    writeFileSync(imagesFile, gzipSync(images));
    const labelsFile = path.join(dir, 'labels-idx1-ubyte');
    writeFileSync(labelsFile, labels);
    const up = await traind(['--json', 'datasets', 'upload', labelsFile, imagesFile, '--name', 'tiny-idx']);
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(JSON.parse(up.stdout)).toMatchObject({ name: 'tiny-idx', rows: n, features: 4, classes: 3, task: 'classification' });

    const twoImages = await traind(['datasets', 'upload', imagesFile, imagesFile]);
    expect(twoImages.code).toBe(2);
    expect(twoImages.stderr).toBe('error: expected one IDX images file and one IDX labels file, got 3 and 3 dimensions\n');

    const csv = file('upload-first.csv', circleCsv(50));
    const spec = file('spec-no-dataset.json', JSON.stringify(classifier));
    const submitted = await traind(['submit', spec, '--dataset', csv, '--label', 'label']);
    expect(submitted.stderr).toBe('');
    expect(submitted.code).toBe(0);
    const [uploaded, queued] = submitted.stdout.trimEnd().split('\n');
    const dsId = new RegExp(`^uploaded ${csv} as (ds_\\w+)  50 rows × 2 features, classification, 2 classes$`).exec(uploaded ?? '')?.[1];
    expect(dsId).toBeDefined();
    const jobId = /^(job_\w+) (queued|running)/.exec(queued ?? '')?.[1] as string;
    const show = await traind(['--json', 'jobs', 'show', jobId]);
    expect((JSON.parse(show.stdout) as { spec: { dataset: string } }).spec.dataset).toBe(dsId);
    await traind(['follow', jobId]);
  });

  it('exits non-zero when the followed job fails (3) or is cancelled (4); --json follow prints one JSON event per line', async () => {
    const diverging = file('diverging.json', JSON.stringify(divergingSpec()));
    const failed = await traind(['submit', diverging, '--follow']);
    expect(failed.code).toBe(3);
    expect(failed.stdout).toMatch(/^job_\w+ failed \(diverged/m);

    const long = file('long.json', JSON.stringify({ ...classifier, dataset: { builtin: 'xor' }, epochs: 100_000 }));
    const submitted = await traind(['--json', 'submit', long]);
    expect(submitted.code).toBe(0);
    const id = (JSON.parse(submitted.stdout) as { id: string }).id;
    const following = traind(['--json', 'follow', id]);
    const cancel = await traind(['cancel', id]);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toMatch(new RegExp(`^${id} (cancelled|running)\\n$`));
    const followed = await following;
    expect(followed.code).toBe(4);
    const events = followed.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { event: string; data: { status?: string } });
    expect(events.at(-1)).toMatchObject({ event: 'status', data: { status: 'cancelled' } });
  });

  it('sweep submit --follow prints each trial event and exits 0; show prints the leaderboard; cancel of a finished sweep exits 1 with 409', async () => {
    const spec = file(
      'sweep.json',
      JSON.stringify({
        name: 'cli-sweep',
        base: { ...classifier, dataset: { builtin: 'moons' }, validation: { fraction: 0.25 }, epochs: 4 },
        space: { learningRate: { loguniform: [0.001, 0.3] } },
        maxTrials: 4,
        parallelism: 2,
        objective: { metric: 'val_loss', mode: 'min' },
        earlyTermination: { type: 'asha', gracePeriod: 1, reductionFactor: 2 },
        seed: 3,
      }),
    );
    const followed = await traind(['sweep', 'submit', spec, '--follow']);
    expect(followed.stderr).toBe('');
    expect(followed.code).toBe(0);
    const id = /submitted (sw_\w+)/.exec(followed.stdout)?.[1] as string;
    expect(id).toBeDefined();
    for (let k = 0; k < 4; k++) expect(followed.stdout).toMatch(new RegExp(`^trial ${k} started learningRate=`, 'm'));
    expect(followed.stdout).toMatch(/^trial 0 epoch 1: \d\.\d{4}$/m);
    expect(followed.stdout).toMatch(/^sweep completed$/m);
    expect(followed.stdout).toMatch(new RegExp(`^${id} completed: .*best trial \\d`, 'm'));

    const shown = await traind(['sweep', 'show', id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^RANK\s+TRIAL\s+STATE\s+VAL_LOSS\s+EPOCHS\s+JOB\s+PARAMS$/m);
    const rows = shown.stdout.split('\n').filter((l) => /^[1-4]\s/.test(l));
    expect(rows).toHaveLength(4);
    const listed = await traind(['sweep', 'ls']);
    expect(listed.stdout).toContain(id);

    const cancel = await traind(['sweep', 'cancel', id]);
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toMatch(/409 sweep_finished/);
  });

  it('says clearly what went wrong: 404, invalid fields with their paths, an unreachable server, a missing file', async () => {
    const missing = await traind(['jobs', 'show', 'job_00000000000000000000000000']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/^error: 404 not_found: /);

    const bad = file('bad.json', JSON.stringify({ dataset: { builtin: 'xor' }, model: { layers: [{ type: 'dense', units: -1 }] }, loss: 'mse', epochs: 0 }));
    const invalid = await traind(['submit', bad]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^error: 400 \w+: /);
    expect(invalid.stderr).toMatch(/^ {2}model\.layers\.0\.units: .+$/m);
    expect(invalid.stderr).toMatch(/^ {2}epochs: .+$/m);

    const port = await closedPort();
    const down = await traind(['jobs', 'ls', '--url', `http://127.0.0.1:${port}`]);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`error: cannot reach traind at http://127.0.0.1:${port} (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:${port}); set TRAIND_URL or --url\n`);

    const noFile = await traind(['datasets', 'upload', path.join(dir, 'nope.csv')]);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain('cannot read');
  });

  it('with API keys configured: 401 with a hint without a key, answers with --key or TRAIND_API_KEY', async () => {
    const key = 'cli-test-key-0123456789abcdef';
    const f = await appFixture({ API_KEYS: `cli:${sha256Hex(key)}` });
    try {
      const url = await f.app.listen({ host: '127.0.0.1', port: 0 });
      const refused = await traind(['jobs', 'ls'], { TRAIND_URL: url });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^error: 401 unauthorized: .*\n {2}the server wants an API key: set TRAIND_API_KEY or --key\n$/);
      const withFlag = await traind(['jobs', 'ls', '--key', key], { TRAIND_URL: url });
      expect(withFlag.code).toBe(0);
      expect(withFlag.stdout).toMatch(/^ID\s+NAME\s+STATUS/);
      const withEnv = await traind(['--json', 'jobs', 'ls'], { TRAIND_URL: url, TRAIND_API_KEY: key });
      expect(withEnv.code).toBe(0);
      expect(JSON.parse(withEnv.stdout)).toEqual([]);
    } finally {
      await f.close();
    }
  });
});
