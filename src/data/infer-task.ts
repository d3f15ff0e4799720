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
  const classes = targetWidth === 1 ? classIndexCount(y, rows) : distributionWidth(y, rows, targetWidth);
  if (task === 'regression') return { task, classes: null };
  if (classes === null) {
    if (task === 'classification') {
      throw new DataError(
        'label',
        targetWidth === 1
          ? `task "classification" needs integer class labels in [0, ${MAX_CLASSES}); the labels are not`
          : 'task "classification" needs each label row to be a probability distribution (values in [0, 1] summing to 1); they are not',
      );
    }
    return { task: 'regression', classes: null };
  }
  return { task: 'classification', classes };
}

/** max + 1 if every label is a non-negative integer below MAX_CLASSES, else null. */
function classIndexCount(y: Float32Array, rows: number): number | null {
  let max = -1;
  for (let i = 0; i < rows; i++) {
    const v = y[i] as number;
    if (!Number.isInteger(v) || v < 0 || v >= MAX_CLASSES) return null;
    if (v > max) max = v;
  }
  return rows === 0 ? null : max + 1;
}

function distributionWidth(y: Float32Array, rows: number, width: number): number | null {
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let c = 0; c < width; c++) {
      const v = y[r * width + c] as number;
      if (v < 0 || v > 1) return null;
      sum += v;
    }
    if (Math.abs(sum - 1) > SUM_TOLERANCE) return null;
  }
  return rows === 0 ? null : width;
}
