// Strict number reading shared by the text parsers: plain decimal notation only, finite, and
// within float32 range (a larger value would silently become Infinity in the Float32Array).

import { quoteInput } from './quote-input.js';

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const FLOAT32_MAX = 3.4028234663852886e38;

/** The problem with a value as a sentence fragment, or null when it is usable. */
export function numberProblem(value: number): string | null {
  if (Number.isNaN(value)) return 'is NaN';
  if (!Number.isFinite(value)) return 'is infinite';
  if (Math.abs(value) > FLOAT32_MAX) return 'is beyond the float32 range';
  return null;
}

/** Parses a CSV cell; returns the number or a description of why it is not one. */
export function parseCell(text: string): number | string {
  const t = text.trim();
  if (t === '') return 'is empty';
  if (!DECIMAL.test(t)) return `${quoteInput(t)} is not a number`;
  const v = Number(t);
  const problem = numberProblem(v);
  return problem === null ? v : `${quoteInput(t)} ${problem}`;
}
