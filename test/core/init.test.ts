// Initializers: the statistics each scheme promises, determinism, and the refusal of constant weights.

import { describe, expect, it } from 'vitest';
import { CoreError } from '../../src/core/errors.js';
import { initialize } from '../../src/core/init.js';
import { createRng } from '../../src/core/rng.js';
import type { Init } from '../../src/core/types.js';

const fanIn = 300;
const fanOut = 100;
const n = fanIn * fanOut;

function stats(init: Init, role: 'weight' | 'bias' = 'weight'): { mean: number; std: number; min: number; max: number } {
  const out = new Float32Array(n);
  initialize(out, init, fanIn, fanOut, createRng(123), role);
  let s1 = 0;
  let s2 = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of out) {
    s1 += v;
    s2 += v * v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = s1 / n;
  return { mean, std: Math.sqrt(s2 / n - mean * mean), min, max };
}

describe('initialize', () => {
  const normals: [Init, number][] = [
    ['he_normal', Math.sqrt(2 / fanIn)],
    ['lecun_normal', Math.sqrt(1 / fanIn)],
    ['xavier_normal', Math.sqrt(2 / (fanIn + fanOut))],
    [{ type: 'normal', std: 0.05 }, 0.05],
  ];
  for (const [init, std] of normals) {
    it(`${JSON.stringify(init)} has mean 0 and std ${std.toFixed(4)}`, () => {
      const s = stats(init);
      expect(Math.abs(s.mean)).toBeLessThan(0.03 * std);
      expect(Math.abs(s.std / std - 1)).toBeLessThan(0.02);
    });
  }

  const uniforms: [Init, number][] = [
    ['he_uniform', Math.sqrt(6 / fanIn)],
    ['xavier_uniform', Math.sqrt(6 / (fanIn + fanOut))],
    [{ type: 'uniform', limit: 0.2 }, 0.2],
  ];
  for (const [init, limit] of uniforms) {
    it(`${JSON.stringify(init)} is uniform on ±${limit.toFixed(4)}`, () => {
      const s = stats(init);
      expect(s.min).toBeGreaterThanOrEqual(-limit);
      expect(s.max).toBeLessThanOrEqual(limit);
      expect(s.max).toBeGreaterThan(0.99 * limit);
      expect(s.min).toBeLessThan(-0.99 * limit);
      expect(Math.abs(s.std / (limit / Math.sqrt(3)) - 1)).toBeLessThan(0.02);
    });
  }

  it('honours a normal mean', () => {
    expect(stats({ type: 'normal', std: 0.1, mean: 2 }).mean).toBeCloseTo(2, 2);
  });

  it('is deterministic in the seed', () => {
    const a = new Float32Array(100);
    const b = new Float32Array(100);
    initialize(a, 'he_normal', 10, 10, createRng(1), 'weight');
    initialize(b, 'he_normal', 10, 10, createRng(1), 'weight');
    expect(Array.from(a)).toEqual(Array.from(b));
    initialize(b, 'he_normal', 10, 10, createRng(2), 'weight');
    expect(Array.from(a)).not.toEqual(Array.from(b));
  });

  it('allows zero and constant biases', () => {
    expect(stats('zeros', 'bias')).toEqual({ mean: 0, std: 0, min: 0, max: 0 });
    const s = stats({ type: 'constant', value: 0.1 }, 'bias');
    expect(s.min).toBe(Math.fround(0.1));
    expect(s.max).toBe(Math.fround(0.1));
  });

  it('refuses zero or constant weights and says why', () => {
    const out = new Float32Array(4);
    const refused: Init[] = ['zeros', { type: 'constant', value: 0.5 }, { type: 'normal', std: 0 }, { type: 'uniform', limit: 0 }];
    for (const init of refused) {
      let error: unknown;
      try {
        initialize(out, init, 2, 2, createRng(1), 'weight', 'layers.3.init');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CoreError);
      expect((error as CoreError).path.startsWith('layers.3.init')).toBe(true);
      expect((error as CoreError).message).toMatch(/same gradient/);
    }
  });

  it('refuses non-finite or negative parameters', () => {
    const out = new Float32Array(4);
    expect(() => initialize(out, { type: 'normal', std: -1 }, 2, 2, createRng(1), 'bias')).toThrow(CoreError);
    expect(() => initialize(out, { type: 'uniform', limit: Number.NaN }, 2, 2, createRng(1), 'weight')).toThrow(CoreError);
    expect(() => initialize(out, { type: 'constant', value: Infinity }, 2, 2, createRng(1), 'bias')).toThrow(CoreError);
  });
});
