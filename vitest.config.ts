import { defineConfig } from 'vitest/config';

// Every test but the fault tests, one file at a time: what `npx vitest run <file>` uses. `npm test`
// runs the same files in two passes (vitest.parallel.config.ts, then vitest.serial.config.ts).
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
