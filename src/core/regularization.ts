// Weight penalties (Keras convention: l2·Σw² + l1·Σ|w|, weights only, never biases) and
// gradient clipping by global norm (torch.nn.utils.clip_grad_norm_).

import { CoreError } from './errors.js';
import type { Param } from './model.js';

/** Adds the penalty's gradient (2·l2·w + l1·sign(w)) to every weight's grad and returns the
 *  penalty to add to the batch's mean loss. sign(0) = 0, as tf.sign and torch.sign. */
export function applyRegularization(params: Param[], l1: number, l2: number): number {
  if (l1 === 0 && l2 === 0) return 0;
  let sumSq = 0;
  let sumAbs = 0;
  const twoL2 = 2 * l2;
  for (const p of params) {
    if (!p.isWeight) continue;
    const w = p.data;
    const g = p.grad;
    for (let i = 0; i < w.length; i++) {
      const wi = w[i]!;
      sumSq += wi * wi;
      sumAbs += Math.abs(wi);
      g[i] = g[i]! + twoL2 * wi + l1 * Math.sign(wi);
    }
  }
  return l2 * sumSq + l1 * sumAbs;
}

/** The penalty alone (no gradient), e.g. for a validation loss reported like Keras's. */
export function regularizationPenalty(params: readonly Param[], l1: number, l2: number): number {
  if (l1 === 0 && l2 === 0) return 0;
  let sumSq = 0;
  let sumAbs = 0;
  for (const p of params) {
    if (!p.isWeight) continue;
    const w = p.data;
    for (let i = 0; i < w.length; i++) {
      sumSq += w[i]! * w[i]!;
      sumAbs += Math.abs(w[i]!);
    }
  }
  return l2 * sumSq + l1 * sumAbs;
}

/** Scales all grads by maxNorm / (‖g‖ + 1e-6) when that is below 1, as clip_grad_norm_ does;
 *  returns the norm before clipping. A non-finite norm leaves the grads alone (the caller sees
 *  it in the returned value and the loss) where PyTorch would turn every gradient into NaN. */
export function clipByGlobalNorm(params: Param[], maxNorm: number): number {
  let sumSq = 0;
  for (const p of params) {
    const g = p.grad;
    for (let i = 0; i < g.length; i++) sumSq += g[i]! * g[i]!;
  }
  const norm = Math.sqrt(sumSq);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    for (const p of params) {
      const g = p.grad;
      for (let i = 0; i < g.length; i++) g[i] = g[i]! * coef;
    }
  }
  return norm;
}

export function validateRegularization(
  regularization: { l1: number; l2: number },
  clipNorm: number | null,
  path = 'regularization',
): void {
  for (const field of ['l1', 'l2'] as const) {
    const value = regularization[field];
    if (!Number.isFinite(value) || value < 0) {
      throw new CoreError(`${path}.${field}`, `${field} must be >= 0, got ${value}`);
    }
  }
  if (clipNorm !== null && (!Number.isFinite(clipNorm) || clipNorm <= 0)) {
    throw new CoreError('clipNorm', `clipNorm must be > 0, got ${clipNorm}`);
  }
}
