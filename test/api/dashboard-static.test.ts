// GET / and /assets/:file: the built dashboard (npm run build) served with caching headers, gzip
// and a content-security-policy; HTTP over app.inject, the files from dist/dashboard/.
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_CSP, loadDashboard } from '../../src/api/routes/dashboard.js';
import { appFixture, type AppFixture } from './helpers.js';

let f: AppFixture;
beforeAll(async () => {
  if (loadDashboard() === null) throw new Error('dist/dashboard is missing: run `npm run build` first');
  f = await appFixture();
});
afterAll(async () => f?.close());

function assetUrls(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
}

describe('the dashboard, served at GET /', () => {
  it('serves the page revalidated by ETag, with a CSP that allows only this origin', async () => {
    const res = await f.app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toContain("script-src 'self'");
    expect(DASHBOARD_CSP).not.toContain('unsafe');
    expect(res.body).toContain('<main id="view">');
    const again = await f.app.inject({ method: 'GET', url: '/', headers: { 'if-none-match': String(res.headers.etag) } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('serves every asset the page names as immutable, gzipped when asked, and nothing else', async () => {
    const page = await f.app.inject({ method: 'GET', url: '/' });
    const urls = assetUrls(page.body);
    expect(urls.filter((u) => /\/app-[A-Z0-9]+\.js$/.test(u))).toHaveLength(1);
    expect(urls.filter((u) => /\/app-[A-Z0-9]+\.css$/.test(u))).toHaveLength(1);
    for (const url of urls) {
      const plain = await f.app.inject({ method: 'GET', url });
      expect(plain.statusCode, url).toBe(200);
      expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(plain.headers['content-encoding']).toBeUndefined();
      const zipped = await f.app.inject({ method: 'GET', url, headers: { 'accept-encoding': 'gzip, br' } });
      if (plain.rawPayload.length >= 1024) {
        expect(zipped.headers['content-encoding']).toBe('gzip');
        expect(gunzipSync(zipped.rawPayload).equals(plain.rawPayload)).toBe(true);
        expect(zipped.rawPayload.length).toBeLessThan(plain.rawPayload.length / 2);
      }
    }
    const script = await f.app.inject({ method: 'GET', url: urls.find((u) => u.endsWith('.js'))! });
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    // uPlot's styles are bundled (no CDN: the page may load nothing from elsewhere).
    const styles = await f.app.inject({ method: 'GET', url: urls.find((u) => u.endsWith('.css'))! });
    expect(styles.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(styles.body.includes('.uplot')).toBe(true);
    expect(/https?:\/\/(?:cdn|unpkg|jsdelivr)/.test(script.body + styles.body + page.body)).toBe(false);
    expect((await f.app.inject({ method: 'GET', url: '/assets/app-NOSUCHHASH.js' })).statusCode).toBe(404);
    const traversal = await f.app.inject({ method: 'GET', url: '/assets/..%2Fpackage.json' });
    expect(traversal.statusCode).toBe(400);
    expect(JSON.parse(traversal.body).error.code).toBe('invalid_request');
  });
});
