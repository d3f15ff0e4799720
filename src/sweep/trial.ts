// One trial, built: its proposed parameters, its job spec, and every reason that spec cannot run
// (schema, cross-field, dataset and limit checks, the objective's metric), with paths named in
// the sweep request's terms: `space.<path>` when a sampled value is at fault, else `base.<path>`.
import { metricNames } from '../core/index.js';
import { checkSubmittedSpec } from '../api/validate-spec.js';
import type { Issue } from '../api/errors.js';
import { JobSpecSchema, lossName, type JobSpec } from '../spec/job-spec.js';
import type { JobMemoryEstimate } from '../spec/memory-estimate.js';
import type { SweepSpec } from '../spec/sweep-spec.js';
import { resolveSpec } from '../spec/to-train-config.js';
import type { Store } from '../store/redis.js';
import { PathError, proposeParams, trialSeed, trialSpec, type TrialParams } from './space.js';

export interface BuiltTrial {
  trial: number;
  params: TrialParams;
  /** The resolved job spec, or null when it cannot run (see issues). */
  spec: JobSpec | null;
  issues: Issue[];
  datasetId: string | null;
  memoryEstimate: JobMemoryEstimate | null;
  /** The training dataset's input width (fine-tuning pins the parent's checkpoint against it). */
  features: number | null;
}

/** A job-spec path (dotted) → the sweep request's path that decides it. */
export function sweepPathOf(specPath: string, axes: readonly string[]): string {
  for (const axis of axes) {
    // The sampled field itself, something inside it, or the object it was set in (an unknown key there).
    if (specPath === axis || specPath.startsWith(`${axis}.`) || axis.startsWith(`${specPath}.`)) return `space.${axis}`;
  }
  return specPath === '' ? 'base' : `base.${specPath}`;
}

function objectiveIssues(spec: JobSpec, sweep: SweepSpec): Issue[] {
  const loss = lossName(spec.loss);
  const task = loss === 'softmax_cross_entropy' || loss === 'binary_cross_entropy' ? 'classification' : 'regression';
  const names = metricNames(task, spec.validation !== null);
  if (names.includes(sweep.objective.metric)) return [];
  const why = sweep.objective.metric.startsWith('val_') && spec.validation === null ? 'needs validation data in the base spec ("validation": {"fraction": 0.1})' : `is not reported for ${task}`;
  return [{ path: 'objective.metric', message: `${sweep.objective.metric} ${why}; trials report ${names.join(', ')}`, in: 'body' }];
}

/** The spec for these parameters and what is wrong with it, without the dataset checks (synchronous, cheap). */
export function shapeTrial(sweep: SweepSpec, label: string, trial: number, params: TrialParams): { spec: JobSpec | null; issues: Issue[] } {
  const axes = Object.keys(sweep.space);
  let raw: Record<string, unknown>;
  try {
    raw = trialSpec(sweep.base, params, { seed: trialSeed(sweep.seed, trial), objective: sweep.objective, name: `${label} #${trial}` });
  } catch (err) {
    if (err instanceof PathError) return { spec: null, issues: [{ path: `space.${err.path}`, message: err.message, in: 'body' }] };
    throw err;
  }
  // The checkpoint monitor the trial got from the objective: its faults are the objective's.
  const ck = sweep.base.checkpoints as { monitor?: unknown } | undefined;
  const monitorFromObjective = ck?.monitor === undefined && !('checkpoints.monitor' in params);
  const parsed = JobSpecSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => {
      const keys = i.code === 'unrecognized_keys' ? i.keys : [];
      const where = [...i.path, ...keys.slice(0, 1)].join('.');
      if (where === 'checkpoints.monitor' && monitorFromObjective) return { path: 'objective.metric', message: i.message, in: 'body' as const };
      const value = i.path.length > 0 ? sampledValue(params, i.path.join('.')) : undefined;
      const message = keys.length > 0 ? `unknown field ${keys.join(', ')}` : i.message;
      return { path: sweepPathOf(where, axes), message: value === undefined ? message : `${message} (sampled ${JSON.stringify(value).slice(0, 80)})`, in: 'body' as const };
    });
    return { spec: null, issues };
  }
  const spec = resolveSpec(parsed.data);
  return { spec, issues: objectiveIssues(spec, sweep) };
}

function sampledValue(params: TrialParams, path: string): unknown {
  return Object.prototype.hasOwnProperty.call(params, path) ? params[path] : undefined;
}

/** Trial `trial` of the sweep, proposed and checked as a submitted job would be. */
export async function buildTrial(s: Store, tenant: string, sweep: SweepSpec, label: string, trial: number): Promise<BuiltTrial> {
  const params = proposeParams(sweep, trial);
  const shaped = shapeTrial(sweep, label, trial, params);
  const none = { trial, params, spec: null, datasetId: null, memoryEstimate: null, features: null };
  if (shaped.spec === null || shaped.issues.length > 0) return { ...none, issues: shaped.issues };
  const checked = await checkSubmittedSpec(s, tenant, shaped.spec);
  if (checked.issues.length > 0) {
    const axes = Object.keys(sweep.space);
    return { ...none, issues: checked.issues.map((i) => ({ ...i, path: sweepPathOf(i.path, axes) })) };
  }
  return { trial, params, spec: shaped.spec, issues: [], datasetId: checked.datasetId, memoryEstimate: checked.memoryEstimate, features: checked.features };
}
