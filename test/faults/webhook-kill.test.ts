// Fault: no webhook event is lost when processes die. Events written while no worker runs wait in
// the outbox; an entry a dispatcher read and never acknowledged (it died) is claimed by another;
// a worker SIGKILLed in the middle of a delivery loses it to another worker, which sends it again
// under the same webhook-id. A real receiver verifies every signature with standardwebhooks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitJob, waitForStatus } from '../helpers/api.js';
import { startProcessStack, type ProcessStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';
import { xorSpec } from '../api/helpers.js';

const spec = xorSpec({ epochs: 3, seed: 5 });

let stack: ProcessStack;
let receiver: Receiver;

beforeAll(async () => {
  // LOCK_DURATION_MS 2000 (the stack's default): a dead worker's delivery and a dead dispatcher's
  // outbox entries are taken over after about 2 s.
  stack = await startProcessStack({ tag: 'webhook-kill', env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_BACKOFF_MS: '200', WEBHOOK_TIMEOUT_MS: '30000' } });
  receiver = await startReceiver();
});

afterAll(async () => {
  await receiver?.close();
  await stack?.dispose();
});

describe('webhooks through dead processes', () => {
  it('loses no event: outbox without workers, a dispatcher dead before XACK, a worker killed mid-delivery', async () => {
    const hook = await stack.api.post<{ id: string; secret: string }>('/v1/webhooks', { url: receiver.url, events: ['job.queued', 'job.running', 'job.completed'] });
    expect(hook.status).toBe(201);
    receiver.secret = hook.body.secret;

    // No worker yet: the job's job.queued event can only be in the outbox. A dispatcher reads it
    // and dies before acknowledging it (this consumer never acks).
    const outbox = `${stack.prefix}:webhook-events`;
    await stack.redis.xgroup('CREATE', outbox, 'dispatch', '0', 'MKSTREAM');
    const job = await submitJob(stack.api, spec);
    const taken = (await stack.redis.xreadgroup('GROUP', 'dispatch', 'dead-dispatcher', 'COUNT', 10, 'STREAMS', outbox, '>')) as [string, [string, string[]][]][];
    const entries = taken[0]?.[1] ?? [];
    expect(entries.map(([, f]) => f[f.indexOf('type') + 1])).toEqual(['job.queued']);

    // The first request to reach the receiver is never answered; its worker is killed meanwhile.
    let hung: string | null = null;
    receiver.respond = (r) => {
      if (hung === null) {
        hung = r.webhookId;
        return 'hang';
      }
      return 200;
    };
    const a = await stack.startWorker('worker-a');
    await waitFor(() => hung, { timeoutMs: 30_000, what: 'a first delivery to reach the receiver' });
    a.kill('SIGKILL');
    await a.exited;
    const b = await stack.startWorker('worker-b');

    await waitForStatus(stack.api, job.id, ['completed'], 60_000);
    // The killed job runs again on worker-b, so job.running may come twice (a new event, attempt 2).
    const delivered = await waitFor(
      () => {
        const d = receiver.delivered();
        const types = new Set([...d.values()].map((r) => r.type));
        return d.has(hung!) && d.has(`evt_${entries[0]![0]}`) && types.has('job.completed') && types.has('job.running') ? d : null;
      },
      { timeoutMs: 30_000, what: 'the hung delivery, the claimed job.queued and job.completed delivered' },
    );
    expect(receiver.requests.every((r) => r.verified)).toBe(true);
    expect(new Set([...delivered.values()].map((r) => r.type))).toEqual(new Set(['job.completed', 'job.queued', 'job.running']));
    // The one in flight when its worker died came again with the same webhook-id, and succeeded.
    expect(receiver.requests.filter((r) => r.webhookId === hung).length).toBeGreaterThanOrEqual(2);
    expect(delivered.has(hung!)).toBe(true);
    // The entry the dead dispatcher held was claimed and delivered under its own id.
    expect(delivered.has(`evt_${entries[0]![0]}`)).toBe(true);
    // Nothing left pending, and dispatched entries are deleted: the outbox is empty again. The
    // dispatcher acknowledges an entry once its delivery's answer has reached it, a moment after
    // the receiver counted the delivery (a busy machine widens that moment), so wait for it.
    await waitFor(
      async () => {
        const pending = (await stack.redis.xpending(outbox, 'dispatch')) as [number, ...unknown[]];
        return pending[0] === 0 && (await stack.redis.xlen(outbox)) === 0;
      },
      { timeoutMs: 10_000, what: 'every outbox entry acknowledged and deleted' },
    );
    const log = await waitFor(
      async () => {
        const l = await stack.api.get<{ items: { id: string; status: string }[] }>(`/v1/webhooks/${hook.body.id}/deliveries`);
        return l.body.items.length >= delivered.size && l.body.items.every((d) => d.status === 'succeeded') ? l.body.items : null;
      },
      { timeoutMs: 10_000, what: 'the delivery log to show every event succeeded' },
    );
    expect(log.map((d) => d.id).sort()).toEqual([...receiver.delivered().keys()].sort());
    console.info(`webhook kill: ${receiver.requests.length} requests for ${delivered.size} events; worker-b logged ${b.logs.filter((l) => l.msg === 'webhook delivered').length} deliveries`);
  });
});
