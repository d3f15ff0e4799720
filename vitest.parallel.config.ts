import { defineConfig } from 'vitest/config';
import { parallelFiles } from './test/helpers/parallel-files.js';

// The files of test/helpers/parallel-files.ts, two at a time (vitest's default on 2 cores is one).
export default defineConfig({
  test: {
    include: parallelFiles,
    globalSetup: ['test/helpers/storage-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
  },
});
