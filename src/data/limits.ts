// Limit checks shared by the parsers, so every "too large" error reads the same way.

import { DataError } from './errors.js';
import type { ParseLimits } from './types.js';

/** The service's name for ParseLimits.maxBytes, so a refusal tells the operator what to raise. */
export const BYTES_LIMIT_NAME = 'MAX_UNCOMPRESSED_BYTES';

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

/**
 * The converted dataset (float32 features and targets) must fit maxBytes too: `values` is its
 * count so far (`partial`: more rows may follow) or in total.
 */
export function checkConvertedSize(values: number, limits: ParseLimits | undefined, path = 'rows', partial = true): void {
  const bytes = 4 * values;
  if (limits?.maxBytes !== undefined && bytes > limits.maxBytes) {
    throw new DataError(
      path,
      `the converted dataset (float32 features and targets) is larger than ${BYTES_LIMIT_NAME} = ${limits.maxBytes} bytes: ${partial ? 'already ' : ''}${bytes} bytes`,
      'dataset_too_large',
    );
  }
}
