// The training loop: mini-batch gradient descent with backpropagation. Every step is
// forward → loss → zero grads → backward → regularize/clip → update (w −= lr·∂L/∂w); every epoch
// reshuffles from the seed, validates, decides whether to stop, ranks checkpoints and hands the
// results to the caller's hooks, which do all the I/O. The run's state lives in run-state.ts.
// B batch, O outputs, T target width.

import { gatherBatch, orderRows } from './batches.js';
import { evaluate, epochMetrics } from './evaluate.js';
import type { Kernels } from './kernels/kernels.js';
import { jsKernels } from './kernels/js.js';
import { lossAndGradient } from './losses.js';
import { accumulateMetrics, finishMetrics, resetMetrics } from './metrics.js';
import { modelBackward, modelForward, weightsFinite } from './model.js';
import { optimizerStep } from './optimizers.js';
import { pause, stopRequested, type YieldToCaller } from './pacing.js';
import { completeEpoch, rollBackPartialEpoch, startEpoch, stepTaken } from './position.js';
import { createProgressReporter, reportProgress, startEpochProgress, type ProgressReporter, type StepProgress } from './progress.js';
import { rankEpoch, type KeptCheckpoint } from './ranking.js';
import { applyRegularization, clipByGlobalNorm } from './regularization.js';
import { checkpointOf, createRun, resumeBytes, type InitialTensors, type TrainingRun } from './run-state.js';
import { learningRateAt } from './schedules.js';
import { applyStoppingRules, restoreBestWeights } from './stopping.js';
import type { Dataset, EpochMetrics, StopReason, TrainConfig } from './types.js';

/** A checkpoint entering the kept best-N set (not necessarily the new top: see `kept`, best first). */
export interface BestCheckpointEvent {
  epoch: number;
  step: number;
  monitor: string;
  value: number;
  /** The checkpoint file (safetensors). */
  bytes: Uint8Array;
  /** The kept checkpoints after this one entered, best first. */
  kept: KeptCheckpoint[];
  /** Epochs that dropped out of the kept set: their files can be deleted. */
  evicted: number[];
}

export interface LatestStateEvent {
  epoch: number;
  step: number;
  /** Resume state (safetensors) to pass back as `options.resume`. */
  bytes: Uint8Array;
}

/** Callbacks for the caller's I/O; each may return a promise, which training awaits. */
export interface TrainHooks {
  onEpoch?(metrics: EpochMetrics): void | Promise<void>;
  onBest?(event: BestCheckpointEvent): void | Promise<void>;
  onLatest?(event: LatestStateEvent): void | Promise<void>;
  /**
   * Polled before every mini-batch, and twice as an epoch ends; true ends training with reason
   * 'cancelled'. After the epoch's last mini-batch and validation, before onEpoch: the epoch is
   * dropped like a half epoch. After onEpoch and onBest, before the resume state is built (unless
   * training ends there anyway): onLatest is skipped, so a resumed run repeats this epoch from the
   * previous resume state (same seed, same metrics and checkpoint bytes).
   */
  shouldStop?(): boolean | Promise<boolean>;
  /**
   * Called after a mini-batch at most once per `progressIntervalMs` (the first one interval into
   * training), never awaited: it may only look (training reads nothing back, so it changes no result).
   */
  onProgress?(progress: StepProgress): void;
}

export interface TrainOptions {
  /** Bytes from an earlier run's onLatest, with the same config and data: training continues from there. */
  resume?: Uint8Array | null;
  kernels?: Kernels;
  /** Extra checkpoint metadata (e.g. the job spec); the core's own keys take precedence. */
  metadata?: Record<string, string>;
  /** Fine-tuning: start from these tensors (a checkpoint's `layers.{i}.*`, and `normalize.*` when
   *  the config normalizes) instead of the random init. Ignored when `resume` is given. */
  initial?: InitialTensors | null;
  /** Hands the host a turn between mini-batches (every 50 ms of compute), so its I/O and the hooks'
   *  promises progress. Default: one macrotask (setImmediate, else a MessageChannel message, else setTimeout). */
  yieldToCaller?: YieldToCaller;
  /** Least time between two onProgress calls (default 250 ms: at most 4 a second). */
  progressIntervalMs?: number;
  /** The clock onProgress is throttled and timed by, in ms (default performance.now). */
  clock?: () => number;
}

export interface TrainResult {
  reason: StopReason;
  /** Completed epochs, and optimizer updates made in them. */
  epochs: number;
  step: number;
  /** The top-ranked epoch by the checkpoint monitor, and its metrics. */
  bestEpoch: number | null;
  best: EpochMetrics | null;
  last: EpochMetrics | null;
  /** The epoch whose weights early stopping's restoreBest put back, if it did. */
  restoredEpoch: number | null;
  /** The model training ended with (restored best weights, else the last completed epoch's), as a checkpoint (built on first read). */
  readonly checkpoint: Uint8Array;
  monitor: string;
  backend: string;
}

export async function train(
  config: TrainConfig,
  data: { train: Dataset; validation: Dataset | null },
  hooks: TrainHooks = {},
  options: TrainOptions = {},
): Promise<TrainResult> {
  const run = createRun(config, data, options.kernels ?? jsKernels, options);
  const progress = hooks.onProgress === undefined ? null : createProgressReporter(hooks.onProgress, options);
  let reason = run.stopping.stopped;
  while (reason === null && run.position.epoch < config.epochs) {
    const started = performance.now();
    reason = await trainEpoch(run, hooks, progress);
    if (reason === null) reason = await endEpoch(run, hooks, started);
  }
  return finish(run, reason ?? 'max_epochs');
}

/** One pass over the training rows in mini-batches; returns why it stopped early, or null. */
async function trainEpoch(run: TrainingRun, hooks: TrainHooks, progress: ProgressReporter | null): Promise<StopReason | null> {
  const { config, model, batches, pred, dOut, position } = run;
  const { params, outputWidth: O } = model;
  const T = run.data.train.targetWidth;
  startEpoch(position);
  orderRows(batches, config.shuffle ? position.rng : null, run.data.train.rows);
  resetMetrics(run.scores.train);
  if (progress !== null) startEpochProgress(progress);
  for (let b = 0; b < batches.count; b++) {
    const interrupted = await pause(run.pacing, hooks.shouldStop);
    if (interrupted !== null) return interrupted;
    const B = gatherBatch(batches, run.data.train, b, model.kernels);
    const { X, Y } = batches;

    const out = modelForward(model, X, B, true, position.rng); //          forward
    let loss = lossAndGradient(config.loss, out, Y, pred, dOut, B, O, T, model.kernels, run.hits); // loss (predictions, ∂L/∂out)
    modelBackward(model, dOut, B); //                                       backward (sets the grads)
    loss += applyRegularization(params, config.regularization.l1, config.regularization.l2); // regularize
    if (config.clipNorm !== null) clipByGlobalNorm(params, config.clipNorm); //                   clip
    if (!Number.isFinite(loss)) return 'diverged';
    const lr = learningRateAt(config.learningRate, position.step, position.epoch, run.stopping.plateau);
    optimizerStep(config.optimizer, params, run.optimizer, lr, model.kernels); //                 update: w −= lr·∂L/∂w

    stepTaken(position, lr);
    accumulateMetrics(run.scores.train, loss, pred, Y, B, T, run.hits[0]);
    if (progress !== null) reportProgress(progress, run.scores.train, position.epoch + 1, b + 1, batches.count);
  }
  return null;
}

/** Scores the finished epoch, runs the stopping rules, keeps the checkpoint if it ranks, and calls the hooks. */
async function endEpoch(run: TrainingRun, hooks: TrainHooks, started: number): Promise<StopReason | null> {
  const trainedAt = performance.now();
  const trained = finishMetrics(run.scores.train);
  const { validation } = run.data;
  const validated = validation === null ? null : evaluate(run, validation, run.scores.validation!);
  if ((validated !== null && !Number.isFinite(validated.loss)) || !weightsFinite(run.model.params)) return 'diverged';
  // A stop asked for during the last mini-batch or validation: nothing of this epoch is out yet.
  if (await stopRequested(run.pacing, hooks.shouldStop)) return 'cancelled';

  const metrics = epochMetrics(run, trained, validated, started, trainedAt);
  completeEpoch(run.position, run.model.params, metrics);
  const reason = applyStoppingRules(run.config, run.stopping, metrics, run.model.params);
  await hooks.onEpoch?.({ ...metrics });
  const ranked = rankEpoch(run.ranking, metrics);
  if (ranked !== null) {
    const { monitor, kept } = run.ranking;
    const bytes = checkpointOf(run, metrics);
    const { value, evicted } = ranked;
    await hooks.onBest?.({ epoch: metrics.epoch, step: metrics.step, monitor, value, bytes, kept: kept.map((k) => ({ ...k })), evicted });
  }
  // The resume state (weights, optimizer moments: several times the model) is for a run that
  // goes on; one stopped while the epoch's record and checkpoint were written does not wait for it.
  const goesOn = reason === null && run.position.epoch < run.config.epochs;
  if (goesOn && (await stopRequested(run.pacing, hooks.shouldStop))) return 'cancelled';
  await hooks.onLatest?.({ epoch: run.position.epoch, step: run.position.step, bytes: resumeBytes(run) });
  return reason;
}

/** Ends the run: drops a half-finished epoch, restores the best weights if asked; the final checkpoint is built when read. */
function finish(run: TrainingRun, reason: StopReason): TrainResult {
  const { position, ranking, model } = run;
  rollBackPartialEpoch(position, model.params);
  const restored = restoreBestWeights(run.config, run.stopping, position.epoch, model.params);
  let checkpoint: Uint8Array | null = null;
  return {
    reason,
    epochs: position.epoch,
    step: position.step,
    bestEpoch: ranking.best?.epoch ?? null,
    best: ranking.best,
    last: position.last,
    restoredEpoch: restored?.epoch ?? null,
    // Serialized when first read (the run is over, its weights no longer change): a caller that
    // keeps checkpoints through onBest never reads it, and a cancelled run ends without the wait.
    get checkpoint() {
      checkpoint ??= checkpointOf(run, restored ?? position.last);
      return checkpoint;
    },
    monitor: ranking.monitor,
    backend: model.kernels.name,
  };
}
