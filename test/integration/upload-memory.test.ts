// A large CSV upload to an API on S3-compatible storage (s3rver on loopback, in this test's process)
// whose DATA_DIR cannot exist (it lies under a regular file, so any write there fails): the body
// streams into the store as it arrives, a CPU thread converts it from the store into the store,
// and the API's peak RSS (VmHWM) grows by far less than the file, measured before and after a
// ~400 MB upload on a real API process over real HTTP. An upload whose client goes away mid-body
// leaves no dataset, no upload record and no object. TRAIND_UPLOAD_MEMORY_MIB=1024 for the manual
// 1 GiB run the README quotes; TRAIND_UPLOAD_MEMORY_STORAGE=local for the same on DATA_DIR.
import { closeSync, createReadStream, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { once } from 'node:events';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, startApi, type ApiProcess } from '../helpers/processes.js';
import { deletePrefixedKeys, SHARED_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { startS3Server, type S3Server } from '../helpers/s3.js';
import { waitFor } from '../helpers/wait.js';

const FEATURES = 20;
/** The CSV's size. */
const TARGET_BYTES = Number(process.env.TRAIND_UPLOAD_MEMORY_MIB ?? 400) * 1024 * 1024;
const ON_S3 = (process.env.TRAIND_UPLOAD_MEMORY_STORAGE ?? 's3') === 's3';

const dir = mkdtempSync(path.join(os.tmpdir(), 'traind-upload-memory-'));
const csv = path.join(dir, 'big.csv');
const prefix = uniquePrefix('upmem');
const objectPrefix = `upmem-${Date.now().toString(36)}`;
/** A regular file: DATA_DIR below it cannot be made, read or written. */
const notADirectory = path.join(dir, 'not-a-directory');
let api: ApiProcess;
let s3: S3Server | null = null;

/** Peak resident memory of a process so far, bytes. */
function peakRss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) * 1024;
}

/** CSV lines from row `from` on, `count` of them. */
function csvRows(from: number, count: number): string {
  const lines: string[] = [];
  for (let r = from; r < from + count; r++) {
    const values = Array.from({ length: FEATURES }, (_, i) => (((r * 31 + i * 17) % 1000) / 1000).toFixed(4));
    lines.push(`${values.join(',')},${r % 3}`);
  }
  return `${lines.join('\n')}\n`;
}

const HEADER = `${Array.from({ length: FEATURES }, (_, i) => `f${i}`).join(',')},label\n`;

function writeCsv(file: string, bytes: number): number {
  const fd = openSync(file, 'w');
  let written = 0;
  let rows = 0;
  writeSync(fd, HEADER);
  for (; written < bytes; rows += 2000) written += writeSync(fd, csvRows(rows, 2000));
  closeSync(fd);
  return rows;
}

function upload(file: string): Promise<Response> {
  // ?wait=600: a 1 GiB conversion on s3rver takes longer than the default minute.
  return fetch(`${api.baseUrl}/v1/datasets?label=label&wait=600`, {
    method: 'POST',
    headers: { 'content-type': 'text/csv', 'content-length': String(statSync(file).size) },
    body: Readable.toWeb(createReadStream(file)) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
}

/** Every object under the service's prefix, by key relative to it. */
async function objects(): Promise<string[]> {
  if (s3 === null) return [];
  return (await s3.keys(`${objectPrefix}/`)).map((k) => k.slice(objectPrefix.length + 1));
}

beforeAll(async () => {
  writeFileSync(notADirectory, 'DATA_DIR must not be needed for uploads\n');
  let dataDir = path.join(dir, 'data');
  if (ON_S3) {
    s3 = await startS3Server();
    dataDir = path.join(notADirectory, 'data');
  } else {
    mkdirSync(dataDir);
  }
  api = await startApi({
    redisUrl: SHARED_REDIS_URL,
    prefix,
    dataDir,
    env: {
      ...(s3?.env(objectPrefix) ?? {}),
      BODY_LIMIT_BYTES: String(Math.min(2 ** 31 - 1, 2 * TARGET_BYTES)),
      MAX_UNCOMPRESSED_BYTES: String(2 * TARGET_BYTES),
      MAX_DATASET_ROWS: String(Math.ceil(TARGET_BYTES / 50)),
      // The body arrives as fast as the store takes it: s3rver in this process is slower than a disk.
      REQUEST_TIMEOUT_MS: '900000',
    },
  });
});

afterAll(async () => {
  await killAll();
  await deletePrefixedKeys(SHARED_REDIS_URL, prefix).catch(() => undefined);
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe(`a large CSV upload (${ON_S3 ? 'S3, DATA_DIR unusable' : 'DATA_DIR'})`, () => {
  it('is accepted while the API grows by far less than the file', { timeout: 900_000 }, async () => {
    const rows = writeCsv(csv, TARGET_BYTES);
    const size = statSync(csv).size;
    // Warm up: the CPU thread, the parser and the storage code are loaded before the baseline.
    const small = path.join(dir, 'small.csv');
    writeFileSync(small, 'a,b,label\n1,2,0\n3,4,1\n');
    expect((await upload(small)).status).toBe(201);
    const before = peakRss(api.pid);

    const res = await upload(csv);
    expect(res.status).toBe(201);
    const body = (await res.json()) as { id: string; rows: number; features: number; size: number };
    expect(body.rows).toBe(rows);
    expect(body.features).toBe(FEATURES);
    const grew = peakRss(api.pid) - before;
    console.log(`upload of ${(size / 2 ** 20).toFixed(0)} MiB CSV (${rows} rows, ${(body.size / 2 ** 20).toFixed(0)} MiB converted) on ${ON_S3 ? 'S3' : 'DATA_DIR'}: API peak RSS grew ${(grew / 2 ** 20).toFixed(1)} MiB (from ${(before / 2 ** 20).toFixed(0)} MiB)`);
    // Holding the body would take its size, its float32 conversion 60 % of it on top of the ~50 MiB
    // any run grows. On S3 a fast run grew 139-149 MiB for 300 MiB (5 MiB parts allocated per part
    // and collected late, it seems; not measured), 52-64 MiB at load 12: half the file is the bound.
    expect(grew).toBeLessThan(0.5 * size);
    if (ON_S3) {
      // The dataset is in the store, its raw body gone; DATA_DIR was never made.
      expect((await objects()).filter((k) => k.startsWith('datasets/') || k.startsWith('uploads/')).sort()).toEqual(expect.arrayContaining([`datasets/${body.id}.bin`]));
      expect((await objects()).filter((k) => k.startsWith('uploads/'))).toEqual([]);
      expect(statSync(notADirectory).isFile()).toBe(true);
    }
  });

  it('an upload whose client goes away mid-body leaves no dataset, no upload record and no object', { timeout: 120_000 }, async () => {
    const before = await objects();
    const listed = async () => ((await (await fetch(`${api.baseUrl}/v1/datasets?limit=100`)).json()) as { items: unknown[] }).items.length;
    const datasets = await listed();
    // 20 MiB (more than two multipart parts on S3), then the client is gone before the body ends.
    const req = request(`${api.baseUrl}/v1/datasets?label=label`, { method: 'POST', headers: { 'content-type': 'text/csv' } });
    req.on('error', () => undefined);
    req.write(HEADER);
    for (let sent = 0; sent < 160_000; sent += 2000) if (!req.write(csvRows(sent, 2000))) await once(req, 'drain');
    req.destroy();
    const redis = new Redis(SHARED_REDIS_URL);
    try {
      await waitFor(async () => (await redis.keys(`${prefix}:dataset:*:upload*`)).length === 0 && JSON.stringify(await objects()) === JSON.stringify(before), {
        timeoutMs: 30_000,
        what: 'the aborted upload to leave nothing behind',
      });
    } finally {
      redis.disconnect();
    }
    expect(await listed()).toBe(datasets);
    expect(api.child.exitCode).toBeNull();
  });
});
