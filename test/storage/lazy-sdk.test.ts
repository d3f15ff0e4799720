// The AWS SDK is loaded by the first S3 driver made, not by importing the drivers: a trainer on
// local storage imports them too, and the SDK was about 100 ms of its start-up. Checked in a fresh
// process on the build (the trainer runs compiled JS): the trainer's modules and a local driver
// leave the SDK out of the module cache; an S3 driver brings it in.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const SCRIPT = `
import { createRequire } from 'node:module';
const cache = createRequire(process.cwd() + '/x.js').cache;
const sdkModules = () => Object.keys(cache).filter((k) => k.includes('@aws-sdk')).length;
await import('./dist/workers/processor.js');
await import('./dist/workers/preload.js');
const { createStorage } = await import('./dist/src/storage/create-storage.js');
createStorage({ kind: 'local', root: '/nonexistent' });
const afterLocal = sdkModules();
createStorage({ kind: 's3', bucket: 'b', prefix: 'p/', region: 'us-east-1', endpoint: 'http://127.0.0.1:9', forcePathStyle: true, credentials: null, maxAttempts: 1, requestTimeoutMs: 1000 });
console.log(JSON.stringify({ afterLocal, afterS3: sdkModules() }));
`;

describe('the S3 SDK is loaded lazily', () => {
  it('is not loaded by the trainer\'s modules or a local driver, and is by an S3 driver', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', SCRIPT], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
    expect(r.status, r.stderr).toBe(0);
    const { afterLocal, afterS3 } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { afterLocal: number; afterS3: number };
    expect(afterLocal).toBe(0);
    expect(afterS3).toBeGreaterThan(0);
  });
});
