// Limit checks shared by the parsers, so every "too large" error reads the same way.

import { DataError } from './errors.js';
import type { ParseLimits } from './types.js';

export function checkRows(rows: number, limits: ParseLimits | undefined, path = 'rows'): void {
  if (limits?.maxRows !== undefined && rows > limits.maxRows) {
    throw new DataError(path, `dataset has more than ${limits.maxRows} rows (the configured limit)`, 'dataset_too_large');
  }
}

export function checkFeatures(features: number, limits: ParseLimits | undefined, path = 'features'): void {
  if (limits?.maxFeatures !== undefined && features > limits.maxFeatures) {
    throw new DataError(
      path,
      `dataset has ${features} features, more than the limit of ${limits.maxFeatures}`,
      'dataset_too_large',
    );
  }
}
