// Shared by the parser tests: run a parse expected to fail and return its DataError.
import { DataError } from '../../src/data/index.js';

export function dataError(fn: () => unknown): DataError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DataError) return err;
    throw err;
  }
  throw new Error('expected a DataError');
}
