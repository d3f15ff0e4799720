// The test files that may run two at a time (`vitest.parallel.config.ts`): what they assert holds
// with another test file busy on the second core (results, stored state, memory, generous bounds
// such as a cancel within 2 s). The files that measure latency, CPU shares or a warm start, and the
// browser and terminal tests, run one at a time (`vitest.serial.config.ts`). On CI's 2-core machine
// this takes `npm test` from about 8.5 to 7 minutes (506 s → 226–244 s + 167–168 s).
export const parallelFiles = [
  'test/core/**/*.test.ts',
  'test/data/**/*.test.ts',
  'test/spec/**/*.test.ts',
  'test/store/**/*.test.ts',
  'test/property/**/*.test.ts',
  'test/workers/**/*.test.ts',
  'test/api/**/*.test.ts',
  'test/client/**/*.test.ts',
  'test/webhooks/**/*.test.ts',
  'test/queue/**/*.test.ts',
  'test/storage/**/*.test.ts',
  'test/dashboard/json-locate.test.ts',
  'test/dashboard/loaded-jobs.test.ts',
  'test/cli/cli.test.ts',
  'test/cli/evaluate.test.ts',
  ...[
    'evaluate', 'finetune', 'handback', 'prometheus', 'pytorch-loader', 'quota', 'retention-sweeper', 's3-retention', 's3-storage',
    'server', 'storage-full', 'storage-pass', 'sweeps', 'training', 'webhooks',
  ].map((name) => `test/integration/${name}.test.ts`),
];
