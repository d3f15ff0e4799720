import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/faults/**', 'node_modules/**', 'dist/**'],
    // TRAIND_TEST_STORAGE=s3: one s3rver for the run, and every service the helpers start keeps its objects there.
    globalSetup: ['test/helpers/storage-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: integration tests start worker processes, so files run one at a time.
    fileParallelism: false,
  },
});
