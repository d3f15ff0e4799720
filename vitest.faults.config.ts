import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    passWithNoTests: true,
    globalSetup: ['test/helpers/storage-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    // Two files at a time: each starts its own API, workers and key prefix (or Redis), and their
    // bounds were set on a loaded 2-core machine. The whole pass: 330 s one at a time, 248 s two.
    maxWorkers: 2,
  },
});
