// The trainer's training clock: time awaiting a wrapped hook counts as the hooks', the rest only as
// training; a hook that throws is counted and its error passed on.

import { describe, expect, it } from 'vitest';
import { startTrainingClock } from '../../workers/training-clock.js';

/** Spins the CPU for `ms` of wall time. */
function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('training clock', () => {
  it('counts the wall and CPU time of wrapped hooks within the whole span', async () => {
    const clock = startTrainingClock();
    const hook = clock.timed(async (ms: number) => {
      spin(ms);
      await sleep(ms);
    });
    spin(40); // training between hooks: the span's, not the hooks'
    await hook(20);
    await hook(20);
    const t = clock.read();
    // Two hooks each slept 20 ms and spun 20 ms of wall time.
    expect(t.hooksMs).toBeGreaterThanOrEqual(78);
    expect(t.trainMs).toBeGreaterThanOrEqual(t.hooksMs + 39);
    expect(t.hooksCpuMs).toBeGreaterThan(0);
    expect(t.trainCpuMs).toBeGreaterThanOrEqual(t.hooksCpuMs);
    // Sleeping costs no CPU: the hooks' CPU is at most their spinning (plus timer slack).
    expect(t.hooksCpuMs).toBeLessThan(t.hooksMs);
  });

  it('counts a hook that throws, and passes its error on', async () => {
    const clock = startTrainingClock();
    const failing = clock.timed(async () => {
      await sleep(15);
      throw new Error('disk full');
    });
    await expect(failing()).rejects.toThrow('disk full');
    expect(clock.read().hooksMs).toBeGreaterThanOrEqual(14);
  });

  it('reads zero hook time when no hook ran (the bench core side)', () => {
    const clock = startTrainingClock();
    spin(5);
    const t = clock.read();
    expect(t).toMatchObject({ hooksMs: 0, hooksCpuMs: 0 });
    expect(t.trainMs).toBeGreaterThanOrEqual(5);
  });
});
