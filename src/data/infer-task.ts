// Decides classification vs regression from the targets, the one rule every parser shares:
//   - one target per row, every value an integer in [0, MAX_CLASSES) → classification,
//     classes = max label + 1 (labels are class indices);
//   - several targets per row, every row a probability distribution (values in [0, 1] summing
//     to 1 within 1e-3, one-hot included) → classification with soft targets, classes = width;
//   - anything else → regression (single- or multi-output).
// A caller that knows better passes `task` (e.g. integer-valued regression targets); forcing
// classification onto targets that are not class indices or distributions is refused.

import type { Task } from '../core/types.js';
import { DataError } from './errors.js';

/** Integer labels at or above this are treated as regression targets, not class indices. */
export const MAX_CLASSES = 1000;

const SUM_TOLERANCE = 1e-3;

export interface TargetDescription {
  task: Task;
  classes: number | null;
}

export function describeTargets(y: Float32Array, rows: number, targetWidth: number, task?: Task): TargetDescription {
  const stats = new TargetStats(targetWidth);
  for (let i = 0; i < rows * targetWidth; i++) stats.push(y[i] as number);
  return stats.describe(rows, task);
}

/**
 * What describeTargets needs to know of the targets, gathered one value at a time (row after row),
 * so a streamed upload can decide the task without keeping them.
 */
export class TargetStats {
  private classIndices = true;
  private max = -1;
  private distributions = true;
  private column = 0;
  private sum = 0;

  constructor(private readonly width: number) {}

  push(v: number): void {
    if (this.width === 1) {
      if (!Number.isInteger(v) || v < 0 || v >= MAX_CLASSES) this.classIndices = false;
      else if (v > this.max) this.max = v;
      return;
    }
    if (v < 0 || v > 1) this.distributions = false;
    this.sum += v;
    if (++this.column === this.width) {
      if (Math.abs(this.sum - 1) > SUM_TOLERANCE) this.distributions = false;
      this.column = 0;
      this.sum = 0;
    }
  }

  describe(rows: number, task?: Task): TargetDescription {
    let classes: number | null = null;
    if (rows > 0) {
      if (this.width === 1 && this.classIndices) classes = this.max + 1;
      else if (this.width > 1 && this.distributions) classes = this.width;
    }
    if (task === 'regression') return { task, classes: null };
    if (classes === null) {
      if (task === 'classification') {
        throw new DataError(
          'label',
          this.width === 1
            ? `task "classification" needs integer class labels in [0, ${MAX_CLASSES}); the labels are not`
            : 'task "classification" needs each label row to be a probability distribution (values in [0, 1] summing to 1); they are not',
        );
      }
      return { task: 'regression', classes: null };
    }
    return { task: 'classification', classes };
  }
}
