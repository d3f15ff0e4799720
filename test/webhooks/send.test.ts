// One delivery attempt against real HTTP servers on loopback: signed so the standardwebhooks
// library verifies it, redirects not followed, bounded by the timeout, only a prefix of the answer
// kept, and the address checked again at delivery (loopback refused without WEBHOOK_ALLOW_PRIVATE).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { newWebhookSecret } from '../../src/store/webhooks.js';
import { RESPONSE_PREFIX_BYTES, sendWebhook } from '../../src/webhooks/send.js';

const servers: http.Server[] = [];

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const msg = { id: 'evt_1700000000000-0', body: JSON.stringify({ type: 'job.completed', timestamp: '2026-01-01T00:00:00.000Z', data: { id: 'job_x' } }) };
const opts = { timeoutMs: 1000, allowPrivate: true };

describe('sendWebhook', () => {
  it('POSTs the body signed per Standard Webhooks; 2xx is success', async () => {
    const secret = newWebhookSecret();
    let verified: unknown = null;
    let headers: http.IncomingHttpHeaders = {};
    const url = await serve((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        headers = req.headers;
        verified = new Webhook(secret).verify(Buffer.concat(chunks), req.headers as Record<string, string>);
        res.writeHead(202).end('accepted');
      });
    });
    const r = await sendWebhook({ url, secret }, msg, opts);
    expect(r).toEqual({ ok: true, statusCode: 202, error: null, response: 'accepted' });
    expect(verified).toEqual(JSON.parse(msg.body));
    expect(headers['webhook-id']).toBe(msg.id);
    expect(Math.abs(Number(headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(headers['content-type']).toBe('application/json');
  });

  it('does not follow a redirect (the target is never contacted): a failure', async () => {
    let hits = 0;
    const target = await serve((_req, res) => {
      hits += 1;
      res.end();
    });
    const url = await serve((_req, res) => res.writeHead(307, { location: target }).end());
    const r = await sendWebhook({ url, secret: newWebhookSecret() }, msg, opts);
    expect(r).toMatchObject({ ok: false, statusCode: 307, error: 'redirect not followed (307)' });
    expect(hits).toBe(0);
  });

  it('gives up at the timeout on a receiver that never answers', async () => {
    const url = await serve(() => undefined);
    const t0 = Date.now();
    const r = await sendWebhook({ url, secret: newWebhookSecret() }, msg, { timeoutMs: 300, allowPrivate: true });
    expect(r).toMatchObject({ ok: false, statusCode: null, error: 'timed out after 300 ms' });
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it(`keeps only the first ${RESPONSE_PREFIX_BYTES} bytes of a long answer`, async () => {
    const url = await serve((_req, res) => res.writeHead(500).end('x'.repeat(1_000_000)));
    const r = await sendWebhook({ url, secret: newWebhookSecret() }, msg, opts);
    expect(r).toMatchObject({ ok: false, statusCode: 500, error: 'HTTP 500' });
    expect(r.response).toBe('x'.repeat(RESPONSE_PREFIX_BYTES));
  });

  it('checks the address again at delivery: loopback is refused without WEBHOOK_ALLOW_PRIVATE', async () => {
    let hits = 0;
    const url = await serve((_req, res) => {
      hits += 1;
      res.end();
    });
    const r = await sendWebhook({ url, secret: newWebhookSecret() }, msg, { timeoutMs: 1000, allowPrivate: false });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/^refused: .*127\.0\.0\.1/);
    expect(hits).toBe(0);
    const named = await sendWebhook({ url: url.replace('127.0.0.1', 'localhost'), secret: newWebhookSecret() }, msg, { timeoutMs: 1000, allowPrivate: false });
    expect(named.error).toMatch(/^refused: /);
    expect(hits).toBe(0);
  });

  it('a refused connection is a failure with its code', async () => {
    const url = await serve(() => undefined);
    const port = new URL(url).port;
    await new Promise((r) => servers.pop()!.close(r));
    const r = await sendWebhook({ url: `http://127.0.0.1:${port}/`, secret: newWebhookSecret() }, msg, opts);
    expect(r).toMatchObject({ ok: false, statusCode: null });
    expect(r.error).toMatch(/^ECONNREFUSED/);
  });
});
