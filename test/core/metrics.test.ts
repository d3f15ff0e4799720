import { describe, expect, it } from 'vitest';
import { accumulateMetrics, columnMeans, createMetrics, finishMetrics, resetMetrics, scorePredictions, taskOf } from '../../src/core/metrics.js';

const f32 = (a: number[]) => Float32Array.from(a);

describe('metrics', () => {
  it('knows classification from regression by the loss', () => {
    expect(taskOf({ type: 'softmax_cross_entropy' })).toBe('classification');
    expect(taskOf({ type: 'binary_cross_entropy' })).toBe('classification');
    expect(taskOf({ type: 'huber', delta: 1 })).toBe('regression');
  });

  it('scores softmax accuracy against integer labels and against soft targets', () => {
    const pred = f32([0.7, 0.2, 0.1, 0.1, 0.3, 0.6, 0.5, 0.4, 0.1]);
    expect(scorePredictions({ type: 'softmax_cross_entropy' }, pred, f32([0, 2, 1]), 3, 3, 1).accuracy).toBeCloseTo(2 / 3, 12);
    const soft = f32([0.9, 0.05, 0.05, 0.2, 0.3, 0.5, 0.6, 0.2, 0.2]);
    expect(scorePredictions({ type: 'softmax_cross_entropy' }, pred, soft, 3, 3, 3).accuracy).toBe(1);
  });

  it('thresholds each binary output at 0.5', () => {
    const pred = f32([0.9, 0.4, 0.51, 0.5]);
    const y = f32([1, 0, 0, 1]);
    // 0.9→1 ✓, 0.4→0 ✓, 0.51→1 ✗, 0.5→0 ✗ (strictly greater than 0.5 is positive)
    expect(scorePredictions({ type: 'binary_cross_entropy' }, pred, y, 2, 2, 2).accuracy).toBe(0.5);
  });

  it('computes MAE, RMSE and R² like sklearn (uniform average over columns)', () => {
    const y = f32([1, 10, 2, 20, 3, 30, 4, 40]);
    const pred = f32([1.5, 10, 2, 22, 2.5, 30, 4, 37]);
    const m = scorePredictions({ type: 'mse' }, pred, y, 4, 2, 2);
    expect(m.mae).toBeCloseTo((0.5 + 0 + 0 + 2 + 0.5 + 0 + 0 + 3) / 8, 10);
    expect(m.rmse).toBeCloseTo(Math.sqrt((0.25 + 4 + 0.25 + 9) / 8), 10);
    // sklearn.metrics.r2_score([[1,10],[2,20],[3,30],[4,40]], [[1.5,10],[2,22],[2.5,30],[4,37]]) = 0.871
    expect(m.r2).toBeCloseTo((1 - 0.5 / 5 + (1 - 13 / 500)) / 2, 10);
    expect(m.accuracy).toBeUndefined();
  });

  it('gives a constant target column R² 1 when fit exactly and 0 otherwise', () => {
    expect(scorePredictions({ type: 'mae' }, f32([2, 2]), f32([2, 2]), 2, 1, 1).r2).toBe(1);
    expect(scorePredictions({ type: 'mae' }, f32([2, 3]), f32([2, 2]), 2, 1, 1).r2).toBe(0);
  });

  it('accumulates batches into the same numbers as one pass, weighting loss by batch size', () => {
    const y = f32([1, 2, 3, 4, 5]);
    const pred = f32([1.1, 1.8, 3.3, 4, 4.5]);
    const acc = createMetrics({ type: 'mse' }, 1, columnMeans(y, 5, 1));
    accumulateMetrics(acc, 4, pred.subarray(0, 2), y.subarray(0, 2), 2, 1);
    accumulateMetrics(acc, 1, pred.subarray(2), y.subarray(2), 3, 1);
    const m = finishMetrics(acc);
    expect(m.loss).toBeCloseTo((4 * 2 + 1 * 3) / 5, 12);
    const whole = scorePredictions({ type: 'mse' }, pred, y, 5, 1, 1);
    expect(m.r2).toBeCloseTo(whole.r2!, 12);
    expect(m.rmse).toBeCloseTo(whole.rmse!, 12);
    resetMetrics(acc);
    expect(Number.isNaN(finishMetrics(acc).loss)).toBe(true);
  });
});
