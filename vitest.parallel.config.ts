import { defineConfig } from 'vitest/config';
import { parallelFiles } from './test/helpers/parallel-files.js';

// The files of test/helpers/parallel-files.ts, two at a time (vitest's default on 2 cores is one).
export default defineConfig({
  test: {
    include: parallelFiles,
    globalSetup: ['test/helpers/storage-setup.ts'],
    // The AWS SDK's notice that its 2027 releases need Node 22, once per process the tests start: noise here.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
  },
});
