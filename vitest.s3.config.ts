// The S3 pass (`npm run test:s3`): the API, integration and fault tests whose checks involve stored
// objects run again, with every service the test helpers start keeping its datasets, checkpoints
// and resume states in one s3rver on loopback (TRAIND_TEST_STORAGE=s3; test/helpers/storage-setup.ts
// starts it for the run). What runs once only is listed below with why (the README says the same).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/api/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/faults/**/*.test.ts'],
    exclude: [
      'node_modules/**',
      'dist/**',
      // On S3 in every pass already (each starts its own s3rver).
      'test/integration/s3-*.test.ts',
      'test/integration/upload-memory.test.ts',
      'test/faults/s3-*.test.ts',
      'test/faults/many-hosts.test.ts',
      // About the local directory itself: a full DATA_DIR volume, file ages under DATA_DIR.
      'test/integration/storage-full.test.ts',
      'test/integration/retention-sweeper.test.ts',
      // What these check is Redis state, HTTP/SSE mechanics, metrics, webhooks or process control,
      // not an object: with them the S3 pass would not fit CI's 15 minutes on a 2-core machine.
      ...[
        'conformance', 'dashboard-static', 'event-hub', 'http-edges', 'jobs', 'memory-limit', 'openapi',
        'prometheus', 'sse-shared-connections', 'sweep-events-live', 'sweeps', 'unavailable', 'webhooks',
      ].map((name) => `test/api/${name}.test.ts`),
      ...['progress', 'prometheus', 'server', 'spare-trainer', 'threads', 'webhooks'].map((name) => `test/integration/${name}.test.ts`),
      ...['admission', 'api-kill', 'cancel', 'job-isolation', 'redis-restart', 'shutdown-redis-gone', 'webhook-kill'].map(
        (name) => `test/faults/${name}.test.ts`,
      ),
    ],
    globalSetup: ['test/helpers/storage-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
