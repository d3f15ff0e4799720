// MAX_TENANT_BYTES with a real worker process: a finished job's kept checkpoints and its training
// seconds show in GET /v1/usage, and a job admitted with room for its tensors but not for a whole
// checkpoint fails with reason `error: quota_exceeded` and an error naming the limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeDataset, parseCsv } from '../../src/data/index.js';
import { storedKeys } from '../helpers/test-storage.js';
import { api, startStack, waitForJob, type Stack } from './stack.js';
import { xorSpec } from '../api/helpers.js';

const LIMIT = 40_000;

interface Usage {
  bytes: { datasets: number; checkpoints: number; total: number; limit: number };
  jobs: Record<string, number>;
  trainingSeconds: number;
}
interface JobView {
  id: string;
  status: string;
  reason: string | null;
  error: string | null;
}

const spec = xorSpec({ epochs: 4, checkpoints: { keepBest: 2 }, seed: 3 });
/** Float32 weights and biases of spec's model: what admission checks. */
const TENSOR_BYTES = 4 * (2 * 8 + 8 + 8 * 2 + 2);

function csvOf(rows: number): string {
  return 'a,b,label\n' + Array.from({ length: rows }, (_, i) => `${i % 5},${i % 3},${i % 2}`).join('\n') + '\n';
}
const storedSize = (rows: number) => encodeDataset(parseCsv(csvOf(rows), { label: 'label' })).byteLength;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ workers: 1, env: { MAX_TENANT_BYTES: String(LIMIT) } });
});
afterAll(async () => {
  await stack?.stop();
});

describe('quota with a running worker', () => {
  it('charges kept checkpoints and training seconds, and fails a job whose checkpoint no longer fits', async () => {
    const first = await api<JobView>(stack, 'POST', '/v1/jobs', spec);
    expect(first.status).toBe(201);
    const done = await waitForJob<JobView>(stack, first.body.id, (j) => ['completed', 'failed', 'cancelled'].includes(j.status));
    expect(done.status).toBe('completed');
    const kept = (await api<{ items: { size: number }[] }>(stack, 'GET', `/v1/jobs/${done.id}/checkpoints`)).body.items;
    expect(kept.length).toBeGreaterThan(0);
    const checkpointBytes = kept.reduce((sum, c) => sum + c.size, 0);
    let usage = (await api<Usage>(stack, 'GET', '/v1/usage')).body;
    expect(usage.bytes).toEqual({ datasets: 0, checkpoints: checkpointBytes, total: checkpointBytes, limit: LIMIT });
    expect(usage.jobs.completed).toBe(1);
    expect(usage.trainingSeconds).toBeGreaterThan(0);

    // Fill the quota with a dataset, leaving room for the tensors but not for a whole checkpoint.
    const smallest = Math.min(...kept.map((c) => c.size));
    const want = LIMIT - checkpointBytes - (TENSOR_BYTES + 50);
    let rows = 1;
    while (storedSize(rows * 2) <= want) rows *= 2;
    for (let step = rows; step >= 1; step = Math.floor(step / 2)) if (storedSize(rows + step) <= want) rows += step;
    const upload = await fetch(`${stack.baseUrl}/v1/datasets?label=label`, { method: 'POST', body: csvOf(rows), headers: { 'content-type': 'text/csv' } });
    expect(upload.status).toBe(201);
    usage = (await api<Usage>(stack, 'GET', '/v1/usage')).body;
    const room = LIMIT - usage.bytes.total;
    expect(room).toBeGreaterThanOrEqual(TENSOR_BYTES);
    expect(room).toBeLessThan(smallest);

    const second = await api<JobView>(stack, 'POST', '/v1/jobs', spec);
    expect(second.status).toBe(201);
    const failed = await waitForJob<JobView>(stack, second.body.id, (j) => ['completed', 'failed', 'cancelled'].includes(j.status));
    expect(failed.status).toBe('failed');
    expect(failed.reason).toBe('error: quota_exceeded');
    expect(failed.error).toContain(`MAX_TENANT_BYTES=${LIMIT}`);
    expect((await api<{ items: unknown[] }>(stack, 'GET', `/v1/jobs/${failed.id}/checkpoints`)).body.items).toEqual([]);
    expect(await storedKeys(stack.storage, `jobs/${failed.id}/`)).toEqual([]);
    usage = (await api<Usage>(stack, 'GET', '/v1/usage')).body;
    expect(usage.bytes.checkpoints).toBe(checkpointBytes);
    expect(usage.jobs).toMatchObject({ completed: 1, failed: 1 });

    // A third job, whose tensors alone do not fit, is refused at submission.
    const wide = await api<{ error: { code: string } }>(stack, 'POST', '/v1/jobs', { ...spec, model: { layers: [{ type: 'dense', units: 200 }, { type: 'dense', units: 2 }] } });
    expect(wide.status).toBe(403);
    expect(wide.body.error.code).toBe('quota_exceeded');
  }, 60_000);
});
