// The API's edges over real sockets: ownership is checked before a body is read, slow requests
// get 408 and lose their socket, refused callers do not keep connections open, oversized headers
// get 431, all in the API's error format.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/api/auth.js';
import { newJobId } from '../../src/store/ids.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { appFixture, xorSpec, type AppFixture } from './helpers.js';

const KEY_A = 'tdk_edges_key_a';
const KEY_B = 'tdk_edges_key_b';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A raw HTTP/1.1 client: what a slow or hostile sender does, byte by byte. */
class RawClient {
  readonly socket: net.Socket;
  readonly closed: Promise<void>;
  private received = Buffer.alloc(0);
  private waiting: (() => void) | null = null;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.waiting?.();
    });
    // The server may close while we still write: that is the point of some tests.
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket.once('close', () => this.waiting?.());
  }

  receivedText(): string {
    return this.received.toString('utf8');
  }

  get isClosed(): boolean {
    return this.socket.destroyed;
  }

  /** Resolves with the first complete response, or null when the socket closes without one. */
  async response(timeoutMs: number): Promise<RawResponse | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = this.parse();
      if (parsed !== null) return parsed;
      if (this.socket.destroyed || Date.now() > deadline) return null;
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
        setTimeout(resolve, Math.max(1, deadline - Date.now()));
      });
    }
  }

  private parse(): RawResponse | null {
    const text = this.received.toString('latin1');
    const end = text.indexOf('\r\n\r\n');
    if (end < 0) return null;
    const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    const body = this.received.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'));
    if (body.length < length) return null;
    return { status: Number(statusLine.split(' ')[1]), headers, body: body.subarray(0, length).toString('utf8') };
  }
}

function errorCode(res: RawResponse | null): string | undefined {
  return res === null ? undefined : (JSON.parse(res.body) as { error: { code: string } }).error.code;
}

async function listen(f: AppFixture): Promise<number> {
  await f.app.listen({ port: 0, host: '127.0.0.1' });
  const address = f.app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function openConnections(f: AppFixture): Promise<number> {
  return new Promise((resolve, reject) => f.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

describe('over real sockets', () => {
  let f: AppFixture;
  let port: number;
  let jobOfA: string;
  const serverBytesRead: net.Socket[] = [];

  beforeAll(async () => {
    f = await appFixture({
      API_KEYS: `alpha:${sha256Hex(KEY_A)},beta:${sha256Hex(KEY_B)}`,
      RATE_LIMIT_MAX: '100000',
      AUTH_FAILURE_LIMIT: '100000',
      REQUEST_TIMEOUT_MS: '1500',
      HEADERS_TIMEOUT_MS: '700',
    });
    f.app.server.on('connection', (s: net.Socket) => serverBytesRead.push(s));
    port = await listen(f);
    const job = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec(), headers: { authorization: `Bearer ${KEY_A}` } });
    expect(job.statusCode).toBe(201);
    jobOfA = job.json().id;
  });
  afterAll(async () => {
    await f.close();
  });

  /** Sends a 60 MB predict body as fast as the socket takes it; returns the answer and the bytes the server read. */
  async function bigPredict(jobId: string, key: string) {
    const size = 60 * 1024 * 1024;
    const c = new RawClient(port);
    const started = Date.now();
    c.socket.write(`POST /v1/jobs/${jobId}/predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`);
    const chunk = Buffer.alloc(256 * 1024, 0x20);
    let sent = 0;
    const answered = c.response(10_000);
    let done = false;
    void answered.then(() => (done = true));
    while (sent < size && !done && !c.isClosed) {
      const ok = c.socket.write(chunk);
      sent += chunk.length;
      if (!ok) await Promise.race([new Promise((r) => c.socket.once('drain', r)), answered, c.closed]);
    }
    const res = await answered;
    const ms = Date.now() - started;
    await Promise.race([c.closed, sleep(2000)]);
    const server = serverBytesRead.at(-1);
    return { res, ms, closed: c.isClosed, serverRead: server?.bytesRead ?? -1 };
  }

  it("answers a 60 MB predict body to another tenant's job 404 at once, without reading the body", async () => {
    const { res, ms, closed, serverRead } = await bigPredict(jobOfA, KEY_B);
    expect(res?.status).toBe(404);
    expect(errorCode(res)).toBe('not_found');
    expect(res?.headers.connection).toBe('close');
    expect(ms).toBeLessThan(3000);
    expect(closed).toBe(true);
    // What the server's socket read before closing: a few socket buffers, not the 60 MB body.
    expect(serverRead).toBeLessThan(16 * 1024 * 1024);
  });

  it('answers an unknown job id the same way, and lets the owner through to the route', async () => {
    const unknown = await bigPredict(newJobId(), KEY_A);
    expect(unknown.res?.status).toBe(404);
    expect(unknown.serverRead).toBeLessThan(16 * 1024 * 1024);
    // The owner reaches the handler: the job has no checkpoint yet (409), not 404.
    const own = await f.app.inject({ method: 'POST', url: `/v1/jobs/${jobOfA}/predict`, payload: { inputs: [[0, 1]] }, headers: { authorization: `Bearer ${KEY_A}` } });
    expect(own.statusCode).toBe(409);
    const malformed = await f.app.inject({ method: 'POST', url: '/v1/jobs/job_x/predict', payload: { inputs: [[0, 1]] }, headers: { authorization: `Bearer ${KEY_A}` } });
    expect(malformed.statusCode).toBe(400);
    expect((malformed.json() as { error: { details: { path: string } } }).error.details.path).toBe('id');
  });

  it('answers a body sent one byte at a time 408 in the error format once REQUEST_TIMEOUT_MS has passed, and closes the socket', async () => {
    const c = new RawClient(port);
    const body = JSON.stringify(xorSpec());
    const started = Date.now();
    c.socket.write(`POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY_A}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    const trickle = setInterval(() => {
      if (!c.isClosed) c.socket.write(body.charAt(0));
    }, 200);
    try {
      const res = await c.response(6000);
      const ms = Date.now() - started;
      expect(res?.status).toBe(408);
      expect(errorCode(res)).toBe('request_timeout');
      expect(res?.body).toContain('REQUEST_TIMEOUT_MS');
      expect(res?.headers.connection).toBe('close');
      expect(ms).toBeGreaterThanOrEqual(1400);
      expect(ms).toBeLessThan(3500);
      await Promise.race([c.closed, sleep(2000)]);
      expect(c.isClosed).toBe(true);
    } finally {
      clearInterval(trickle);
    }
  });

  it('answers headers that do not arrive within HEADERS_TIMEOUT_MS 408 and closes the socket', async () => {
    const c = new RawClient(port);
    const started = Date.now();
    c.socket.write('GET /v1/jobs HTTP/1.1\r\nHost: x\r\n');
    const trickle = setInterval(() => {
      if (!c.isClosed) c.socket.write('X-Slow: 1\r\n');
    }, 100);
    try {
      const res = await c.response(5000);
      expect(res?.status).toBe(408);
      expect(errorCode(res)).toBe('request_timeout');
      expect(Date.now() - started).toBeLessThan(2500);
      await Promise.race([c.closed, sleep(2000)]);
      expect(c.isClosed).toBe(true);
    } finally {
      clearInterval(trickle);
    }
  });

  it('closes a connection that never sends a byte once HEADERS_TIMEOUT_MS has passed', async () => {
    const c = new RawClient(port);
    const started = Date.now();
    await Promise.race([c.closed, sleep(4000)]);
    expect(c.isClosed).toBe(true);
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('leaves long responses alone: an SSE stream outlives REQUEST_TIMEOUT_MS', async () => {
    const c = new RawClient(port);
    c.socket.write(`GET /v1/jobs/${jobOfA}/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY_A}\r\nAccept: text/event-stream\r\n\r\n`);
    await sleep(2500);
    expect(c.isClosed).toBe(false);
    const head = c.receivedText();
    expect(head.startsWith('HTTP/1.1 200')).toBe(true);
    expect(head).toContain('text/event-stream');
    c.socket.destroy();
  });

  it('answers headers over the size limit 431 in the error format', async () => {
    const c = new RawClient(port);
    c.socket.write(`GET /v1/jobs HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    const res = await c.response(5000);
    expect(res?.status).toBe(431);
    expect(errorCode(res)).toBe('headers_too_large');
    expect(res?.headers.connection).toBe('close');
    await Promise.race([c.closed, sleep(2000)]);
    expect(c.isClosed).toBe(true);
  });

  it('closes the connection after each 401: 300 refused keep-alive clients leave no socket open', async () => {
    const clients: RawClient[] = [];
    for (let batch = 0; batch < 6; batch++) {
      const round = Array.from({ length: 50 }, () => new RawClient(port));
      for (const c of round) c.socket.write('GET /v1/jobs HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nAuthorization: Bearer tdk_wrong\r\n\r\n');
      const answers = await Promise.all(round.map((c) => c.response(5000)));
      expect(answers.map((a) => a?.status)).toEqual(round.map(() => 401));
      clients.push(...round);
    }
    // The clients never close: only the server can have closed these connections.
    await waitFor(async () => (await openConnections(f)) === 0 && clients.every((c) => c.isClosed), { timeoutMs: 3000, what: 'the API to close refused connections' }).catch(() => undefined);
    expect(await openConnections(f)).toBe(0);
    expect(clients.filter((c) => !c.isClosed).length).toBe(0);
    for (const c of clients) c.socket.destroy();
  });
});
