import { defineConfig } from 'vitest/config';
import { parallelFiles } from './test/helpers/parallel-files.js';

// `npm test`'s second pass: the files that measure latency, CPU shares or a warm start, or drive a
// browser or a terminal, one at a time (the first pass, vitest.parallel.config.ts, runs the rest
// two at a time).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/faults/**', 'node_modules/**', 'dist/**', ...parallelFiles],
    globalSetup: ['test/helpers/storage-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
