// A sweep with ASHA through real worker processes: trials are ordinary jobs, at most
// `parallelism` run at once, pruned trials end completed/pruned at a rung with their checkpoints,
// every ASHA decision follows the rule from the objectives recorded before it, the events stream
// tells the whole story, and the best trial's checkpoint downloads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { DecisionSchema, SweepFinishedEventSchema, TrialFinishedEventSchema, TrialReportedEventSchema, TrialStartedEventSchema } from '../../src/api/sweep-schemas.js';
import { api, startStack, type Stack } from './stack.js';

/** What the document's x-events says each event carries. */
const EVENT_SCHEMAS: Record<string, z.ZodType> = {
  trial_started: TrialStartedEventSchema,
  trial_reported: TrialReportedEventSchema,
  trial_pruned: DecisionSchema,
  trial_finished: TrialFinishedEventSchema,
  sweep_finished: SweepFinishedEventSchema,
};

interface Trial {
  trial: number;
  jobId: string;
  state: string;
  reason: string | null;
  params: Record<string, unknown>;
  objective: number | null;
  epochs: number;
}
interface Decision {
  seq: number;
  trial: number;
  rung: number;
  value: number | null;
  cutoff: number | null;
  among: number;
  decision: string;
}
interface SweepView {
  id: string;
  status: string;
  counts: { completed: number; pruned: number; [state: string]: number };
  leaderboard: Trial[];
  decisions: Decision[];
  best: { trial: number; jobId: string; objective: number; checkpoint: string } | null;
  totalEpochs: number;
}
interface JobView {
  id: string;
  status: string;
  reason: string | null;
  sweep: string;
  trial: number;
  params: Record<string, unknown>;
  progress: { epoch: number };
  history: { status: string; at: string }[];
}

const EPOCHS = 9;
const PARALLELISM = 3;
const TRIALS = 9;

const sweepRequest = {
  name: 'moons-asha',
  base: {
    dataset: { builtin: 'moons' },
    validation: { fraction: 0.2 },
    model: { layers: [{ type: 'dense', units: 16, activation: 'tanh' }, { type: 'dense', units: 2 }] },
    loss: 'softmax_cross_entropy',
    optimizer: { type: 'adam' },
    batchSize: 16,
    epochs: EPOCHS,
  },
  space: { learningRate: { loguniform: [1e-4, 0.3] }, 'model.layers.0.units': { choice: [2, 8, 32] } },
  maxTrials: TRIALS,
  parallelism: PARALLELISM,
  objective: { metric: 'val_loss', mode: 'min' },
  earlyTermination: { type: 'asha', gracePeriod: 1, reductionFactor: 3 },
  seed: 3,
};

/** numpy's percentile with linear interpolation. */
function percentile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const a = s[lo] as number;
  const b = s[Math.min(lo + 1, s.length - 1)] as number;
  return a + (b - a) * (pos - lo);
}

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ workers: 2, env: { SWEEP_TICK_MS: '300' } });
});

afterAll(async () => {
  await stack?.stop();
});

describe('a sweep with ASHA on real workers', () => {
  it('runs every trial once, never more than parallelism at a time, prunes by the rule, and keeps pruned checkpoints', { timeout: 240_000 }, async () => {
    const submitted = await api<SweepView>(stack, 'POST', '/v1/sweeps', sweepRequest);
    expect(submitted.status).toBe(201);
    const id = submitted.body.id;

    // Follow the events to the end (the stream ends after sweep_finished).
    const res = await fetch(`${stack.baseUrl}/v1/sweeps/${id}/events`, { signal: AbortSignal.timeout(200_000) });
    expect(res.status).toBe(200);
    const text = await res.text();
    const events = [...text.matchAll(/event: (\S+)\ndata: (.*)\n/g)].map((m) => ({ type: m[1] as string, data: JSON.parse(m[2] as string) as Record<string, unknown> }));
    expect(events.at(-1)).toMatchObject({ type: 'sweep_finished', data: { status: 'completed' } });
    for (const e of events) {
      const schema = EVENT_SCHEMAS[e.type];
      expect(schema, e.type).toBeDefined();
      expect(schema?.safeParse(e.data).success, `${e.type} ${JSON.stringify(e.data)}`).toBe(true);
    }

    const sweep = (await api<SweepView>(stack, 'GET', `/v1/sweeps/${id}`)).body;
    expect(sweep.status).toBe('completed');
    expect(sweep.leaderboard).toHaveLength(TRIALS);
    expect(sweep.counts.completed + sweep.counts.pruned).toBe(TRIALS);
    expect(sweep.counts.pruned).toBeGreaterThan(0);
    expect(sweep.counts.completed).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === 'trial_started')).toHaveLength(TRIALS);
    expect(events.filter((e) => e.type === 'trial_finished')).toHaveLength(TRIALS);
    expect(events.filter((e) => e.type === 'trial_pruned')).toHaveLength(sweep.counts.pruned as number);
    expect(sweep.totalEpochs).toBe(sweep.leaderboard.reduce((n, t) => n + t.epochs, 0));
    expect(sweep.totalEpochs).toBeLessThan(TRIALS * EPOCHS);

    // Trials are ordinary jobs: one per trial, no duplicates.
    const listed = (await api<{ items: JobView[] }>(stack, 'GET', `/v1/jobs?sweep=${id}&limit=100`)).body.items;
    expect(listed.map((j) => j.trial).sort((a, b) => a - b)).toEqual([...Array(TRIALS).keys()]);
    const jobs = new Map<string, JobView>();
    for (const t of sweep.leaderboard) {
      const job = (await api<JobView>(stack, 'GET', `/v1/jobs/${t.jobId}`)).body;
      jobs.set(t.jobId, job);
      expect(job).toMatchObject({ sweep: id, trial: t.trial, params: t.params, status: 'completed' });
      expect(job.reason).toBe(t.state === 'pruned' ? 'pruned' : 'max_epochs');
      expect(job.progress.epoch).toBe(t.epochs);
      if (t.state === 'pruned') {
        // Stopped at a rung (1 or 3 epochs), its checkpoints kept.
        expect([1, 3]).toContain(t.epochs);
        const cks = (await api<{ items: unknown[] }>(stack, 'GET', `/v1/jobs/${t.jobId}/checkpoints`)).body.items;
        expect(cks.length).toBeGreaterThan(0);
      } else {
        expect(t.epochs).toBe(EPOCHS);
      }
    }

    // Parallelism: at no instant were more than PARALLELISM trials running.
    const spans = [...jobs.values()].map((j) => {
      const start = j.history.find((h) => h.status === 'running')?.at as string;
      return [Date.parse(start), Date.parse(j.history.at(-1)?.at as string)] as const;
    });
    for (const [start] of spans) {
      const overlapping = spans.filter(([s, e]) => s <= start && start < e).length;
      expect(overlapping).toBeLessThanOrEqual(PARALLELISM);
    }

    // Every decision, replayed in order, follows ASHA's rule from the objectives recorded before it.
    expect(sweep.decisions.map((d) => d.seq)).toEqual(sweep.decisions.map((_, i) => i + 1));
    const recorded = new Map<number, number[]>();
    for (const d of sweep.decisions) {
      const before = recorded.get(d.rung) ?? [];
      expect(d.among).toBe(before.length);
      const scores = before.map((v) => -v);
      if (before.length === 0) {
        expect(d.decision).toBe('continue');
        expect(d.cutoff).toBeNull();
      } else {
        const cutoff = -percentile(scores, 1 - 1 / 3);
        expect(d.cutoff).toBeCloseTo(cutoff, 9);
        expect(d.decision).toBe((d.value as number) > cutoff ? 'prune' : 'continue');
      }
      recorded.set(d.rung, [...before, d.value as number]);
      const trial = sweep.leaderboard.find((t) => t.trial === d.trial);
      if (d.decision === 'prune') expect(trial).toMatchObject({ state: 'pruned', epochs: d.rung });
    }

    // The best trial is the leaderboard's first, and its best checkpoint downloads.
    const objectives = sweep.leaderboard.map((t) => t.objective as number);
    expect(sweep.best?.objective).toBe(Math.min(...objectives));
    expect(sweep.best?.trial).toBe(sweep.leaderboard[0]?.trial);
    const ck = await fetch(`${stack.baseUrl}${sweep.best?.checkpoint}`);
    expect(ck.status).toBe(200);
    expect((await ck.arrayBuffer()).byteLength).toBeGreaterThan(100);
  });

  it('cancel stops its running and queued trials within moments and launches no more', { timeout: 120_000 }, async () => {
    const long = { ...sweepRequest, name: 'cancel-me', base: { ...sweepRequest.base, epochs: 5000 }, maxTrials: 5, parallelism: 2, earlyTermination: { type: 'none' } };
    const id = (await api<SweepView>(stack, 'POST', '/v1/sweeps', long)).body.id;
    const deadline = Date.now() + 60_000;
    let view: SweepView;
    do {
      view = (await api<SweepView>(stack, 'GET', `/v1/sweeps/${id}`)).body;
      if (view.counts.running === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    } while (Date.now() < deadline);
    expect(view.counts.running).toBe(2);
    const t0 = Date.now();
    const cancelled = await api<SweepView>(stack, 'POST', `/v1/sweeps/${id}/cancel`);
    expect(cancelled.status).toBe(202);
    expect(['cancelling', 'cancelled']).toContain(cancelled.body.status);
    do {
      view = (await api<SweepView>(stack, 'GET', `/v1/sweeps/${id}`)).body;
      if (view.status === 'cancelled') break;
      await new Promise((r) => setTimeout(r, 100));
    } while (Date.now() - t0 < 20_000);
    expect(view.status).toBe('cancelled');
    expect(view.counts).toMatchObject({ cancelled: 2, running: 0, queued: 0, pending: 3 });
    for (const t of view.leaderboard) {
      const job = (await api<JobView>(stack, 'GET', `/v1/jobs/${t.jobId}`)).body;
      expect(job).toMatchObject({ status: 'cancelled', reason: 'cancelled_by_user' });
      expect(job.progress.epoch).toBeLessThan(5000);
    }
    // Nothing is launched after the end, tick after tick.
    await new Promise((r) => setTimeout(r, 1000));
    expect((await api<{ items: unknown[] }>(stack, 'GET', `/v1/jobs?sweep=${id}`)).body.items).toHaveLength(2);
  });
});
