// Resume state: everything training needs to continue exactly where an epoch ended, as one
// safetensors file. Tensors: the weights (`layers.*`), the optimizer moments (`optimizer.*`), the
// weights restoreBest would restore (`best.layers.*`) and the standardization (`normalize.*`);
// metadata: the config and a JSON `state` with the epoch, step, RNG words and the small states of
// the schedule, early stopping, convergence test and kept-checkpoint ranking.

import type { Standardization } from './data.js';
import type { EarlyStoppingState } from './early-stopping.js';
import { CoreError } from './errors.js';
import { decodeSafetensors, encodeSafetensors, readSafetensorsMetadata, type NamedTensor } from './safetensors.js';
import type { KeptCheckpoint } from './ranking.js';
import type { PlateauState } from './schedules.js';
import type { ConvergenceState } from './stopping.js';
import type { EpochMetrics, StopReason, TrainConfig } from './types.js';

export const RESUME_FORMAT = 'traind.resume';
export const RESUME_VERSION = '1';

/** The file's JSON `state`: the loop position and the stopping and ranking states, under the
 *  names version 1 files use (`restorable` holds Stopping.bestMetrics). */
export interface ResumeState {
  /** Completed epochs (1-based count) and optimizer updates so far. */
  epoch: number;
  step: number;
  rng: number[];
  plateau: PlateauState | null;
  earlyStopping: EarlyStoppingState | null;
  convergence: ConvergenceState | null;
  /** Kept checkpoints, best first. */
  kept: KeptCheckpoint[];
  /** Metrics of the best-ranked epoch, of the last epoch, and of the epoch restoreBest would
   *  restore, as reported (their wall-clock fields are the only bytes of the file that vary between runs). */
  best: EpochMetrics | null;
  last: EpochMetrics | null;
  restorable: EpochMetrics | null;
  /** Set when the run had already decided to stop at this epoch (e.g. early stopping). */
  stopped: StopReason | null;
}

export interface ResumeTensors {
  weights: NamedTensor[];
  optimizer: NamedTensor[];
  /** Weights of the epoch restoreBest would restore, or null when there is none yet. */
  bestWeights: NamedTensor[] | null;
  normalization: Standardization | null;
}

// JSON has no ±Infinity or NaN; such numbers travel as strings.
function replacer(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
}

function reviver(_key: string, v: unknown): unknown {
  return v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v === 'NaN' ? NaN : v;
}

export function encodeResumeState(config: TrainConfig, state: ResumeState, t: ResumeTensors): Uint8Array {
  const tensors: NamedTensor[] = [...t.weights, ...t.optimizer];
  if (t.bestWeights !== null) tensors.push(...t.bestWeights.map((w) => ({ ...w, name: `best.${w.name}` })));
  if (t.normalization !== null) {
    tensors.push({ name: 'normalize.mean', shape: [t.normalization.mean.length], data: t.normalization.mean });
    tensors.push({ name: 'normalize.std', shape: [t.normalization.std.length], data: t.normalization.std });
  }
  return encodeSafetensors(tensors, {
    format: RESUME_FORMAT,
    format_version: RESUME_VERSION,
    config: JSON.stringify(config),
    state: JSON.stringify(state, replacer),
  });
}

export interface DecodedResume {
  state: ResumeState;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

/** What a resume state says of the run it continues: the epochs completed and the checkpoints kept. */
export interface ResumeSummary {
  epoch: number;
  /** Epochs of the kept checkpoints, best first. */
  kept: number[];
}

/**
 * A resume state's summary, read from its header alone; null when the bytes are not a resume state
 * this version reads (decodeResumeState then says why).
 */
export function resumeStateSummary(bytes: Uint8Array): ResumeSummary | null {
  try {
    const metadata = readSafetensorsMetadata(bytes);
    if (metadata.format !== RESUME_FORMAT || metadata.format_version !== RESUME_VERSION) return null;
    const state = JSON.parse(metadata.state ?? '') as { epoch?: unknown; kept?: unknown };
    if (!Number.isSafeInteger(state.epoch) || !Array.isArray(state.kept)) return null;
    const kept = state.kept.map((k) => (k as { epoch?: unknown } | null)?.epoch);
    if (!kept.every((e): e is number => Number.isSafeInteger(e))) return null;
    return { epoch: state.epoch as number, kept };
  } catch {
    return null;
  }
}

/** Parses resume bytes and checks they were written for this very config. */
export function decodeResumeState(bytes: Uint8Array, config: TrainConfig): DecodedResume {
  let decoded;
  try {
    decoded = decodeSafetensors(bytes);
  } catch (e) {
    throw new CoreError('resume', `resume state is unreadable: ${(e as Error).message}`);
  }
  const { tensors, metadata } = decoded;
  if (metadata.format !== RESUME_FORMAT || metadata.format_version !== RESUME_VERSION) {
    throw new CoreError('resume', `not a traind resume state of version ${RESUME_VERSION}`);
  }
  if (metadata.config !== JSON.stringify(config)) {
    throw new CoreError('resume', 'resume state was written for a different config');
  }
  let state: ResumeState;
  try {
    state = JSON.parse(metadata.state ?? '', reviver) as ResumeState;
  } catch {
    throw new CoreError('resume', 'resume state metadata "state" is not valid JSON');
  }
  if (!Number.isSafeInteger(state.epoch) || !Number.isSafeInteger(state.step) || !Array.isArray(state.kept)) {
    throw new CoreError('resume', 'resume state metadata "state" is incomplete');
  }
  return { state, tensors };
}
