// Within-epoch progress for a display: where the running epoch stands (mini-batches done, the
// running mean loss, rows per second, time left), handed to the caller's onProgress at most once
// per interval of the caller's clock. It only reads the run, so it changes no result.

import type { MetricsAccumulator } from './metrics.js';

/** Where training is within an epoch; computed from what the loop already counts. */
export interface StepProgress {
  /** The epoch being trained (1-based) and the mini-batches done in it. */
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  /** Mean training loss of this epoch's mini-batches so far (the epoch's `loss` once it ends). */
  loss: number;
  samplesPerSec: number;
  /** Seconds left in this epoch's training pass at the rate so far (validation not included). */
  eta: number;
}

/** Default least time between two reports: at most 4 a second. */
export const PROGRESS_INTERVAL_MS = 250;

export interface ProgressReporter {
  onProgress: (progress: StepProgress) => void;
  clock: () => number;
  intervalMs: number;
  /** Clock time of the last report (at first: of the start, so a run that quick reports nothing). */
  last: number;
  epochStarted: number;
}

export function createProgressReporter(
  onProgress: (progress: StepProgress) => void,
  options: { clock?: () => number; progressIntervalMs?: number },
): ProgressReporter {
  const clock = options.clock ?? (() => performance.now());
  const now = clock();
  return { onProgress, clock, intervalMs: options.progressIntervalMs ?? PROGRESS_INTERVAL_MS, last: now, epochStarted: now };
}

export function startEpochProgress(p: ProgressReporter): void {
  p.epochStarted = p.clock();
}

/** After mini-batch `done` (1-based) of `stepsPerEpoch` in epoch `epoch`: reports unless the last report is under an interval old. */
export function reportProgress(p: ProgressReporter, scores: MetricsAccumulator, epoch: number, done: number, stepsPerEpoch: number): void {
  const now = p.clock();
  if (now - p.last < p.intervalMs) return;
  p.last = now;
  const seconds = (now - p.epochStarted) / 1000;
  p.onProgress({
    epoch,
    step: done,
    stepsPerEpoch,
    loss: scores.samples > 0 ? scores.lossSum / scores.samples : NaN,
    samplesPerSec: seconds > 0 ? scores.samples / seconds : 0,
    eta: (seconds / done) * (stepsPerEpoch - done),
  });
}
