// `traind evaluate` as people run it: the compiled CLI as a real process against a live service
// (API in this process, a worker process), its report, --json output and exit codes.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { circleCsv } from '../helpers/datasets.js';
import { api, repoRoot, startStack, waitForJob, type Stack } from '../integration/stack.js';

const cliEntry = path.join(repoRoot, 'dist/src/cli/main.js');
let stack: Stack;
let dir: string;
let jobId: string;

function traind(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliEntry, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TRAIND_URL: stack.baseUrl },
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

beforeAll(async () => {
  stack = await startStack({ workers: 1 });
  dir = mkdtempSync(path.join(tmpdir(), 'traind-cli-eval-'));
  writeFileSync(path.join(dir, 'circle.csv'), circleCsv(120));
  const submitted = await api<{ id: string }>(stack, 'POST', '/v1/jobs', {
    dataset: { builtin: 'circles' },
    model: { layers: [{ type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 2 }] },
    loss: 'softmax_cross_entropy',
    epochs: 2,
    seed: 1,
  });
  jobId = submitted.body.id;
  await waitForJob<{ status: string }>(stack, jobId, (j) => j.status === 'completed', 60_000);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('traind evaluate', () => {
  it('uploads the file, prints the figures, the per-class report and the confusion matrix, exit 0', async () => {
    const json = await traind(['evaluate', jobId, '--dataset', 'circle.csv', '--label', 'label', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const ev = JSON.parse(json.stdout) as { id: string; status: string; dataset: string; result: { rows: number; accuracy: number; confusionMatrix: number[][] } };
    expect(ev.status).toBe('completed');
    expect(ev.result.rows).toBe(120);
    expect(ev.result.confusionMatrix.flat().reduce((a, b) => a + b, 0)).toBe(120);

    const human = await traind(['evaluate', jobId, '--dataset', ev.dataset, '--checkpoint', 'best']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(`${jobId} epoch `);
    expect(human.stdout).toContain(`120 rows`);
    expect(human.stdout).toContain(`accuracy: ${ev.result.accuracy.toFixed(4)}`);
    expect(human.stdout).toMatch(/CLASS\s+PRECISION\s+RECALL\s+F1\s+SUPPORT/);
    expect(human.stdout).toMatch(/^macro avg\s/m);
    expect(human.stdout).toContain('confusion matrix (rows: true class, columns: predicted class):');
    const [row0, row1] = ev.result.confusionMatrix;
    expect(human.stdout).toMatch(new RegExp(`^0\\s+${row0![0]}\\s+${row0![1]}$`, 'm'));
    expect(human.stdout).toMatch(new RegExp(`^1\\s+${row1![0]}\\s+${row1![1]}$`, 'm'));
  });

  it("jobs show names a fine-tuned job's parent checkpoint", async () => {
    const list = await api<{ items: { epoch: number; sha256: string; best: boolean }[] }>(stack, 'GET', `/v1/jobs/${jobId}/checkpoints`);
    const best = list.body.items.find((c) => c.best)!;
    const child = await api<{ id: string }>(stack, 'POST', '/v1/jobs', {
      dataset: { builtin: 'circles' },
      model: { layers: [{ type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 2 }] },
      loss: 'softmax_cross_entropy',
      epochs: 1,
      initFrom: { job: jobId },
    });
    expect(child.status).toBe(201);
    const shown = await traind(['jobs', 'show', child.body.id]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`from:      ${jobId} epoch ${best.epoch} (sha256 ${best.sha256.slice(0, 12)}…)`);
  });

  it('says which field is wrong (exit 1) and refuses a bad --checkpoint (exit 2)', async () => {
    writeFileSync(path.join(dir, 'wide.csv'), 'a,b,c,label\n1,2,3,0\n4,5,6,1\n');
    const wide = await traind(['evaluate', jobId, '--dataset', 'wide.csv']);
    expect(wide.code).toBe(1);
    expect(wide.stderr).toContain('400 invalid_request: dataset: the dataset has 3 features, the model takes 2 inputs');
    const bad = await traind(['evaluate', jobId, '--dataset', 'wide.csv', '--checkpoint', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--checkpoint: expected a positive integer or "best", got "0"');
  });
});
