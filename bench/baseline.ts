// Runs bench/baseline.py (PyTorch) as a knowledgeable user would: Debian's /usr/bin/python3, the
// best OpenBLAS kernel for this CPU, both thread pools pinned to the same thread count as ours,
// and OMP_WAIT_POLICY=PASSIVE with two threads. These variables are set for the baseline only.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PYTHON = '/usr/bin/python3';

/** bench/baseline.py, from src (tsx) or dist/bench. */
function scriptPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.includes(`${join('dist', 'bench')}`) ? join(here, '..', '..', 'bench', 'baseline.py') : join(here, 'baseline.py');
}

export function torchAvailable(): boolean {
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
  return r.status === 0;
}

/** SkylakeX on AVX-512 CPUs, Haswell on AVX2: Debian's OpenBLAS 0.3.21 may misdetect newer CPUs. */
export function openblasCoretype(): string | null {
  try {
    const flags = readFileSync('/proc/cpuinfo', 'utf8');
    if (/\bavx512f\b/.test(flags)) return 'SkylakeX';
    if (/\bavx2\b/.test(flags)) return 'Haswell';
  } catch {
    // Not Linux: let OpenBLAS detect.
  }
  return null;
}

export function baselineEnv(threads: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads),
  };
  const coretype = openblasCoretype();
  if (coretype !== null) env.OPENBLAS_CORETYPE = coretype;
  if (threads > 1) env.OMP_WAIT_POLICY = 'PASSIVE';
  return env;
}

export function runBaseline<T>(args: string[], threads: number): T {
  const r = spawnSync(PYTHON, [scriptPath(), ...args, '--threads', String(threads)], {
    env: baselineEnv(threads),
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`baseline.py ${args[0]} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}

/** CPU time used so far by all threads of process pid, in ns (Linux), or null. */
function processCpuNs(pid: number): number | null {
  try {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    }
    return ns;
  } catch {
    return null;
  }
}

/**
 * Resolves once process pid has used less than 0.5 ms of CPU in 10 ms (or after a second). After
 * an epoch, PyTorch's OpenBLAS worker thread spins on a core for about 100 ms before it sleeps
 * (measured here: a full core, 10 ms in every 10 ms window, for 90-110 ms after each two-thread
 * epoch), which is most of one of our batch-1024 epochs: without this wait our epochs ran with one
 * of the two cores taken.
 */
async function untilIdle(pid: number): Promise<void> {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  let before = processCpuNs(pid);
  for (let waited = 0; before !== null && waited < 1000; waited += 10) {
    await sleep(10);
    const now = processCpuNs(pid);
    if (now === null || now - before < 500_000) return;
    before = now;
  }
}

/**
 * baseline.py train --lockstep, taking turns with the caller epoch by epoch: `nextEpoch()` lets it
 * run its next epoch (the first runs at once) and resolves with that epoch's samples/s, once its
 * threads have gone idle (untilIdle); `finish()` lets it score the test set and resolves with its
 * final JSON. While the caller trains, the baseline waits on stdin, so a slow spell of the host
 * falls on one epoch of each side, not on one side, and neither side's timed epoch runs while the
 * other uses a core. (Our own helper threads spin for 0.2 ms after a product, then sleep.)
 */
export interface LockstepBaseline<T> {
  nextEpoch(): Promise<number>;
  finish(): Promise<T>;
  kill(): void;
}

export function startLockstepBaseline<T>(args: string[], threads: number): LockstepBaseline<T> {
  const child = spawn(PYTHON, [scriptPath(), ...args, '--lockstep', '--threads', String(threads)], {
    env: baselineEnv(threads),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const lines = createInterface({ input: child.stdout });
  const queued: string[] = [];
  const waiting: { resolve: (line: string) => void; reject: (err: Error) => void }[] = [];
  let ended: Error | null = null;
  lines.on('line', (line) => {
    const w = waiting.shift();
    if (w) w.resolve(line);
    else queued.push(line);
  });
  child.on('close', (code) => {
    ended = new Error(`baseline.py train --lockstep ended (${code}) before its next line: ${stderr}`);
    for (const w of waiting.splice(0)) w.reject(ended);
  });
  const nextLine = (): Promise<string> => {
    const line = queued.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (ended !== null) return Promise.reject(ended);
    return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  };
  let started = false;
  return {
    async nextEpoch() {
      if (started) child.stdin.write('go\n');
      started = true;
      const rate = (JSON.parse(await nextLine()) as { samplesPerSec: number }).samplesPerSec;
      if (child.pid !== undefined) await untilIdle(child.pid);
      return rate;
    },
    async finish() {
      child.stdin.write('go\n');
      return JSON.parse(await nextLine()) as T;
    },
    kill: () => child.kill(),
  };
}
