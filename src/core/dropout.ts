// Inverted dropout: in training each entry is zeroed with probability `rate` and the survivors are
// scaled by 1/(1 − rate), so evaluation is the identity. The mask is drawn from the core's Rng.

import { nextFloat, type Rng } from './rng.js';

/** Y = X ⊙ mask over the first n entries; mask holds 0 or 1/(1 − rate) (all 1 when not training). */
export function dropoutForward(
  X: Float32Array,
  Y: Float32Array,
  mask: Float32Array,
  n: number,
  rate: number,
  rng: Rng,
  training: boolean,
): void {
  if (!training || rate === 0) {
    // No draws here, so evaluation never advances the RNG.
    mask.fill(1, 0, n);
    Y.set(X.subarray(0, n));
    return;
  }
  const scale = 1 / (1 - rate);
  for (let i = 0; i < n; i++) {
    const m = nextFloat(rng) < rate ? 0 : scale;
    mask[i] = m;
    Y[i] = X[i]! * m;
  }
}

/** dX = dY ⊙ mask (overwritten). */
export function dropoutBackward(dY: Float32Array, mask: Float32Array, dX: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) dX[i] = dY[i]! * mask[i]!;
}
