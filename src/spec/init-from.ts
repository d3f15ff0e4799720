// Fine-tuning's shape rule: a spec with `initFrom` must build a model whose every tensor has the
// shape of the checkpoint's (same input width, the same layers in the same places, units and
// useBias equal) and normalize its inputs the same way. Activations, dropout rates, inits, loss,
// optimizer, schedule and data may differ. Issues name the first mismatching field.
import type { JobSpec, SpecIssue } from './job-spec.js';

/** The model a checkpoint holds, as its metadata describes it. */
export interface CheckpointModel {
  layers: ({ type: 'dense'; units: number; useBias: boolean } | { type: 'dropout' })[];
  inputWidth: number;
  normalize: 'none' | 'standard';
}

function describeLayer(l: CheckpointModel['layers'][number] | JobSpec['model']['layers'][number]): string {
  return l.type === 'dense' ? `a dense layer of ${l.units} units` : 'a dropout layer';
}

/** Issues with the child's spec against its parent checkpoint, on a dataset of `features` inputs. */
export function checkInitFrom(spec: JobSpec, features: number, parent: CheckpointModel): SpecIssue[] {
  if (features !== parent.inputWidth) {
    return [{ path: ['dataset'], message: `initFrom: the dataset has ${features} features, the checkpoint's model takes ${parent.inputWidth} inputs` }];
  }
  const layers = spec.model.layers;
  for (let i = 0; i < Math.min(layers.length, parent.layers.length); i++) {
    const mine = layers[i]!;
    const theirs = parent.layers[i]!;
    const at = `layer ${i} (model.layers.${i})`;
    if (mine.type !== theirs.type) {
      return [{ path: ['model', 'layers', i, 'type'], message: `initFrom: ${at} is ${describeLayer(mine)}, the checkpoint's is ${describeLayer(theirs)}` }];
    }
    if (mine.type === 'dense' && theirs.type === 'dense') {
      if (mine.units !== theirs.units) {
        return [{ path: ['model', 'layers', i, 'units'], message: `initFrom: ${at} has ${mine.units} units, the checkpoint's has ${theirs.units}` }];
      }
      if (mine.useBias !== theirs.useBias) {
        const has = (b: boolean) => (b ? 'has a bias' : 'has no bias');
        return [{ path: ['model', 'layers', i, 'useBias'], message: `initFrom: ${at} ${has(mine.useBias)}, the checkpoint's ${has(theirs.useBias)}` }];
      }
    }
  }
  if (layers.length !== parent.layers.length) {
    return [{ path: ['model', 'layers'], message: `initFrom: the model has ${layers.length} layers, the checkpoint's has ${parent.layers.length}` }];
  }
  if (spec.normalize !== parent.normalize) {
    const why =
      parent.normalize === 'standard'
        ? 'the checkpoint standardizes its inputs with the mean and std it stores: set "normalize": "standard" to keep them'
        : 'the checkpoint takes its inputs as they are: set "normalize": "none"';
    return [{ path: ['normalize'], message: `initFrom: ${why}` }];
  }
  return [];
}

/** The model described by a checkpoint's `config` and `input_width` metadata, or null when they do not parse. */
export function checkpointModelOf(metadata: Record<string, string>): CheckpointModel | null {
  try {
    const config = JSON.parse(metadata.config ?? '') as { layers?: unknown; normalize?: unknown };
    const inputWidth = Number(metadata.input_width);
    if (!Array.isArray(config.layers) || !Number.isSafeInteger(inputWidth)) return null;
    const layers: CheckpointModel['layers'] = [];
    for (const l of config.layers as { type?: unknown; units?: unknown; useBias?: unknown }[]) {
      if (l.type === 'dropout') layers.push({ type: 'dropout' });
      else if (l.type === 'dense' && typeof l.units === 'number') layers.push({ type: 'dense', units: l.units, useBias: l.useBias !== false });
      else return null;
    }
    return { layers, inputWidth, normalize: config.normalize === 'standard' ? 'standard' : 'none' };
  } catch {
    return null;
  }
}
