// Memory admission: jobs start only within the budget, in arrival order (a big job at the head is
// not overtaken by small ones), a job bigger than the budget is refused at once, and a waiter that
// gives up (shutdown) lets the ones behind it through.

import { describe, expect, it } from 'vitest';
import { createMemoryAdmission, DEFAULT_JOB_MEMORY_BYTES, jobMemoryBytes, JobTooBigError } from '../../workers/admission.js';

/** Lets settled promises' callbacks run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function track(p: Promise<() => void>) {
  const state: { release: (() => void) | null; error: unknown } = { release: null, error: null };
  p.then(
    (release) => (state.release = release),
    (err: unknown) => (state.error = err),
  );
  return state;
}

describe('memory admission', () => {
  it('starts jobs while they fit, then in arrival order as memory is released', async () => {
    const a = createMemoryAdmission(100);
    const first = track(a.admit(60));
    const big = track(a.admit(50));
    const small = track(a.admit(10));
    await flush();
    expect(first.release).not.toBeNull();
    // 60 + 10 would fit, but the small job arrived after the big one: it waits behind it.
    expect(big.release).toBeNull();
    expect(small.release).toBeNull();
    expect(a.inUse).toBe(60);
    expect(a.waiting).toBe(2);

    first.release?.();
    await flush();
    expect(big.release).not.toBeNull();
    expect(small.release).not.toBeNull();
    expect(a.inUse).toBe(60);

    // Releasing twice frees the memory once.
    big.release?.();
    big.release?.();
    expect(a.inUse).toBe(10);
    small.release?.();
    expect(a.inUse).toBe(0);
  });

  it('refuses at once a job larger than the whole budget, naming WORKER_MEMORY_BYTES', async () => {
    const a = createMemoryAdmission(64 * 1024 * 1024);
    const err = await a.admit(65 * 1024 * 1024).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobTooBigError);
    expect((err as Error).message).toBe(`the job needs about 65 MiB of memory, more than this worker's WORKER_MEMORY_BYTES=${64 * 1024 * 1024} (64 MiB)`);
    // A job of exactly the budget runs (alone).
    const release = await a.admit(64 * 1024 * 1024);
    expect(a.inUse).toBe(64 * 1024 * 1024);
    release();
  });

  it('a waiter aborted by shutdown leaves the line, and the ones behind it go on', async () => {
    const a = createMemoryAdmission(100);
    const running = track(a.admit(70));
    const stop = new AbortController();
    const big = track(a.admit(80, stop.signal));
    const small = track(a.admit(30));
    await flush();
    expect(small.release).toBeNull();
    stop.abort('worker shutting down');
    await flush();
    expect(big.error).toBe('worker shutting down');
    expect(small.release).not.toBeNull();
    expect(a.inUse).toBe(100);
    expect(a.waiting).toBe(0);
    running.release?.();
    small.release?.();
    expect(a.inUse).toBe(0);
  });

  it('tryAdmit reserves bytes only when they fit now with nobody waiting (a spare trainer\'s preloaded datasets)', async () => {
    const a = createMemoryAdmission(100);
    const cache = a.tryAdmit(40);
    expect(cache).not.toBeNull();
    expect(a.fits(60)).toBe(true);
    expect(a.fits(61)).toBe(false);
    expect(a.tryAdmit(61)).toBeNull();
    const job = track(a.admit(70));
    await flush();
    expect(job.release).toBeNull();
    // Nobody may jump the line, not even a reservation that would fit.
    expect(a.tryAdmit(1)).toBeNull();
    cache!();
    await flush();
    expect(job.release).not.toBeNull();
    expect(a.inUse).toBe(70);
    cache!();
    expect(a.inUse).toBe(70);
    job.release?.();
  });

  it('charges a job without an estimate a small default', () => {
    expect(jobMemoryBytes({ jobId: 'j', tenant: 't' })).toBe(DEFAULT_JOB_MEMORY_BYTES);
    expect(jobMemoryBytes({ jobId: 'j', tenant: 't', memoryBytes: 123 })).toBe(123);
  });
});
