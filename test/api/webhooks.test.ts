// /v1/webhooks: registration, listing, reading, deleting and rotating; tenant isolation (another
// tenant's webhook answers 404); SSRF refusals naming the field; the per-tenant cap.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/api/auth.js';
import { isForbiddenAddress } from '../../src/webhooks/address-policy.js';
import { appFixture, errorOf, type AppFixture } from './helpers.js';

const KEY_A = 'tdk_webhook_test_key_a';
const KEY_B = 'tdk_webhook_test_key_b';
const A = { authorization: `Bearer ${KEY_A}` };
const B = { authorization: `Bearer ${KEY_B}` };
const KEYS = `alpha:${sha256Hex(KEY_A)},beta:${sha256Hex(KEY_B)}`;

describe('webhooks API', () => {
  let f: AppFixture;
  beforeEach(async () => {
    f = await appFixture({ API_KEYS: KEYS, WEBHOOK_ALLOW_PRIVATE: 'true', MAX_WEBHOOKS_PER_TENANT: '3' });
  });
  afterEach(async () => {
    await f.close();
  });

  const create = (headers: Record<string, string>, payload: Record<string, unknown>) => f.app.inject({ method: 'POST', url: '/v1/webhooks', headers, payload });

  it('registers with default events and a whsec_ secret shown only at creation and rotation', async () => {
    const res = await create(A, { url: 'http://127.0.0.1:9/hook', description: 'ci' });
    expect(res.statusCode).toBe(201);
    const w = res.json();
    expect(w.id).toMatch(/^wh_[0-9A-Z]{26}$/);
    expect(w.events).toEqual(['job.completed', 'job.failed', 'job.cancelled']);
    expect(w.description).toBe('ci');
    expect(w.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Date.parse(w.createdAt)).not.toBeNaN();
    expect(res.headers.location).toBe(`/v1/webhooks/${w.id}`);

    const got = await f.app.inject({ method: 'GET', url: `/v1/webhooks/${w.id}`, headers: A });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual({ id: w.id, url: 'http://127.0.0.1:9/hook', events: w.events, description: 'ci', createdAt: w.createdAt });
    const list = await f.app.inject({ method: 'GET', url: '/v1/webhooks', headers: A });
    expect(list.json().items).toEqual([got.json()]);
    expect(list.body).not.toContain('whsec_');

    const rotated = await f.app.inject({ method: 'POST', url: `/v1/webhooks/${w.id}/rotate-secret`, headers: A });
    expect(rotated.statusCode).toBe(200);
    expect(rotated.json().secret).toMatch(/^whsec_/);
    expect(rotated.json().secret).not.toBe(w.secret);

    const deliveries = await f.app.inject({ method: 'GET', url: `/v1/webhooks/${w.id}/deliveries`, headers: A });
    expect(deliveries.json()).toEqual({ items: [] });

    const ping = await f.app.inject({ method: 'POST', url: `/v1/webhooks/${w.id}/ping`, headers: A });
    expect(ping.statusCode).toBe(202);
    expect(ping.json().eventId).toMatch(/^evt_\d+-\d+$/);

    expect((await f.app.inject({ method: 'DELETE', url: `/v1/webhooks/${w.id}`, headers: A })).statusCode).toBe(204);
    expect((await f.app.inject({ method: 'GET', url: `/v1/webhooks/${w.id}`, headers: A })).statusCode).toBe(404);
    expect((await f.app.inject({ method: 'GET', url: '/v1/webhooks', headers: A })).json().items).toEqual([]);
  });

  it('keeps the chosen events (deduplicated) and refuses unknown ones and unknown fields by name', async () => {
    const ok = await create(A, { url: 'https://127.0.0.1/x', events: ['job.checkpoint', 'job.running', 'job.running'] });
    expect(ok.statusCode).toBe(201);
    expect(ok.json().events).toEqual(['job.checkpoint', 'job.running']);
    const bad = await create(A, { url: 'https://127.0.0.1/x', events: ['job.exploded'] });
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad.body).details.path).toBe('events.0');
    const none = await create(A, { url: 'https://127.0.0.1/x', events: [] });
    expect(errorOf(none.body).details.path).toBe('events');
    const extra = await create(A, { url: 'https://127.0.0.1/x', secret: 'mine' });
    expect(extra.statusCode).toBe(400);
    expect(errorOf(extra.body).details.path).toBe('secret');
    const missing = await create(A, {});
    expect(errorOf(missing.body).details.path).toBe('url');
  });

  it("hides one tenant's webhooks from another: 404 on every route, absent from the list", async () => {
    const w = (await create(A, { url: 'http://127.0.0.1:9/a' })).json();
    for (const [method, url] of [
      ['GET', `/v1/webhooks/${w.id}`],
      ['DELETE', `/v1/webhooks/${w.id}`],
      ['POST', `/v1/webhooks/${w.id}/rotate-secret`],
      ['GET', `/v1/webhooks/${w.id}/deliveries`],
      ['POST', `/v1/webhooks/${w.id}/ping`],
    ] as const) {
      const res = await f.app.inject({ method, url, headers: B });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(errorOf(res.body).code).toBe('not_found');
    }
    expect((await f.app.inject({ method: 'GET', url: '/v1/webhooks', headers: B })).json().items).toEqual([]);
    expect((await f.app.inject({ method: 'GET', url: `/v1/webhooks/${w.id}`, headers: A })).statusCode).toBe(200);
    const malformed = await f.app.inject({ method: 'GET', url: '/v1/webhooks/wh_nope', headers: A });
    expect(malformed.statusCode).toBe(400);
    expect(errorOf(malformed.body).details.path).toBe('id');
  });

  it('caps webhooks per tenant (MAX_WEBHOOKS_PER_TENANT) with 409, per tenant', async () => {
    for (let i = 0; i < 3; i++) expect((await create(A, { url: `http://127.0.0.1:9/${i}` })).statusCode).toBe(201);
    const over = await create(A, { url: 'http://127.0.0.1:9/4' });
    expect(over.statusCode).toBe(409);
    expect(errorOf(over.body).code).toBe('too_many_webhooks');
    expect(errorOf(over.body).message).toContain('MAX_WEBHOOKS_PER_TENANT');
    expect((await create(B, { url: 'http://127.0.0.1:9/b' })).statusCode).toBe(201);
  });
});

describe('webhook URLs: no SSRF', () => {
  let f: AppFixture;
  beforeEach(async () => {
    f = await appFixture();
  });
  afterEach(async () => {
    await f.close();
  });

  it.each([
    ['ftp://example.com/x', /scheme/],
    ['file:///etc/passwd', /scheme/],
    ['not a url', /absolute URL/],
    ['http://user:pw@example.com/', /credentials/],
    ['http://127.0.0.1:3000/', /127\.0\.0\.1/],
    ['http://localhost/', /non-public/],
    ['http://0.0.0.0/', /0\.0\.0\.0/],
    ['http://10.1.2.3/', /non-public/],
    ['http://172.16.0.1/', /non-public/],
    ['http://192.168.1.1/', /non-public/],
    ['http://100.64.0.1/', /non-public/],
    ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254/],
    ['http://[::1]/', /::1/],
    ['http://[fd00:ec2::254]/', /non-public/],
    ['http://[fe80::1]/', /non-public/],
    ['http://[::ffff:127.0.0.1]/', /non-public/],
    ['http://2130706433/', /127\.0\.0\.1/], // decimal 127.0.0.1, normalised by the URL parser
    ['http://0x7f.1/', /127\.0\.0\.1/],
    ['http://no-such-host.invalid/', /does not resolve/],
  ])('refuses %s with 400 invalid_url at path url', async (url, why) => {
    const res = await f.app.inject({ method: 'POST', url: '/v1/webhooks', payload: { url } });
    expect(res.statusCode).toBe(400);
    const e = errorOf(res.body);
    expect(e.code).toBe('invalid_url');
    expect(e.details.path).toBe('url');
    expect(e.message).toMatch(why);
  });

  it('judges addresses by range, v4-mapped IPv6 by its IPv4', () => {
    for (const a of ['127.0.0.1', '10.0.0.1', '0.0.0.0', '169.254.169.254', '100.127.255.255', '::1', '::', 'fd00::1', 'fc00::1', 'fe80::1', '::ffff:10.0.0.1', '::ffff:7f00:1', 'ff02::1', '224.0.0.1', '255.255.255.255']) {
      expect(isForbiddenAddress(a), a).toBe(true);
    }
    for (const a of ['93.184.216.34', '8.8.8.8', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) expect(isForbiddenAddress(a), a).toBe(false);
  });
});
