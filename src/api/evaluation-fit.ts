// Whether a dataset can score a checkpoint, decided from metadata before anything is queued: its
// features must be the model's input width, its targets what the model's loss compares with, and
// its rows within MAX_EPOCH_ROWS (an evaluation costs at most one training epoch's forward passes).
import type { DatasetMeta } from '../data/index.js';
import { checkpointModelOf } from '../spec/init-from.js';

/** What an evaluation needs to know of a checkpoint, from its metadata; null when it does not parse. */
export interface ScoredModel {
  inputWidth: number;
  outputWidth: number;
  loss: string;
}

export function scoredModelOf(metadata: Record<string, string>): ScoredModel | null {
  const model = checkpointModelOf(metadata);
  const last = model?.layers.at(-1);
  if (model === null || last === undefined || last.type !== 'dense') return null;
  try {
    const loss = (JSON.parse(metadata.config ?? '') as { loss?: { type?: unknown } }).loss?.type;
    return typeof loss === 'string' ? { inputWidth: model.inputWidth, outputWidth: last.units, loss } : null;
  } catch {
    return null;
  }
}

/** Why the dataset cannot score the model (a message for the `dataset` field), or null. */
export function datasetMisfit(model: ScoredModel, ds: Pick<DatasetMeta, 'rows' | 'features' | 'classes' | 'task' | 'targetWidth'>, maxRows: number): string | null {
  const O = model.outputWidth;
  if (ds.features !== model.inputWidth) return `the dataset has ${ds.features} features, the model takes ${model.inputWidth} inputs`;
  if (ds.rows > maxRows) return `the dataset has ${ds.rows} rows; an evaluation may score at most MAX_EPOCH_ROWS = ${maxRows}`;
  if (model.loss === 'softmax_cross_entropy') {
    if (ds.task !== 'classification' || ds.classes === null) return `the model is a classifier (${O} classes); the dataset is regression`;
    if (ds.targetWidth === 1 && ds.classes > O) return `the dataset has ${ds.classes} classes, the model ${O}`;
    if (ds.targetWidth !== 1 && ds.targetWidth !== O) return `the dataset's targets are ${ds.targetWidth} wide, the model has ${O} outputs`;
    return null;
  }
  if (ds.targetWidth !== O) return `the dataset's targets are ${ds.targetWidth} wide, the model has ${O} outputs (loss ${model.loss})`;
  return null;
}
