import { describe, expect, it } from 'vitest';
import { describeTargets, MAX_CLASSES } from '../../src/data/index.js';

describe('describeTargets', () => {
  it('integer labels are class indices: classes = max + 1', () => {
    expect(describeTargets(Float32Array.from([0, 4, 2]), 3, 1)).toEqual({ task: 'classification', classes: 5 });
  });

  it('fractional, negative or huge labels are regression', () => {
    expect(describeTargets(Float32Array.from([0, 1.5]), 2, 1).task).toBe('regression');
    expect(describeTargets(Float32Array.from([-1, 1]), 2, 1).task).toBe('regression');
    expect(describeTargets(Float32Array.from([0, MAX_CLASSES]), 2, 1).task).toBe('regression');
  });

  it('rows that are distributions are soft classification targets', () => {
    expect(describeTargets(Float32Array.from([0.25, 0.75, 0, 1]), 2, 2)).toEqual({ task: 'classification', classes: 2 });
    expect(describeTargets(Float32Array.from([0.5, 0.6, 0, 1]), 2, 2).task).toBe('regression');
  });

  it('a regression override drops the classes; a classification override must fit', () => {
    expect(describeTargets(Float32Array.from([0, 1]), 2, 1, 'regression')).toEqual({ task: 'regression', classes: null });
    expect(() => describeTargets(Float32Array.from([0.5]), 1, 1, 'classification')).toThrow(/integer class labels/);
  });
});
