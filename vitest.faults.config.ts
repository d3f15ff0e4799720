import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    passWithNoTests: true,
    globalSetup: ['test/helpers/storage-setup.ts'],
    // The AWS SDK's notice that its 2027 releases need Node 22, once per process the tests start: noise here.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    testTimeout: 180_000,
    hookTimeout: 60_000,
    // Two files at a time: each starts its own API, workers and key prefix (or Redis), and their
    // bounds were set on a loaded 2-core machine. The whole pass: 330 s one at a time, 248 s two.
    maxWorkers: 2,
  },
});
