// What a job writes into every checkpoint's metadata besides the core's own keys: the resolved
// spec, how the dataset's values became the model's inputs, and the class names when the dataset
// has them. Only what follows from the spec and the dataset, so the same run writes the same bytes.
import type { JobSpec } from './job-spec.js';

/** Where the training rows came from: an upload's format, or a built-in. */
export interface DatasetSource {
  format: string;
  classNames: readonly string[] | null;
}

/**
 * `input_scaling`: "divide_by_255" when the rows were IDX bytes (value / 255), else "none"
 * (CSV and JSON numbers, built-ins: as given). `normalize` in the config says whether the
 * standardization in `normalize.mean`/`normalize.std` follows.
 */
export function inputScaling(format: string): 'divide_by_255' | 'none' {
  return format === 'idx' ? 'divide_by_255' : 'none';
}

export function checkpointMetadata(spec: JobSpec, source: DatasetSource): Record<string, string> {
  return {
    spec: JSON.stringify(spec),
    input_scaling: inputScaling(source.format),
    ...(source.classNames !== null ? { class_names: JSON.stringify(source.classNames) } : {}),
  };
}
