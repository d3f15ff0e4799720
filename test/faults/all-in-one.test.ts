// The single-machine deployment (`npm start`: API, workers and its own redis-server in one
// process) under SIGTERM, a restart on the same DATA_DIR, and SIGKILL.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { apiClient, allMetrics, epochsByAttempt, submitJob, waitForEpoch, waitForStatus } from '../helpers/api.js';
import { killAll, processesOfPrefix, startAllInOne } from '../helpers/processes.js';
import { freePort, uniquePrefix } from '../helpers/redis.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { slowSpec } from './specs.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'traind-allinone-'));
const prefix = uniquePrefix('allinone');

afterAll(async () => {
  await killAll();
  // The private redis-server is a child of the server: if one is left, end it (by its pid).
  for (const pid of processesOfPrefix(prefix)) process.kill(pid, 'SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('all-in-one server', () => {
  it('SIGTERM: hands back, leaves nothing running; restarted, the job resumes; SIGKILL: nothing left either', { timeout: 180_000 }, async () => {
    const port = await freePort();
    const o = { redisUrl: `redis://127.0.0.1:${port}`, prefix, dataDir, env: { WORKER_CONCURRENCY: '1' } };
    const first = await startAllInOne(o, 'server-1');
    expect(first.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('started a private redis-server'))).toBe(true);
    const api1 = apiClient(first.baseUrl);
    const job = await submitJob(api1, slowSpec(12));
    await waitForEpoch(api1, job.id, 3, 60_000);

    const signalled = Date.now();
    first.kill('SIGTERM');
    const exit = await first.exited;
    expect(exit.code, first.tail()).toBe(0);
    expect(exit.at - signalled).toBeLessThan(10_000);
    await sleep(300);
    expect(processesOfPrefix(prefix), 'no trainer, no redis-server left').toEqual([]);

    // Same DATA_DIR: the private Redis comes back from its AOF with the job handed back.
    const second = await startAllInOne(o, 'server-2');
    const api2 = apiClient(second.baseUrl);
    const done = await waitForStatus(api2, job.id, ['completed'], 90_000);
    const statuses = done.history.map((h) => h.status);
    expect(statuses).toEqual(['queued', 'running', 'queued', 'running', 'completed']);
    const byAttempt = [...epochsByAttempt(await allMetrics(api2, job.id)).values()];
    expect(byAttempt.length).toBe(2);
    expect(byAttempt[1]?.[0]).toBe((byAttempt[0]?.at(-1) ?? 0) + 1);

    // SIGKILL mid-training: its trainer process exits with it, and its private redis-server (held
    // by a shell that watches the server's end of a pipe) follows: nothing of it is left.
    const again = await submitJob(api2, slowSpec(40, { seed: 99 }));
    await waitForEpoch(api2, again.id, 2, 60_000);
    expect(processesOfPrefix(prefix).length).toBeGreaterThan(1);
    second.kill('SIGKILL');
    await second.exited;
    const left = await waitFor(() => (processesOfPrefix(prefix).length === 0 ? 'none' : null), { timeoutMs: 5000, what: 'every process of the server to be gone' }).catch(
      () => processesOfPrefix(prefix).map((pid) => `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ').trim()}`).join('; '),
    );
    expect(left).toBe('none');
  });
});
