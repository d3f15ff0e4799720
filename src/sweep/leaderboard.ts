// What a sweep looks like to a client: counts by trial state, the leaderboard (trials ranked by
// their best objective, with parameters and epochs used), and the best trial with its checkpoint.
// Read from the sweep's state plus the status of its live trials' jobs (finished ones are in the state).
import type { Store } from '../store/redis.js';
import { readSweepState, type SweepRecord, type SweepState } from '../store/sweeps.js';

export const TRIAL_STATES = ['queued', 'running', 'completed', 'pruned', 'failed', 'cancelled', 'invalid'] as const;
export type TrialState = (typeof TRIAL_STATES)[number];

export interface TrialRow {
  trial: number;
  jobId: string | null;
  state: TrialState;
  reason: string | null;
  error: string | null;
  params: Record<string, unknown>;
  /** The best objective the trial reported, and at which epoch. */
  objective: number | null;
  objectiveEpoch: number | null;
  /** Epochs the trial trained (its last reported epoch). */
  epochs: number;
}

export interface SweepView {
  counts: Record<TrialState | 'pending', number>;
  leaderboard: TrialRow[];
  best: (Pick<TrialRow, 'trial' | 'jobId' | 'objective' | 'objectiveEpoch' | 'params'> & { checkpoint: string | null }) | null;
  /** Epochs trained by all trials together. */
  totalEpochs: number;
}

async function liveStatuses(s: Store, state: SweepState): Promise<Map<number, string>> {
  const live = [...state.live].filter((k) => state.trials.get(k)?.jobId);
  const pipe = s.redis.pipeline();
  for (const k of live) pipe.hget(s.keys.job(state.trials.get(k)?.jobId as string), 'status');
  const rows = (await pipe.exec()) ?? [];
  return new Map(live.map((k, i) => [k, (rows[i]?.[1] as string | null) ?? 'queued']));
}

export async function sweepView(s: Store, sweep: SweepRecord): Promise<SweepView> {
  const state = await readSweepState(s, sweep.id);
  const statuses = await liveStatuses(s, state);
  const sign = sweep.spec.objective.mode === 'max' ? 1 : -1;
  const rows: TrialRow[] = [];
  for (const [trial, entry] of state.trials) {
    const done = state.done.get(trial);
    const live = statuses.get(trial);
    const st: TrialState = done !== undefined ? done.outcome : live === 'running' ? 'running' : 'queued';
    const o = state.objectives.get(trial);
    rows.push({
      trial,
      jobId: entry.jobId,
      state: st,
      reason: done?.reason ?? null,
      error: done?.error ?? null,
      params: entry.params,
      objective: o?.value ?? null,
      objectiveEpoch: o?.epoch ?? null,
      epochs: o?.last ?? 0,
    });
  }
  // Best objective first; trials without one after, in trial order.
  rows.sort((a, b) => {
    if (a.objective !== null && b.objective !== null && a.objective !== b.objective) return sign * (b.objective - a.objective);
    if ((a.objective === null) !== (b.objective === null)) return a.objective === null ? 1 : -1;
    return a.trial - b.trial;
  });
  const counts = Object.fromEntries([...TRIAL_STATES, 'pending'].map((k) => [k, 0])) as SweepView['counts'];
  for (const r of rows) counts[r.state] += 1;
  counts.pending = Math.max(0, sweep.spec.maxTrials - sweep.launched);
  const top = rows[0];
  const best =
    top !== undefined && top.objective !== null
      ? { trial: top.trial, jobId: top.jobId, objective: top.objective, objectiveEpoch: top.objectiveEpoch, params: top.params, checkpoint: top.jobId === null ? null : `/v1/jobs/${top.jobId}/checkpoints/best` }
      : null;
  return { counts, leaderboard: rows, best, totalEpochs: rows.reduce((n, r) => n + r.epochs, 0) };
}
