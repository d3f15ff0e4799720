// Learning-rate schedules against the Keras formulas (and torch.optim.lr_scheduler where it
// computes the same thing), 200 steps each, and reduce_on_plateau against Keras's callback.
// Both sides compute in float64: tolerance rtol 1e-9 / atol 1e-12.

import { describe, expect, it } from 'vitest';
import { createPlateauState, learningRateAt, plateauUpdate, type PlateauConfig } from '../../src/core/schedules.js';
import type { ScheduleConfig } from '../../src/core/types.js';
import { expectClose, loadFixture } from './parity-helpers.js';

const RTOL = 1e-9;
const ATOL = 1e-12;

interface ScheduleFixture {
  stepsPerEpoch: number;
  cases: { name: string; config: ScheduleConfig; reference: string; lr: number[] }[];
}

interface PlateauFixture {
  cases: {
    name: string;
    config: PlateauConfig;
    values: number[];
    lr: number[];
    final: { lr: number; best: number | null; wait: number; cooldownCounter: number };
  }[];
}

describe('schedules match Keras / torch.optim.lr_scheduler over 200 steps', () => {
  const fixture = loadFixture<ScheduleFixture>('schedules.json');
  it('covers every schedule kind, with and without warm-up', () => {
    const kinds = new Set(fixture.cases.map((c) => c.config.schedule));
    expect([...kinds].sort()).toEqual(['constant', 'cosine', 'exponential', 'inverse_time', 'polynomial', 'step']);
    expect(fixture.cases.some((c) => c.config.warmupSteps > 0)).toBe(true);
  });
  for (const c of fixture.cases) {
    it(c.name, () => {
      const ours = c.lr.map((_, step) => learningRateAt(c.config, step, Math.floor(step / fixture.stepsPerEpoch)));
      expectClose(ours, c.lr, RTOL, ATOL, c.name);
    });
  }
});

describe('reduce_on_plateau matches keras.callbacks.ReduceLROnPlateau', () => {
  const fixture = loadFixture<PlateauFixture>('plateau.json');
  for (const c of fixture.cases) {
    it(c.name, () => {
      let state = createPlateauState(c.config);
      const lrs: number[] = [];
      c.values.forEach((v, epoch) => {
        lrs.push(plateauUpdate(c.config, state, v));
        // The state goes through JSON (the resume file) halfway and carries on unchanged.
        if (epoch === 11) state = JSON.parse(JSON.stringify(state)) as typeof state;
        expect(learningRateAt(c.config, 1000, epoch, state)).toBe(state.lr);
      });
      expectClose(lrs, c.lr, RTOL, ATOL, c.name);
      expect(state).toEqual(c.final);
    });
  }
});
