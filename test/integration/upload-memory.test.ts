// A large CSV upload does not grow the API by the size of the file: the body is spooled to disk as
// it arrives, converted chunk by chunk in a CPU thread into a scratch file, and streamed to the
// storage. Measured as the API process's peak RSS (VmHWM) before and after a ~300 MB upload, on a
// real API process over real HTTP.
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, startApi, type ApiProcess } from '../helpers/processes.js';
import { deletePrefixedKeys, SHARED_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

const FEATURES = 20;
/** The CSV's size; TRAIND_UPLOAD_MEMORY_MIB=1024 for the manual 1 GiB run the README quotes. */
const TARGET_BYTES = Number(process.env.TRAIND_UPLOAD_MEMORY_MIB ?? 300) * 1024 * 1024;

const dir = mkdtempSync(path.join(os.tmpdir(), 'traind-upload-memory-'));
const csv = path.join(dir, 'big.csv');
const prefix = uniquePrefix('upmem');
let api: ApiProcess;

/** Peak resident memory of a process so far, bytes. */
function peakRss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) * 1024;
}

function writeCsv(file: string, bytes: number): number {
  const fd = openSync(file, 'w');
  let written = 0;
  let rows = 0;
  writeSync(fd, `${Array.from({ length: FEATURES }, (_, i) => `f${i}`).join(',')},label\n`);
  while (written < bytes) {
    const lines: string[] = [];
    for (let r = 0; r < 2000; r++, rows++) {
      const values = Array.from({ length: FEATURES }, (_, i) => (((rows * 31 + i * 17) % 1000) / 1000).toFixed(4));
      lines.push(`${values.join(',')},${rows % 3}`);
    }
    written += writeSync(fd, `${lines.join('\n')}\n`);
  }
  closeSync(fd);
  return rows;
}

async function upload(file: string): Promise<Response> {
  return fetch(`${api.baseUrl}/v1/datasets?label=label`, {
    method: 'POST',
    headers: { 'content-type': 'text/csv', 'content-length': String(statSync(file).size) },
    body: Readable.toWeb(createReadStream(file)) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
}

beforeAll(async () => {
  api = await startApi({ redisUrl: SHARED_REDIS_URL, prefix, dataDir: path.join(dir, 'data'), env: {
      BODY_LIMIT_BYTES: String(Math.min(2 ** 31 - 1, 2 * TARGET_BYTES)),
      MAX_UNCOMPRESSED_BYTES: String(2 * TARGET_BYTES),
      MAX_DATASET_ROWS: String(Math.ceil(TARGET_BYTES / 50)),
    },
  });
});

afterAll(async () => {
  await killAll();
  await deletePrefixedKeys(SHARED_REDIS_URL, prefix).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('a large CSV upload', () => {
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
    const body = (await res.json()) as { rows: number; features: number; size: number };
    expect(body.rows).toBe(rows);
    expect(body.features).toBe(FEATURES);
    const grew = peakRss(api.pid) - before;
    console.log(`upload of ${(size / 2 ** 20).toFixed(0)} MiB CSV (${rows} rows, ${(body.size / 2 ** 20).toFixed(0)} MiB converted): API peak RSS grew ${(grew / 2 ** 20).toFixed(1)} MiB (from ${(before / 2 ** 20).toFixed(0)} MiB)`);
    // Holding the body would take its size, its float32 conversion 60 % more. What grows here is
    // bounded buffers and garbage not yet collected, about the same for any size (measured here
    // 70–100 MiB for 100 MiB, 300 MiB and 1 GiB files): not a share of the file.
    expect(grew).toBeLessThan(0.4 * size);
  });
});
