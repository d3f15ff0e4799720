// What binary predict saves when scoring a test set: Fashion-MNIST's 10,000 test images through a
// real API process (a private redis-server, the API and a worker from dist/; the model trained
// there for one epoch), sent as JSON rows in requests of 2,500 (a 10,000-row JSON body of
// full-precision values is over BODY_LIMIT_BYTES), as one body of little-endian float32 rows, and
// as the IDX file itself, gzipped and not. Same outputs checked; bytes sent and wall time per
// format, rounds alternating, in one run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startStack } from './loadtest-stack.js';
import { mlpSpec, uploadFashion } from './service.js';

export type PredictFormatName = 'json' | 'float32' | 'idx' | 'idx.gz';

export interface PredictFormatResult {
  format: PredictFormatName;
  requests: number;
  bytes: number;
  /** Median over rounds of the wall time for all 10,000 rows. */
  seconds: number;
}

const JSON_CHUNK = 2_500;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The images as the IDX file's pixels (N × 784 bytes) and its header's length. */
function testImages(dir: string): { gz: Buffer; raw: Buffer; pixels: Uint8Array; n: number; width: number } {
  const gz = readFileSync(join(dir, 't10k-images-idx3-ubyte.gz'));
  const raw = gunzipSync(gz);
  const n = raw.readUInt32BE(4);
  const width = raw.readUInt32BE(8) * raw.readUInt32BE(12);
  return { gz, raw, pixels: raw.subarray(16, 16 + n * width), n, width };
}

export async function measurePredictFormats(fashionDir: string, rounds: number): Promise<PredictFormatResult[]> {
  const stack = await startStack(1);
  try {
    const dataset = await uploadFashion(stack.baseUrl, fashionDir);
    const submitted = await fetch(`${stack.baseUrl}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(mlpSpec(dataset, [128], 128, 1, null)),
    });
    const jobId = ((await submitted.json()) as { id: string }).id;
    for (;;) {
      const job = (await (await fetch(`${stack.baseUrl}/v1/jobs/${jobId}`)).json()) as { status: string };
      if (job.status === 'completed') break;
      if (job.status === 'failed' || job.status === 'cancelled') throw new Error(`predict bench: training ended ${job.status}`);
      await new Promise((r) => setTimeout(r, 200));
    }

    const { gz, raw, pixels, n, width } = testImages(fashionDir);
    const values = Float32Array.from(pixels, (b) => b / 255);
    const float32 = new Uint8Array(values.buffer);
    const jsonBodies: string[] = [];
    for (let start = 0; start < n; start += JSON_CHUNK) {
      const rows: number[][] = [];
      for (let r = start; r < Math.min(n, start + JSON_CHUNK); r++) rows.push(Array.from(pixels.subarray(r * width, (r + 1) * width), (b) => b / 255));
      jsonBodies.push(JSON.stringify({ inputs: rows }));
    }
    const bodies: Record<PredictFormatName, { type: string; parts: (string | Uint8Array)[] }> = {
      json: { type: 'application/json', parts: jsonBodies },
      float32: { type: 'application/octet-stream', parts: [float32] },
      idx: { type: 'application/x-idx', parts: [raw] },
      'idx.gz': { type: 'application/x-idx', parts: [gz] },
    };
    const formats = Object.keys(bodies) as PredictFormatName[];
    const times: Record<string, number[]> = Object.fromEntries(formats.map((f) => [f, []]));
    let reference: string | null = null;
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < formats.length; i++) {
        const format = formats[(i + round) % formats.length]!;
        const { type, parts } = bodies[format];
        const started = performance.now();
        const outputs: unknown[] = [];
        for (const body of parts) {
          const res = await fetch(`${stack.baseUrl}/v1/jobs/${jobId}/predict`, { method: 'POST', headers: { 'content-type': type }, body });
          const text = await res.text();
          if (res.status !== 200) throw new Error(`predict bench: ${format} answered ${res.status} ${text.slice(0, 200)}`);
          outputs.push(...(JSON.parse(text) as { outputs: unknown[] }).outputs);
        }
        times[format]!.push((performance.now() - started) / 1000);
        // Every format must answer the same: otherwise the timing compares different work.
        const answer = JSON.stringify(outputs);
        reference ??= answer;
        if (answer !== reference) throw new Error(`predict bench: ${format} answered differently from the first format`);
      }
    }
    return formats.map((format) => ({
      format,
      requests: bodies[format].parts.length,
      bytes: bodies[format].parts.reduce((sum, p) => sum + (typeof p === 'string' ? Buffer.byteLength(p) : p.length), 0),
      seconds: median(times[format]!),
    }));
  } finally {
    await stack.stop();
  }
}
