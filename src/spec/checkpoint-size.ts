// How many bytes one checkpoint of a spec takes, known at submission: the quota check refuses a
// job whose first checkpoint could not fit.
import type { JobSpec } from './job-spec.js';
import { parameterCount } from './to-train-config.js';

/**
 * The tensor bytes of one checkpoint on `features` inputs: float32 weights and biases, plus the
 * normalization's mean and std. A lower bound (the JSON header adds a few kilobytes), so a job is
 * never refused for a checkpoint that would have fit.
 */
export function checkpointTensorBytes(spec: JobSpec, features: number): number {
  return 4 * (parameterCount(spec, features) + (spec.normalize === 'standard' ? 2 * features : 0));
}
