// How a dead trainer's job reason is worded, from real process deaths: a V8 heap exhausted under
// --max-old-space-size, a SIGKILL, an exit code; and a buffer that cannot be allocated.

import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isAllocationFailure } from '../../src/allocation-failure.js';
import { describeTrainerDeath } from '../../workers/trainer-death.js';

function run(args: string[], kill?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c: string) => (stderr += c));
  if (kill) setTimeout(() => child.kill(kill), 200);
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
}

describe('describeTrainerDeath', () => {
  it('says out of memory when V8 reached the heap cap', async () => {
    const exit = await run(['--max-old-space-size=16', '-e', 'const a = []; for (;;) a.push({ x: Math.random(), y: [1, 2, 3] });']);
    expect(describeTrainerDeath({ ...exit, heapCapMiB: 16 })).toMatch(/^out of memory \(the trainer reached its V8 heap limit of 16 MiB; (signal SIGABRT|exit code 134)\)$/);
  });

  it('says crashed, with the signal or the exit code, otherwise', async () => {
    const killed = await run(['-e', 'setInterval(() => {}, 1000)'], 'SIGKILL');
    expect(describeTrainerDeath({ ...killed, heapCapMiB: null })).toBe('trainer crashed (signal SIGKILL)');
    const exited = await run(['-e', 'process.exit(3)']);
    expect(describeTrainerDeath({ ...exited, heapCapMiB: null })).toBe('trainer crashed (exit code 3)');
  });

  it('recognises a buffer allocation that failed', () => {
    let err: unknown = null;
    try {
      new ArrayBuffer(2 ** 52);
    } catch (e) {
      err = e;
    }
    expect(isAllocationFailure(err)).toBe(true);
    expect(isAllocationFailure(new RangeError('Invalid array length'))).toBe(false);
  });
});
