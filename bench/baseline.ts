// Runs bench/baseline.py (PyTorch) as a knowledgeable user would: Debian's /usr/bin/python3, the
// best OpenBLAS kernel for this CPU, both thread pools pinned to the same thread count as ours,
// and OMP_WAIT_POLICY=PASSIVE with two threads. These variables are set for the baseline only.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
