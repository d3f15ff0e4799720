// The core's training hooks for one job attempt, writing to the store: metrics to the job's
// stream and record (and the epoch's seconds to the tenant's usage), best checkpoints to the
// checkpoint store (QuotaExceededError past MAX_TENANT_BYTES), resume state after every epoch
// (a write a cancel stops: the cancelled job needs none).

import type { EpochMetrics } from '../src/core/types.js';
import { recordBestCheckpoint, writeResumeState } from '../src/store/checkpoints.js';
import { recordEpoch, setBestMetrics, type MetricsRecord } from '../src/store/jobs.js';
import { getSweep, reportTrialEpoch, type SweepRecord } from '../src/store/sweeps.js';
import { addTrainingSeconds } from '../src/store/usage.js';
import type { TrainerContext } from './context.js';

export interface BestInfo {
  epoch: number;
  step: number;
  monitor: string;
  value: number;
  bytes: Uint8Array;
  kept: { epoch: number; value: number }[];
  evicted: number[];
}

export interface JobHooks {
  onEpoch(metrics: EpochMetrics): Promise<void>;
  onBest(best: BestInfo): Promise<void>;
  onLatest(latest: { epoch: number; bytes: Uint8Array }): Promise<void>;
  /** True once the job is no longer ours to write: terminal or expired, or taken over by a later attempt. */
  readonly recordGone: boolean;
  /** True when a later attempt took the job over (as opposed to it ending). */
  readonly takenOver: boolean;
  /** True once the job's sweep decided to stop this trial early (ASHA). */
  readonly pruned: boolean;
}

/**
 * `trained` hears of every epoch the core finishes, recorded or not (a re-run after a crash, or a
 * copy that lost its job, trained it all the same): the worker's metrics count work done.
 */
export function createJobHooks(
  ctx: TrainerContext,
  job: { id: string; tenant: string; sweep?: string | null; trial?: number | null },
  attempt: number,
  epochs: number,
  /** The user's cancel: a cancelled job needs no resume state, so its write stops. */
  cancelled: AbortSignal,
  trained: (metrics: EpochMetrics) => void = () => undefined,
  /**
   * Epochs below this one are replays whose writes Redis holds already (training started again
   * from epoch 0 on a job that had recorded them; see resume-point.ts): their records are dropped
   * as duplicates, and their checkpoints and best mark are not written again, so the index and the
   * job's best never step back while the run catches up (nor send job.checkpoint events twice).
   */
  replayBefore: () => number = () => 0,
): JobHooks {
  const { id: jobId, tenant } = job;
  const { store, logger } = ctx;
  const seen = new Map<number, MetricsRecord>();
  let bestEpoch: number | null = null;
  let bestWritten: number | null = null;
  let recordGone = false;
  let takenOver = false;
  let pruned = false;
  let sweep: SweepRecord | null | undefined;

  /** A trial's epoch goes to its sweep (again after a re-run: the sweep answers a repeat the same way). */
  async function reportToSweep(metrics: EpochMetrics): Promise<void> {
    if (job.sweep == null || job.trial == null) return;
    // The sweep's spec never changes: read once per attempt.
    sweep ??= await getSweep(store, job.sweep);
    if (sweep === null) return;
    const value = (metrics as unknown as Record<string, number | undefined>)[sweep.spec.objective.metric];
    const decision = await reportTrialEpoch(store, sweep.spec, { sweepId: sweep.id, trial: job.trial, jobId, epoch: metrics.epoch, value, epochs });
    if (decision === 'prune') {
      pruned = true;
      logger.info({ jobId, sweepId: sweep.id, trial: job.trial, epoch: metrics.epoch }, 'trial pruned by its sweep');
    }
  }

  // onEpoch and onBest may come in either order for an epoch; write `best` once both are known.
  async function syncBest(): Promise<void> {
    if (bestEpoch === null || bestEpoch === bestWritten) return;
    const m = seen.get(bestEpoch);
    if (m === undefined) return;
    bestWritten = bestEpoch;
    await setBestMetrics(store, jobId, m);
  }

  return {
    get recordGone() {
      return recordGone;
    },
    get takenOver() {
      return takenOver;
    },
    get pruned() {
      return pruned;
    },
    async onEpoch(metrics) {
      trained(metrics);
      if (recordGone) return;
      // recordEpoch's script is the fence (a later attempt's record answers 'superseded'): no round trip before it.
      const record: MetricsRecord = { ...metrics, attempt };
      seen.set(metrics.epoch, record);
      const res = await recordEpoch(store, jobId, record, epochs);
      // Only a recorded epoch counts: one re-run after a crash is not charged twice.
      if (res.ok) await addTrainingSeconds(store, tenant, metrics.seconds);
      if (!res.ok && res.why !== 'duplicate') {
        recordGone = true;
        // The store's atomic fence (a later attempt owns the record), when it reports one.
        if (res.why === 'superseded') takenOver = true;
      }
      logger.debug({ jobId, attempt, epoch: metrics.epoch, loss: metrics.loss, val_loss: metrics.val_loss }, 'epoch');
      await syncBest();
      if (res.ok || res.why === 'duplicate') await reportToSweep(metrics);
    },
    async onBest(best) {
      if (recordGone || best.epoch < replayBefore()) return;
      const top = best.kept[0]?.epoch ?? best.epoch;
      await recordBestCheckpoint(store, jobId, {
        tenant,
        epoch: best.epoch,
        step: best.step,
        monitor: best.monitor,
        value: best.value,
        bytes: best.bytes,
        bestEpoch: top,
        evicted: best.evicted,
      });
      bestEpoch = top;
      await syncBest();
    },
    async onLatest(latest) {
      if (recordGone) return;
      try {
        await writeResumeState(store, jobId, latest.bytes, cancelled);
      } catch (err) {
        // Stopped by a cancel: the previous resume state is whole, and the job ends without either.
        if (cancelled.aborted) return;
        throw err;
      }
    },
  };
}
