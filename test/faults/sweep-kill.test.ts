// Fault: a sweep survives the processes that drive it. The API that accepted it is SIGKILLed at
// once and a worker is SIGKILLed mid-trial; the remaining and new workers launch the other trials
// (no API running), resume the killed trial from its resume state, and finish the sweep: every
// trial ran as exactly one job, every epoch of every trial was recorded once, each event once.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { resumeStateKey } from '../../src/store/object-keys.js';
import { createStore } from '../../src/store/redis.js';
import { allMetrics, type JobView } from '../helpers/api.js';
import { startProcessStack, type ProcessStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';
import { slowSpec } from './specs.js';

const EPOCHS = 4;
const TRIALS = 6;

interface SweepView {
  id: string;
  status: string;
  counts: Record<string, number>;
  leaderboard: { trial: number; jobId: string; state: string; epochs: number }[];
  decisions: { trial: number; rung: number }[];
}

let stack: ProcessStack;

beforeAll(async () => {
  stack = await startProcessStack({ tag: 'sweepkill', env: { SWEEP_TICK_MS: '300' } });
});

afterAll(async () => {
  await stack?.dispose();
});

describe('sweep: its API and a worker SIGKILLed', () => {
  it('finishes with every trial run once, the killed trial resumed, no epoch or event twice', { timeout: 240_000 }, async () => {
    const a = await stack.startWorker('worker-a');
    const b = await stack.startWorker('worker-b');
    const res = await stack.api.post<SweepView>('/v1/sweeps', {
      name: 'sweep-kill',
      base: slowSpec(EPOCHS),
      space: { 'learningRate.initial': { loguniform: [1e-3, 1e-2] }, 'model.layers.1.rate': { choice: [0, 0.1, 0.3] } },
      maxTrials: TRIALS,
      parallelism: 2,
      objective: { metric: 'val_loss', mode: 'min' },
      // One rung, at epoch 2: a trial killed during epoch 2 cannot have been pruned yet.
      earlyTermination: { type: 'asha', gracePeriod: 2, reductionFactor: 2 },
      seed: 5,
    });
    expect(res.status).toBe(201);
    const id = res.body.id;
    // Nothing of the sweep lives in the API: kill it right away.
    stack.apiProcess.kill('SIGKILL');
    await stack.apiProcess.exited;

    // Worker A is training a trial in its second epoch: kill it as soon as epoch 1's resume state is
    // stored (so the next attempt resumes), a whole epoch before the rung's decision at epoch 2 (a
    // fixed sleep after seeing epoch 1 left too little of that epoch on a loaded machine).
    const key = (jobId: string) => `${stack.prefix}:job:${jobId}`;
    const store = createStore(loadConfig({ KEY_PREFIX: stack.prefix, DATA_DIR: stack.dataDir, ...stack.env }), stack.redis);
    const victim = await waitFor(
      async () => {
        const line = a.logs.filter((l) => l.msg === 'job taken').at(-1);
        if (line === undefined) return null;
        const jobId = String(line.jobId);
        const progress = JSON.parse((await stack.redis.hget(key(jobId), 'progress')) ?? '{"epoch":0}') as { epoch: number };
        if (progress.epoch !== 1 || (await store.storage.stat(resumeStateKey(jobId))) === null) return null;
        return jobId;
      },
      { timeoutMs: 60_000, intervalMs: 20, what: "worker-a to store a trial's epoch-1 resume state" },
    );
    a.kill('SIGKILL');
    await a.exited;
    const c = await stack.startWorker('worker-c');

    // The workers finish the sweep on their own; then a new API shows it.
    await waitFor(async () => (await stack.redis.hget(`${stack.prefix}:sweep:${id}`, 'status')) === 'completed', {
      timeoutMs: 180_000,
      intervalMs: 250,
      what: 'the sweep to complete without an API',
    });
    await stack.restartApi();
    const sweep = (await stack.api.get<SweepView>(`/v1/sweeps/${id}`)).body;
    expect(sweep.status).toBe('completed');
    expect(sweep.leaderboard.map((t) => t.trial).sort()).toEqual([...Array(TRIALS).keys()]);
    expect((sweep.counts.completed ?? 0) + (sweep.counts.pruned ?? 0)).toBe(TRIALS);

    // One job per trial: the sweep's job index and the tenant's job list agree, no extra job.
    const listed = (await stack.api.get<{ items: JobView[] }>(`/v1/jobs?sweep=${id}&limit=100`)).body.items;
    expect(listed.map((j) => j.id).sort()).toEqual(sweep.leaderboard.map((t) => t.jobId).sort());
    const all = (await stack.api.get<{ items: JobView[] }>('/v1/jobs?limit=100')).body.items;
    expect(all).toHaveLength(TRIALS);

    for (const t of sweep.leaderboard) {
      const job = (await stack.api.get<JobView>(`/v1/jobs/${t.jobId}`)).body;
      expect(job.status).toBe('completed');
      // Every epoch once, in order, however many attempts.
      const epochs = (await allMetrics(stack.api, t.jobId)).map((m) => m.epoch);
      expect(epochs).toEqual(Array.from({ length: t.epochs }, (_, i) => i + 1));
      if (t.jobId === victim) {
        const running = job.history.filter((h) => h.status === 'running');
        expect(running.length).toBeGreaterThanOrEqual(2);
        expect(running[1]?.reason).toMatch(/resumed from resume state/);
      }
    }
    // At most one ASHA decision per trial and rung.
    const decided = sweep.decisions.map((d) => `${d.trial}:${d.rung}`);
    expect(new Set(decided).size).toBe(decided.length);

    // Each event once: one trial_started and one trial_finished per trial, one sweep_finished.
    const events = await fetch(`${stack.api.baseUrl}/v1/sweeps/${id}/events`, { signal: AbortSignal.timeout(20_000) }).then((r) => r.text());
    const types = [...events.matchAll(/^event: (.*)$/gm)].map((m) => m[1]);
    expect(types.filter((t) => t === 'trial_started')).toHaveLength(TRIALS);
    expect(types.filter((t) => t === 'trial_finished')).toHaveLength(TRIALS);
    expect(types.filter((t) => t === 'sweep_finished')).toHaveLength(1);
    const reported = [...events.matchAll(/event: trial_reported\ndata: (.*)\n/g)].map((m) => JSON.parse(m[1] as string) as { trial: number; epoch: number });
    const keys = reported.map((r) => `${r.trial}:${r.epoch}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(b.alive() && c.alive()).toBe(true);
  });
});
