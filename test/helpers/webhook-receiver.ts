// A real webhook receiver on loopback: every request's signature is verified with the
// standardwebhooks library (as an integrator would); `respond` decides each answer.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  webhookId: string;
  timestamp: string;
  type: string;
  body: { type: string; timestamp: string; data: Record<string, unknown> };
  /** True when the signature verified with the secret current at the time. */
  verified: boolean;
  status: number;
}

export interface Receiver {
  url: string;
  /** Every request, answered or not, in arrival order. */
  requests: Received[];
  /** The secret to verify with (set after registering the webhook; may change on rotation). */
  secret: string;
  /** Decides the answer to a verified request: a status, or 'hang' to never answer. */
  respond: (r: Received) => number | 'hang';
  /** Requests answered 2xx, one per webhook-id. */
  delivered(): Map<string, Received>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const hanging = new Set<http.ServerResponse>();
  const receiver: Receiver = {
    url: '',
    requests: [],
    secret: '',
    respond: () => 204,
    delivered() {
      const out = new Map<string, Received>();
      for (const r of receiver.requests) if (r.status >= 200 && r.status < 300 && !out.has(r.webhookId)) out.set(r.webhookId, r);
      return out;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      let verified = false;
      try {
        new Webhook(receiver.secret).verify(raw, headers);
        verified = true;
      } catch {
        verified = false;
      }
      const body = JSON.parse(raw) as Received['body'];
      const r: Received = { webhookId: headers['webhook-id'] ?? '', timestamp: headers['webhook-timestamp'] ?? '', type: body.type, body, verified, status: 0 };
      receiver.requests.push(r);
      const answer = verified ? receiver.respond(r) : 401;
      if (answer === 'hang') {
        hanging.add(res);
        return;
      }
      r.status = answer;
      res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer >= 300 ? `no thanks (${answer})` : 'ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/traind`;
  return receiver;
}
