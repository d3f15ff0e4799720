// vitest global setup: with TRAIND_TEST_STORAGE=s3, one s3rver on a free loopback port and a bucket
// of this run's own, for the whole run (test/helpers/test-storage.ts hands it to every service the
// helpers start); without it, nothing (the tests keep their objects in a temporary DATA_DIR).
import type { TestProject } from 'vitest/node';
import { startS3Server, type S3Bucket } from './s3.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's S3 bucket in the S3 pass, else null. */
    testS3: S3Bucket | null;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  // The AWS SDK's notice that its 2027 releases need Node 22, once per process: noise in test output.
  // Set here, before vitest starts its workers, so that every test process inherits it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const kind = process.env.TRAIND_TEST_STORAGE ?? 'local';
  if (kind !== 'local' && kind !== 's3') throw new Error(`TRAIND_TEST_STORAGE: "${kind}" is neither local nor s3`);
  if (kind === 'local') {
    project.provide('testS3', null);
    return undefined;
  }
  const s3 = await startS3Server();
  project.provide('testS3', { endpoint: s3.endpoint, bucket: s3.bucket });
  return () => s3.close();
}
