// A spare trainer's warm-up: it trains to the end when no job comes, and a job that comes stops it
// at the next mini-batch, after a turn of the event loop in which the job's message can arrive.

import { describe, expect, it } from 'vitest';
import { jsKernels } from '../../src/core/index.js';
import { warmUpTraining } from '../../workers/warm-up.js';

describe('warm-up', () => {
  it('trains to the end when no job arrives', async () => {
    expect(await warmUpTraining(jsKernels)).toBe('done');
  });

  it('stops at the mini-batch after a job arrives, having let the event loop run before each', async () => {
    let asked = 0;
    let arrived = false;
    // A "job message": an event-loop task queued now, which only a yield lets run.
    setImmediate(() => (arrived = true));
    const outcome = await warmUpTraining(jsKernels, () => {
      asked++;
      return arrived;
    });
    expect(outcome).toBe('interrupted');
    // The first check already follows a turn of the event loop, so it sees the message.
    expect(asked).toBe(1);
  });

  it('stops exactly when asked, mid-run', async () => {
    let asked = 0;
    expect(await warmUpTraining(jsKernels, () => ++asked === 5)).toBe('interrupted');
    expect(asked).toBe(5);
  });
});
