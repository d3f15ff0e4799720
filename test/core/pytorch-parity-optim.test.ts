// Optimizer steps, gradient clipping and L1/L2 penalties against PyTorch (test/fixtures/*.json,
// written by make_fixtures.py). Float32 tolerances: params rtol 1e-5 / atol 1e-6 after each of
// 5 steps; optimizer moments rtol 1e-5 / atol 1e-6 × the tensor's largest |value| (a moment element
// can be a near-cancelling sum, where float32 rounding of torch's two-op updates is absolute, not
// relative); clipping and penalties rtol 1e-6 / atol 1e-7. Optimizer steps run on every compute
// backend (a backend may fuse the SGD step).

import { describe, expect, it } from 'vitest';
import {
  createOptimizerState,
  optimizerStateTensors,
  optimizerStep,
  restoreOptimizerState,
  type MomentName,
  type OptimizerState,
} from '../../src/core/optimizers.js';
import { applyRegularization, clipByGlobalNorm } from '../../src/core/regularization.js';
import type { OptimizerConfig } from '../../src/core/types.js';
import { forEachBackend } from './backends.js';
import { expectClose, loadFixture } from './parity-helpers.js';

interface FixtureParam {
  name: string;
  shape: number[];
  isWeight: boolean;
  data: number[];
}

interface OptimizerFixture {
  params: FixtureParam[];
  grads: Record<string, number[]>[];
  cases: {
    name: string;
    config: OptimizerConfig;
    steps: {
      lr: number;
      params: Record<string, number[]>;
      state: Record<string, Partial<Record<MomentName, number[]>>>;
    }[];
  }[];
}

const PARAM_RTOL = 1e-5;
const PARAM_ATOL = 1e-6;
const STATE_RTOL = 1e-5;
const STATE_ATOL_SCALE = 1e-6;

const fixture = loadFixture<OptimizerFixture>('optimizers.json');

function freshParams(): { name: string; shape: number[]; isWeight: boolean; data: Float32Array; grad: Float32Array }[] {
  return fixture.params.map((p) => ({
    name: p.name,
    shape: p.shape,
    isWeight: p.isWeight,
    data: Float32Array.from(p.data),
    grad: new Float32Array(p.data.length),
  }));
}

describe('optimizers match torch.optim', () => {
  for (const c of fixture.cases) for (const k of forEachBackend()) {
    it(`${c.name}: 5 steps (${k.name}, ${k.threads} thread${k.threads > 1 ? 's' : ''})`, () => {
      const params = freshParams();
      let state: OptimizerState = createOptimizerState(c.config, params);
      c.steps.forEach((step, s) => {
        for (const p of params) p.grad.set(fixture.grads[s]![p.name]!);
        optimizerStep(c.config, params, state, step.lr, k);
        for (const p of params) {
          expectClose(p.data, step.params[p.name]!, PARAM_RTOL, PARAM_ATOL, `${c.name} step ${s + 1} ${p.name}`);
          const moments = state.moments.find((m) => m.name === p.name)!;
          const expectedMoments = step.state[p.name]!;
          // Every moment torch keeps we keep too, under our name, and no other.
          expect(Object.keys(moments).filter((k) => k !== 'name' && k !== 'shape').sort()).toEqual(
            Object.keys(expectedMoments).sort(),
          );
          for (const [name, values] of Object.entries(expectedMoments)) {
            const atol = STATE_ATOL_SCALE * Math.max(...values.map(Math.abs));
            expectClose(moments[name as MomentName]!, values, STATE_RTOL, atol, `${c.name} step ${s + 1} ${p.name}.${name}`);
          }
        }
        expect(state.t).toBe(s + 1);
        // Resuming halfway through goes on exactly as if never interrupted.
        if (s === 1) {
          const tensors = optimizerStateTensors(state);
          const saved = new Map(tensors.map((t) => [t.name, { shape: t.shape, data: Float32Array.from(t.data) }]));
          state = restoreOptimizerState(c.config, params, saved);
          expect(state.t).toBe(2);
        }
      });
    });
  }
});

interface ClipFixture {
  params: { name: string; shape: number[]; grad: number[] }[];
  cases: { maxNorm: number; norm: number; grads: Record<string, number[]> }[];
}

describe('clipByGlobalNorm matches torch.nn.utils.clip_grad_norm_', () => {
  const clip = loadFixture<ClipFixture>('clip.json');
  for (const c of clip.cases) {
    it(`maxNorm ${c.maxNorm}`, () => {
      const params = clip.params.map((p) => ({
        name: p.name,
        shape: p.shape,
        isWeight: true,
        data: new Float32Array(p.grad.length),
        grad: Float32Array.from(p.grad),
      }));
      const norm = clipByGlobalNorm(params, c.maxNorm);
      expect(Math.abs(norm - c.norm)).toBeLessThanOrEqual(1e-7 + 1e-6 * c.norm);
      for (const p of params) expectClose(p.grad, c.grads[p.name]!, 1e-6, 1e-7, `maxNorm ${c.maxNorm} ${p.name}`);
    });
  }
});

interface RegularizationFixture {
  params: (FixtureParam & { grad: number[] })[];
  cases: { l1: number; l2: number; penalty: number; grads: Record<string, number[]> }[];
}

describe('applyRegularization matches the Keras-convention penalty under torch autograd', () => {
  const reg = loadFixture<RegularizationFixture>('regularization.json');
  for (const c of reg.cases) {
    it(`l1 ${c.l1}, l2 ${c.l2}`, () => {
      const params = reg.params.map((p) => ({
        name: p.name,
        shape: p.shape,
        isWeight: p.isWeight,
        data: Float32Array.from(p.data),
        grad: Float32Array.from(p.grad),
      }));
      const penalty = applyRegularization(params, c.l1, c.l2);
      expect(Math.abs(penalty - c.penalty)).toBeLessThanOrEqual(1e-7 + 1e-6 * c.penalty);
      for (const p of params) expectClose(p.grad, c.grads[p.name]!, 1e-6, 1e-7, `${p.name}`);
    });
  }
});
