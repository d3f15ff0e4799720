// Whole training steps against PyTorch (test/fixtures/train_steps.json): forward, loss plus the
// L1/L2 penalty, backward, clipping, the scheduled lr and the optimizer, composed as train.ts does.
// Float32 tolerances: penalized loss rtol 1e-5 / atol 1e-6, gradient norm rtol 1e-5, params after
// each step rtol 1e-5 / atol 1e-6. Run on every compute backend (test/core/backends.ts): the
// GEMMs and the fused element-wise kernels (activations, bias gradient, SGD step) are each backend's.

import { describe, expect, it } from 'vitest';
import { lossBackward, lossForward } from '../../src/core/losses.js';
import { createModel, modelBackward, modelForward, zeroGrads } from '../../src/core/model.js';
import { createOptimizerState, optimizerStep } from '../../src/core/optimizers.js';
import { applyRegularization, clipByGlobalNorm } from '../../src/core/regularization.js';
import { createRng } from '../../src/core/rng.js';
import { learningRateAt } from '../../src/core/schedules.js';
import type { DenseLayerConfig, LossConfig, OptimizerConfig, ScheduleConfig } from '../../src/core/types.js';
import { forEachBackend } from './backends.js';
import { expectClose, loadFixture } from './parity-helpers.js';

interface TrainStepsFixture {
  B: number;
  inputWidth: number;
  x: number[];
  targets: Record<string, { targetWidth: number; data: number[] }>;
  params: Record<string, { shape: number[]; data: number[] }>;
  cases: {
    name: string;
    layers: DenseLayerConfig[];
    loss: LossConfig;
    target: string;
    optimizer: OptimizerConfig;
    learningRate: ScheduleConfig;
    regularization: { l1: number; l2: number };
    clipNorm: number | null;
    steps: { lr: number; loss: number; gradNorm: number | null; params: Record<string, number[]> }[];
  }[];
}

const fixture = loadFixture<TrainStepsFixture>('train_steps.json');

for (const k of forEachBackend()) describe(`training steps match PyTorch end to end (${k.name}, ${k.threads} thread${k.threads > 1 ? 's' : ''})`, () => {
  for (const c of fixture.cases) {
    it(c.name, () => {
      const { B, inputWidth } = fixture;
      const X = Float32Array.from(fixture.x);
      const target = fixture.targets[c.target]!;
      const Y = Float32Array.from(target.data);
      const rng = createRng(3);
      const m = createModel(c.layers, inputWidth, c.loss, rng, k, B);
      for (const p of m.params) p.data.set(fixture.params[p.name]!.data);
      const O = m.outputWidth;
      const dOut = new Float32Array(B * O);
      const state = createOptimizerState(c.optimizer, m.params);

      c.steps.forEach((expected, step) => {
        const out = modelForward(m, X, B, true, rng);
        let loss = lossForward(c.loss, out, Y, B, O, target.targetWidth);
        zeroGrads(m);
        lossBackward(c.loss, out, Y, dOut, B, O, target.targetWidth);
        modelBackward(m, dOut, B);
        loss += applyRegularization(m.params, c.regularization.l1, c.regularization.l2);
        expect(Math.abs(loss - expected.loss), `step ${step} loss ${loss} vs ${expected.loss}`).toBeLessThanOrEqual(
          1e-6 + 1e-5 * Math.abs(expected.loss),
        );
        if (c.clipNorm !== null) {
          const norm = clipByGlobalNorm(m.params, c.clipNorm);
          expect(Math.abs(norm - expected.gradNorm!)).toBeLessThanOrEqual(1e-5 * expected.gradNorm!);
        }
        const lr = learningRateAt(c.learningRate, step, 0);
        expect(lr).toBeCloseTo(expected.lr, 12);
        optimizerStep(c.optimizer, m.params, state, lr, k);
        for (const p of m.params) expectClose(p.data, expected.params[p.name]!, 1e-5, 1e-6, `step ${step} ${p.name}`);
      });
    });
  }
});
