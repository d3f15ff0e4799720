// One webhook delivery attempt: check the target again (resolve, refuse non-public addresses,
// connect to the address checked), POST the signed body, keep the status and a short prefix of
// the answer. Redirects are not followed; the whole attempt is bounded by WEBHOOK_TIMEOUT_MS.
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { resolveWebhookTarget, UrlRefusedError } from './address-policy.js';

/** Bytes of the receiver's answer that are kept (the rest is not read). */
export const RESPONSE_PREFIX_BYTES = 256;

export const USER_AGENT = 'traind-webhooks/1';

export interface AttemptResult {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  response: string | null;
}

export interface Message {
  /** The event id: `webhook-id` on every attempt. */
  id: string;
  body: string;
}

/** Standard Webhooks headers for this message, signed now with the secret (`whsec_…`). */
export function signedHeaders(secret: string, msg: Message, now = new Date()): Record<string, string> {
  return {
    'webhook-id': msg.id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(msg.id, now, msg.body),
  };
}

export async function sendWebhook(target: { url: string; secret: string }, msg: Message, opts: { timeoutMs: number; allowPrivate: boolean }): Promise<AttemptResult> {
  const deadline = Date.now() + opts.timeoutMs;
  let checked;
  try {
    checked = await resolveWebhookTarget(target.url, opts.allowPrivate);
  } catch (err) {
    if (err instanceof UrlRefusedError) return { ok: false, statusCode: null, error: `refused: ${err.message}`, response: null };
    throw err;
  }
  // The connection goes to the address just checked, whatever DNS would answer now.
  const pinned: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: checked.address, family: checked.family }]);
    else callback(null, checked.address, checked.family);
  };
  const body = Buffer.from(msg.body);
  const headers = {
    ...signedHeaders(target.secret, msg),
    'content-type': 'application/json',
    'content-length': String(body.length),
    'user-agent': USER_AGENT,
  };
  const send = checked.url.protocol === 'https:' ? https.request : http.request;
  return new Promise<AttemptResult>((resolve) => {
    let settled = false;
    const finish = (r: AttemptResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = send(checked.url, { method: 'POST', headers, lookup: pinned, agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        const response = Buffer.concat(chunks).subarray(0, RESPONSE_PREFIX_BYTES).toString('utf8');
        const ok = status >= 200 && status < 300;
        const error = ok ? null : status >= 300 && status < 400 ? `redirect not followed (${status})` : `HTTP ${status}`;
        finish({ ok, statusCode: status, error, response });
      };
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= RESPONSE_PREFIX_BYTES) done();
      });
      res.on('end', done);
      res.on('error', done);
    });
    const timer = setTimeout(() => finish({ ok: false, statusCode: null, error: `timed out after ${opts.timeoutMs} ms`, response: null }), Math.max(0, deadline - Date.now()));
    req.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, statusCode: null, error: `${err.code ?? 'error'}: ${err.message}`.slice(0, 300), response: null }));
    req.end(body);
  });
}
