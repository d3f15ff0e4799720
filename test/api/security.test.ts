// API keys, tenant isolation (another tenant's ids answer 404), rate limiting per key, and no
// credentials in error bodies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex, tenantForKey } from '../../src/api/auth.js';
import { loadConfig } from '../../src/config.js';
import { appFixture, errorOf, xorSpec, type AppFixture } from './helpers.js';

const KEY_A = 'tdk_test_key_for_tenant_a';
const KEY_B = 'tdk_test_key_for_tenant_b';

describe('API keys and tenants', () => {
  let f: AppFixture;
  const as = (key: string | null) => (key === null ? {} : { authorization: `Bearer ${key}` });
  beforeAll(async () => {
    f = await appFixture({ API_KEYS: `alpha:${sha256Hex(KEY_A)},beta:${sha256Hex(KEY_B)}`, RATE_LIMIT_MAX: '1000' });
  });
  afterAll(async () => {
    await f.close();
  });

  it('answers 401 without a key or with a wrong one, and lets health checks through', async () => {
    const none = await f.app.inject({ method: 'GET', url: '/v1/jobs' });
    expect(none.statusCode).toBe(401);
    expect(errorOf(none.body).code).toBe('unauthorized');
    expect(none.headers['www-authenticate']).toMatch(/Bearer/);
    const wrong = await f.app.inject({ method: 'GET', url: '/v1/jobs', headers: as('tdk_nope') });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).not.toContain('tdk_nope');
    expect((await f.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it("hides one tenant's jobs and datasets from another: 404, not 403, and absent from lists", async () => {
    const job = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec(), headers: as(KEY_A) });
    expect(job.statusCode).toBe(201);
    const id = job.json().id;
    const ds = await f.app.inject({ method: 'POST', url: '/v1/datasets', payload: 'x,label\n1,0\n2,1\n', headers: { ...as(KEY_A), 'content-type': 'text/csv' } });
    const dsId = ds.json().id;
    for (const url of [`/v1/jobs/${id}`, `/v1/jobs/${id}/metrics`, `/v1/jobs/${id}/checkpoints`, `/v1/jobs/${id}/checkpoints/best`, `/v1/jobs/${id}/events`, `/v1/datasets/${dsId}`]) {
      const res = await f.app.inject({ method: 'GET', url, headers: as(KEY_B) });
      expect(res.statusCode, url).toBe(404);
    }
    expect((await f.app.inject({ method: 'POST', url: `/v1/jobs/${id}/cancel`, headers: as(KEY_B) })).statusCode).toBe(404);
    expect((await f.app.inject({ method: 'DELETE', url: `/v1/datasets/${dsId}`, headers: as(KEY_B) })).statusCode).toBe(404);
    const viaSpec = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec({ dataset: dsId }), headers: as(KEY_B) });
    expect(viaSpec.statusCode).toBe(400);
    expect(errorOf(viaSpec.body).details.path).toBe('dataset');
    expect((await f.app.inject({ method: 'GET', url: '/v1/jobs', headers: as(KEY_B) })).json().items).toEqual([]);
    expect((await f.app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: as(KEY_A) })).statusCode).toBe(200);
  });

  it('matches keys by digest only', () => {
    const keys = loadConfig({ API_KEYS: `alpha:${sha256Hex(KEY_A)}` }).apiKeys;
    expect(tenantForKey(keys, KEY_A)).toBe('alpha');
    expect(tenantForKey(keys, sha256Hex(KEY_A))).toBeNull();
    expect(tenantForKey(keys, '')).toBeNull();
  });

  it('refuses a malformed API_KEYS entry without echoing it', () => {
    expect(() => loadConfig({ API_KEYS: 'alpha:not-hex-secret' })).toThrow(/API_KEYS entry 1/);
    expect(() => loadConfig({ API_KEYS: 'alpha:not-hex-secret' })).not.toThrow(/not-hex-secret/);
  });
});

describe('rate limiting', () => {
  let f: AppFixture;
  beforeAll(async () => {
    f = await appFixture({ API_KEYS: `alpha:${sha256Hex(KEY_A)},beta:${sha256Hex(KEY_B)}`, RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000' });
  });
  afterAll(async () => {
    await f.close();
  });

  it('limits each key on its own and answers 429 in the error format', async () => {
    const get = (key: string) => f.app.inject({ method: 'GET', url: '/v1/jobs', headers: { authorization: `Bearer ${key}` } });
    for (let i = 0; i < 3; i++) expect((await get(KEY_A)).statusCode).toBe(200);
    const limited = await get(KEY_A);
    expect(limited.statusCode).toBe(429);
    expect(errorOf(limited.body).code).toBe('rate_limited');
    expect(limited.headers['retry-after']).toBeDefined();
    expect((await get(KEY_B)).statusCode).toBe(200);
  });
});

describe('without API keys', () => {
  it('binds loopback by default and serves everyone as tenant "default"', async () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(loadConfig({ API_KEYS: `a:${sha256Hex('k')}` }).host).toBe('0.0.0.0');
    const f = await appFixture();
    try {
      const res = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec() });
      expect(res.statusCode).toBe(201);
      expect((await f.queue.getJob(res.json().id))?.data.tenant).toBe('default');
    } finally {
      await f.close();
    }
  });
});

describe('rate limits before authentication', () => {
  const keys = `alpha:${sha256Hex(KEY_A)}`;
  const jobs = (headers: Record<string, string> = {}, remoteAddress = '127.0.0.1') => ({ method: 'GET' as const, url: '/v1/jobs', headers, remoteAddress });

  it('limits requests without a key per client address, and closes the connection of every 401 and 429', async () => {
    const f = await appFixture({ API_KEYS: keys, RATE_LIMIT_MAX: '3' });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await f.app.inject(jobs());
        expect(res.statusCode).toBe(401);
        expect(res.headers.connection).toBe('close');
      }
      const limited = await f.app.inject(jobs());
      expect(limited.statusCode).toBe(429);
      expect(errorOf(limited.body).code).toBe('rate_limited');
      expect(limited.headers['retry-after']).toBeDefined();
      expect(limited.headers.connection).toBe('close');
      // Another address has its own bucket; a valid key from the limited address has its own too.
      expect((await f.app.inject(jobs({}, '127.0.0.2'))).statusCode).toBe(401);
      expect((await f.app.inject(jobs({ authorization: `Bearer ${KEY_A}` }))).statusCode).toBe(200);
    } finally {
      await f.close();
    }
  });

  it('answers 429 to an address after AUTH_FAILURE_LIMIT wrong keys, made up afresh each time, while a valid key from it still works', async () => {
    const f = await appFixture({ API_KEYS: keys, RATE_LIMIT_MAX: '1000', AUTH_FAILURE_LIMIT: '5', AUTH_FAILURE_WINDOW_MS: '60000' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push((await f.app.inject(jobs({ authorization: `Bearer tdk_guess_${i}` }))).statusCode);
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
      const blocked = await f.app.inject(jobs({ authorization: 'Bearer tdk_guess_again' }));
      expect(errorOf(blocked.body).message).toContain('AUTH_FAILURE_LIMIT');
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(50);
      expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(blocked.headers.connection).toBe('close');
      expect((await f.app.inject(jobs({ authorization: `Bearer ${KEY_A}` }))).statusCode).toBe(200);
      expect((await f.app.inject(jobs({ authorization: 'Bearer tdk_guess_x' }, '127.0.0.9'))).statusCode).toBe(401);
    } finally {
      await f.close();
    }
  });

  it('ignores X-Forwarded-For unless TRUST_PROXY is set', async () => {
    const fromProxy = (client: string) => jobs({ 'x-forwarded-for': client });
    const plain = await appFixture({ API_KEYS: keys, RATE_LIMIT_MAX: '2' });
    try {
      // A client cannot buy a fresh bucket by sending a new X-Forwarded-For each time.
      const statuses = [];
      for (const client of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) statuses.push((await plain.app.inject(fromProxy(client))).statusCode);
      expect(statuses).toEqual([401, 401, 429]);
    } finally {
      await plain.close();
    }
    const proxied = await appFixture({ API_KEYS: keys, RATE_LIMIT_MAX: '2', TRUST_PROXY: '127.0.0.1' });
    try {
      // Behind a trusted proxy each forwarded client has its own bucket...
      for (const client of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) expect((await proxied.app.inject(fromProxy(client))).statusCode).toBe(401);
      expect((await proxied.app.inject(fromProxy('10.0.0.1'))).statusCode).toBe(401);
      expect((await proxied.app.inject(fromProxy('10.0.0.1'))).statusCode).toBe(429);
      // ...and a peer that is not the trusted proxy is its own client whatever it forwards.
      expect((await proxied.app.inject(jobs({ 'x-forwarded-for': '10.0.0.7' }, '127.0.0.5'))).statusCode).toBe(401);
      expect((await proxied.app.inject(jobs({ 'x-forwarded-for': '10.0.0.8' }, '127.0.0.5'))).statusCode).toBe(401);
      expect((await proxied.app.inject(jobs({ 'x-forwarded-for': '10.0.0.9' }, '127.0.0.5'))).statusCode).toBe(429);
    } finally {
      await proxied.close();
    }
  });

  it('parses TRUST_PROXY strictly and refuses a headers timeout above the request timeout', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, ::1, loopback' }).trustProxy).toBe('10.0.0.0/8,::1,loopback');
    expect(() => loadConfig({ TRUST_PROXY: '2' })).toThrow(/TRUST_PROXY/);
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.0/33' })).toThrow(/TRUST_PROXY/);
    expect(() => loadConfig({ REQUEST_TIMEOUT_MS: '1000', HEADERS_TIMEOUT_MS: '2000' })).toThrow(/HEADERS_TIMEOUT_MS/);
  });
});
