// Checkpoint ranking: the best N epochs by the checkpoint monitor, best first (ties rank the earlier
// epoch first), and the metrics of the top one. The monitor defaults to early stopping's, else
// val_loss with a validation set, else loss.

import { resolveMode, type Direction } from './early-stopping.js';
import { metricValue } from './metrics.js';
import type { EpochMetrics, TrainConfig } from './types.js';

export interface KeptCheckpoint {
  epoch: number;
  value: number;
}

export interface Ranking {
  monitor: string;
  direction: Direction;
  /** How many checkpoints to keep; 0 keeps none (the top epoch is still tracked). */
  keepBest: number;
  /** Kept checkpoints, best first. */
  kept: KeptCheckpoint[];
  /** The top-ranked epoch's metrics. */
  best: EpochMetrics | null;
}

/** What an epoch entering the kept set changed. */
export interface RankChange {
  value: number;
  /** Epochs that dropped out of the kept set. */
  evicted: number[];
}

export function createRanking(config: TrainConfig, hasValidation: boolean): Ranking {
  const { checkpoints, earlyStopping } = config;
  const monitor = checkpoints.monitor ?? earlyStopping?.monitor ?? (hasValidation ? 'val_loss' : 'loss');
  const mode = checkpoints.monitor !== null ? checkpoints.mode : (earlyStopping?.mode ?? checkpoints.mode);
  return { monitor, direction: resolveMode(monitor, mode), keepBest: checkpoints.keepBest, kept: [], best: null };
}

/** Ranks a finished epoch; returns what changed when it entered the kept set, else null. */
export function rankEpoch(ranking: Ranking, metrics: EpochMetrics): RankChange | null {
  const value = metricValue(metrics, ranking.monitor);
  if (Number.isNaN(value)) return null;
  const better = (a: number, b: number): boolean => (ranking.direction === 'min' ? a < b : a > b);
  if (ranking.best === null || better(value, metricValue(ranking.best, ranking.monitor))) ranking.best = metrics;
  const { kept, keepBest } = ranking;
  const worst = kept[kept.length - 1];
  if (keepBest === 0 || (kept.length >= keepBest && worst !== undefined && !better(value, worst.value))) return null;
  let at = kept.findIndex((k) => better(value, k.value));
  if (at < 0) at = kept.length;
  kept.splice(at, 0, { epoch: metrics.epoch, value });
  return { value, evicted: kept.splice(keepBest).map((k) => k.epoch) };
}
