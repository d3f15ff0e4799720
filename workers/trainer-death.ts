// Why a trainer process ended without reporting an outcome, in the words of the job's reason:
// out of memory when its stderr shows V8 or the allocator giving up, else a crash by signal or
// exit code. A SIGKILL is reported as a signal: the kernel's OOM killer and `kill -9` look the same.

/** What V8 and Node print when a heap limit or a buffer allocation is exceeded. */
const OUT_OF_MEMORY = /JavaScript heap out of memory|Reached heap limit|ERR_WORKER_OUT_OF_MEMORY|Array buffer allocation failed|Allocation failed - process out of memory/i;

export interface TrainerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The end of what the process wrote to stderr. */
  stderr: string;
  /** The --max-old-space-size it ran with, if any. */
  heapCapMiB: number | null;
}

export function describeTrainerDeath(exit: TrainerExit): string {
  const how = exit.signal !== null ? `signal ${exit.signal}` : `exit code ${exit.code ?? 'unknown'}`;
  if (OUT_OF_MEMORY.test(exit.stderr)) {
    const limit = exit.heapCapMiB !== null ? `its V8 heap limit of ${exit.heapCapMiB} MiB` : 'V8 heap limit';
    return `out of memory (the trainer reached ${limit}; ${how})`;
  }
  return `trainer crashed (${how})`;
}
