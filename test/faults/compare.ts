// The bit-identical check: a job that survived a fault ends exactly where an uninterrupted run of
// the same stored job ends — every epoch's metrics and every kept checkpoint, byte for byte.

import { expect } from 'vitest';
import { deterministicPart, type JobView, type MetricsRecord } from '../helpers/api.js';
import { referenceRun } from '../helpers/reference.js';
import type { ProcessStack } from '../helpers/stack.js';

export async function expectSameAsUninterrupted(stack: ProcessStack, done: JobView, records: MetricsRecord[]): Promise<void> {
  const jobId = done.id;
  const ref = await referenceRun(stack.redis, stack.prefix, stack.dataDir, jobId, stack.env);
  expect(ref.result.epochs).toBe(done.progress.epochs);
  for (const r of records) expect(deterministicPart(r), `epoch ${r.epoch} (attempt ${r.attempt})`).toEqual(deterministicPart(ref.epochs[r.epoch - 1] as never));
  expect(deterministicPart(done.latest as never)).toEqual(deterministicPart(ref.result.last as never));
  expect(deterministicPart(done.best as never)).toEqual(deterministicPart(ref.result.best as never));

  const list = await stack.api.get<{ items: { epoch: number; best: boolean; sha256: string }[] }>(`/v1/jobs/${jobId}/checkpoints`);
  expect(list.status).toBe(200);
  expect(list.body.items.find((c) => c.best)?.epoch).toBe(ref.result.bestEpoch);
  const best = await stack.api.bytes(`/v1/jobs/${jobId}/checkpoints/best`);
  expect(best.status).toBe(200);
  const want = ref.bestBytes.get(ref.result.bestEpoch ?? -1);
  expect(want).toBeDefined();
  expect(Buffer.from(best.bytes).equals(Buffer.from(want as Uint8Array)), 'best checkpoint bytes').toBe(true);
  for (const c of list.body.items) {
    const file = await stack.api.bytes(`/v1/jobs/${jobId}/checkpoints/${c.epoch}`);
    const expected = ref.bestBytes.get(c.epoch);
    expect(expected, `reference has a checkpoint for epoch ${c.epoch}`).toBeDefined();
    expect(Buffer.from(file.bytes).equals(Buffer.from(expected as Uint8Array)), `epoch ${c.epoch} checkpoint bytes`).toBe(true);
  }
}
