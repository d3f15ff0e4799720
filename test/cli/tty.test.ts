// `traind follow` on a terminal: run under a pseudo-terminal (util-linux `script`), against the
// live service (epoch lines and the job's exit code; with epochs long enough, the within-epoch bar
// from its `progress` events), and against a stand-in event stream whose events are known exactly,
// to see the bar drawn and replaced by the epoch's line.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LONG_EPOCH_STEPS, longEpochSpec, uploadLongEpochDataset } from '../helpers/long-epochs.js';
import { repoRoot, startStack, type Stack } from '../integration/stack.js';

const cliEntry = path.join(repoRoot, 'dist/src/cli/main.js');
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ workers: 1 });
});

afterAll(async () => {
  await stack?.stop();
});

/** `traind …` with stdout on a pseudo-terminal; resolves with everything the terminal showed. */
function traindOnTty(args: string[], url: string, interruptWhen?: (screen: string) => boolean): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, cliEntry, ...args].map((a) => `'${a}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TERM: 'xterm', TRAIND_URL: url },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    let interrupted = false;
    child.stdout.on('data', (c: Buffer) => {
      screen += c.toString();
      // Ctrl-C typed on the terminal: the pty's line discipline sends SIGINT to the CLI.
      if (!interrupted && interruptWhen?.(screen)) {
        interrupted = true;
        child.stdin.write('\x03');
      }
    });
    child.stderr.on('data', (c: Buffer) => (screen += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, screen }));
  });
}

const job = (status: string) => ({
  id: 'job_01TTY',
  name: 'tty',
  status,
  progress: { epoch: status === 'completed' ? 2 : 0, epochs: 2 },
  best: status === 'completed' ? { epoch: 2 } : null,
  reason: status === 'completed' ? 'max_epochs' : null,
  error: null,
});

/** Answers GET /v1/jobs/job_01TTY and its events: two epochs of 4 steps with progress events between. */
async function standInServer(options: { hangAfterFrames?: number } = {}): Promise<{ server: Server; url: string }> {
  let gets = 0;
  const server = createServer((req, res) => {
    if (req.url === '/v1/jobs/job_01TTY') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(job(gets++ === 0 ? 'running' : 'completed')));
      return;
    }
    if (req.url !== '/v1/jobs/job_01TTY/events') {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', 'text/event-stream');
    const frames: string[] = [];
    let n = 0;
    const send = (event: string, data: unknown) => frames.push(`id: ${++n}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    for (const epoch of [1, 2]) {
      for (let step = 1; step <= 4; step++) send('progress', { epoch, step, stepsPerEpoch: 4, loss: 1 / (epoch * step), samplesPerSec: 1000, eta: (4 - step) * 0.1 });
      send('metrics', { epoch, step: epoch * 4, loss: 0.5 / epoch, lr: 0.01, seconds: 0.4, samplesPerSec: 1000, attempt: 1 });
    }
    send('status', { status: 'completed', at: new Date().toISOString(), attempt: 1, reason: 'max_epochs' });
    // Spaced out so the bar (redrawn at most 10 times a second) shows each step.
    if (options.hangAfterFrames !== undefined) frames.splice(options.hangAfterFrames);
    const timer = setInterval(() => {
      if (options.hangAfterFrames !== undefined && frames.length === 0) return clearInterval(timer);
      const frame = frames.shift();
      if (frame === undefined) {
        clearInterval(timer);
        res.end();
      } else res.write(frame);
    }, 120);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('traind follow on a terminal', () => {
  it('prints plain epoch lines and exits 0 for a completed job of the live service', async () => {
    const submitted = await fetch(`${stack.baseUrl}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        dataset: { builtin: 'xor' },
        model: { layers: [{ type: 'dense', units: 4, activation: 'tanh' }, { type: 'dense', units: 2 }] },
        loss: 'softmax_cross_entropy',
        epochs: 3,
        seed: 3,
      }),
    });
    const { id } = (await submitted.json()) as { id: string };
    const { code, screen } = await traindOnTty(['follow', id], stack.baseUrl);
    expect(code).toBe(0);
    const lines = screen.split('\r\n');
    expect(lines.filter((l) => l.startsWith('Epoch ')).map((l) => l.split(' - ')[0])).toEqual(['Epoch 1/3', 'Epoch 2/3', 'Epoch 3/3']);
    expect(screen).toContain(`${id} completed (max_epochs)`);
  });

  it('draws the within-epoch bar from the live service\'s progress events when epochs last long enough', async () => {
    const dataset = await uploadLongEpochDataset(stack.baseUrl);
    const submitted = await fetch(`${stack.baseUrl}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(longEpochSpec(dataset, 2)),
    });
    const { id } = (await submitted.json()) as { id: string };
    const { code, screen } = await traindOnTty(['follow', id], stack.baseUrl);
    expect(code).toBe(0);
    // The bar of each epoch, counting mini-batches of this epoch, with the running loss, rate and ETA.
    const bar = (epoch: number) => new RegExp(`Epoch ${epoch}/2 \\[[=-]+\\] \\d+/${LONG_EPOCH_STEPS} - loss: \\d\\.\\d{4} - \\d+ samples/s - ETA \\d+\\.\\ds`);
    expect(screen).toMatch(bar(1));
    expect(screen).toMatch(bar(2));
    // Then the epoch's own line, the bar cleared before it.
    const lastBar = screen.lastIndexOf('Epoch 2/2 [');
    expect(screen.indexOf('Epoch 2/2 - ', lastBar)).toBeGreaterThan(lastBar);
    expect(screen).toContain(`${id} completed (max_epochs)`);
  });

  it('draws a within-epoch bar from progress events and replaces it with the epoch line', async () => {
    const { server, url } = await standInServer();
    try {
      const { code, screen } = await traindOnTty(['follow', 'job_01TTY'], url);
      expect(code).toBe(0);
      // The bar at some step of each epoch, with its loss, rate and ETA.
      expect(screen).toMatch(/Epoch 1\/2 \[[=-]+\] [1-4]\/4 - loss: \d\.\d{4} - 1000 samples\/s - ETA \d\.\ds/);
      expect(screen).toMatch(/Epoch 2\/2 \[[=-]+\] [1-4]\/4 - loss: \d\.\d{4} - 1000 samples\/s - ETA \d\.\ds/);
      expect(screen).toContain('Epoch 1/2 - 0.40s - loss: 0.5000 - lr: 0.0100 - 1000 samples/s');
      expect(screen).toContain('Epoch 2/2 - 0.40s - loss: 0.2500 - lr: 0.0100 - 1000 samples/s');
      expect(screen).toContain('job_01TTY completed (max_epochs), best epoch 2');
      // Each epoch line starts on a cleared line: the bar does not linger beside it.
      const lastBar = screen.lastIndexOf('Epoch 2/2 [');
      expect(screen.indexOf('Epoch 2/2 - 0.40s', lastBar)).toBeGreaterThan(lastBar);
    } finally {
      server.close();
    }
  });

  it('Ctrl-C during a bar clears it and turns line wrap back on (exit 130)', async () => {
    const { server, url } = await standInServer({ hangAfterFrames: 2 });
    try {
      const { code, screen } = await traindOnTty(['follow', 'job_01TTY'], url, (s) => s.includes('2/4 - loss'));
      expect(code).toBe(130);
      const lastBar = screen.lastIndexOf('Epoch 1/2 [');
      expect(lastBar).toBeGreaterThan(0);
      // cli-progress writes ESC[?7l (no wrap) when it starts drawing; ESC[?7h restores it.
      expect(screen.indexOf('\x1b[?7h', lastBar)).toBeGreaterThan(lastBar);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
