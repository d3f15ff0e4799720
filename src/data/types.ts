// What every dataset source produces: the core's Dataset plus the metadata the store and the
// job spec checks need.

import type { Dataset, Task } from '../core/types.js';

export interface DatasetMeta {
  rows: number;
  features: number;
  /** Number of classes for classification (max label + 1, or the soft-target width); null for regression. */
  classes: number | null;
  task: Task;
  /** Width of each row of y: 1 for class indices or single-output regression. */
  targetWidth: number;
}

export interface LoadedDataset {
  dataset: Dataset;
  meta: DatasetMeta;
  /** Column names when the source has them (CSV header, built-ins). */
  featureNames?: string[];
  /** Class k's name when the source has names (built-ins like iris). */
  classNames?: string[];
}

/** Size limits checked while parsing, before large buffers are allocated. */
export interface ParseLimits {
  maxRows?: number;
  maxFeatures?: number;
  /**
   * Largest size in bytes of what an upload becomes: the decompressed bytes of gzipped input
   * (counted across all files of one upload) and the converted dataset (float32 features and
   * targets). The service sets it from MAX_UNCOMPRESSED_BYTES.
   */
  maxBytes?: number;
}

export interface ParseOptions {
  /** Overrides task inference (e.g. integer targets that are really a regression). */
  task?: Task;
  limits?: ParseLimits;
}
