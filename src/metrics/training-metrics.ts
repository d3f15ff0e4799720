// Training counters of a worker process: finished jobs, epochs, samples and epoch durations.
// Counted in the worker's main process from what reaches it (BullMQ's completed/failed events,
// the trainers' per-epoch reports), never inside a trainer: trainers come and go with their jobs.
import { Counter, Histogram } from 'prom-client';
import { metricsRegistry } from './registry.js';

/** The reasons a job can end with, as labels; any `error: …` becomes `error` (bounded label values). */
const KNOWN_REASONS = new Set(['max_epochs', 'early_stopped', 'converged', 'max_runtime', 'diverged', 'cancelled_by_user', 'pruned']);
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

const finished = new Counter({
  name: 'traind_jobs_finished_total',
  help: 'Jobs this worker process finished, by terminal status and reason (every "error: …" reason counts as error)',
  labelNames: ['status', 'reason'] as const,
  registers: [metricsRegistry()],
});

const epochs = new Counter({
  name: 'traind_epochs_total',
  help: 'Training epochs finished by this worker process\'s trainers (an epoch re-run after a crash counts again: it was trained again)',
  registers: [metricsRegistry()],
});

const samples = new Counter({
  name: 'traind_samples_trained_total',
  help: 'Training rows processed by this worker process\'s trainers (rows per epoch, summed over epochs)',
  registers: [metricsRegistry()],
});

const epochDuration = new Histogram({
  name: 'traind_epoch_duration_seconds',
  help: 'Wall-clock seconds of one training epoch, validation included',
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
  registers: [metricsRegistry()],
});

export function reasonLabel(reason: string | null | undefined): string {
  if (reason === null || reason === undefined) return 'none';
  if (KNOWN_REASONS.has(reason)) return reason;
  return reason.startsWith('error') ? 'error' : 'other';
}

/** Counts a job that ended here; anything but a terminal status (a skipped or vanished job) is ignored. */
export function countFinishedJob(status: string, reason: string | null | undefined): void {
  if (!TERMINAL.has(status)) return;
  finished.inc({ status, reason: reasonLabel(reason) });
}

export interface EpochReport {
  /** Wall-clock seconds of the epoch (the metrics record's `seconds`). */
  seconds: number;
  /** Training rows the epoch processed. */
  samples: number;
}

export function countEpoch(report: EpochReport): void {
  epochs.inc();
  if (Number.isFinite(report.samples) && report.samples > 0) samples.inc(report.samples);
  if (Number.isFinite(report.seconds) && report.seconds >= 0) epochDuration.observe(report.seconds);
}
