// Wall and CPU time of a job's training (CPU over all the process's threads, the native GEMM pool's
// included), and how much of it went to the per-epoch hooks (metrics records, checkpoint and
// resume-state writes). The trainer logs it when training ends; the bench's core side measures the
// same span the same way, without hooks, so the two compare like for like.

export interface TrainingTime {
  /** The whole train() call: wall-clock milliseconds, and CPU milliseconds (user + system). */
  trainMs: number;
  trainCpuMs: number;
  /** Of that, the time spent awaiting the per-epoch hooks. */
  hooksMs: number;
  hooksCpuMs: number;
}

export interface TrainingClock {
  /** `hook`, with the time until its promise settles counted as the hooks'. */
  timed<A extends unknown[]>(hook: (...args: A) => Promise<void>): (...args: A) => Promise<void>;
  read(): TrainingTime;
}

const cpuMs = (since?: NodeJS.CpuUsage) => {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
};

export function startTrainingClock(): TrainingClock {
  const wallFrom = performance.now();
  const cpuFrom = process.cpuUsage();
  let hooksMs = 0;
  let hooksCpuMs = 0;
  return {
    timed: (hook) => async (...args) => {
      const wall = performance.now();
      const cpu = process.cpuUsage();
      try {
        await hook(...args);
      } finally {
        hooksMs += performance.now() - wall;
        hooksCpuMs += cpuMs(cpu);
      }
    },
    read: () => ({
      trainMs: Math.round(performance.now() - wallFrom),
      trainCpuMs: Math.round(cpuMs(cpuFrom)),
      hooksMs: Math.round(hooksMs),
      hooksCpuMs: Math.round(hooksCpuMs),
    }),
  };
}
