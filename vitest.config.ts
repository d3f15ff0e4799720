import { defineConfig } from 'vitest/config';
import { parallelFiles } from './test/helpers/parallel-files.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The fault tests have their own config; the files that may share the machine run two at a
    // time in vitest.parallel.config.ts (`npm test` runs both).
    exclude: ['test/faults/**', 'node_modules/**', 'dist/**', ...parallelFiles],
    // TRAIND_TEST_STORAGE=s3: one s3rver for the run, and every service the helpers start keeps its objects there.
    globalSetup: ['test/helpers/storage-setup.ts'],
    // The AWS SDK's notice that its 2027 releases need Node 22, once per process the tests start: noise here.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: these start worker processes and check latency or CPU use, so one file at a time.
    fileParallelism: false,
  },
});
