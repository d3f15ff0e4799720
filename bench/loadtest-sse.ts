// SSE load for the load test (autocannon cannot read an event stream): connect-until-first-event
// loops (time to first event) and long-lived watchers (live delivery lag).

import http from 'node:http';

export interface SseStats {
  connects: number;
  errors: number;
  /** Time to the first metrics event of each connection, ms. */
  firstEventMs: number[];
  /** Live delivery lag of each new metrics event seen by a watcher, ms. */
  lagMs: number[];
}

/** Opens an event stream; `onChunk` returns true to hang up; `onDone(failed)` runs exactly once. */
function open(url: string, onChunk: (text: string) => boolean, onDone: (failed: boolean) => void): http.ClientRequest {
  let done = false;
  let hungUp = false;
  const finish = (failed: boolean) => {
    if (done) return;
    done = true;
    onDone(failed && !hungUp);
  };
  const req = http.get(url, { headers: { accept: 'text/event-stream' }, agent: false }, (res) => {
    if (res.statusCode !== 200) {
      res.resume();
      finish(true);
      return;
    }
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      if (!hungUp && onChunk(chunk)) {
        hungUp = true;
        req.destroy();
      }
    });
    res.on('end', () => finish(false));
    res.on('error', () => finish(true));
  });
  req.on('error', () => finish(true));
  req.on('close', () => finish(false));
  return req;
}

/** `rate` > 0 caps the connectors' connections per second (together); 0 = back to back. */
export function startSseLoad(baseUrl: string, jobIds: string[], opts: { connectors: number; watchers: number; rate?: number }): { stop(): SseStats } {
  const gapMs = opts.rate !== undefined && opts.rate > 0 ? (opts.connectors * 1000) / opts.rate : 0;
  const stats: SseStats = { connects: 0, errors: 0, firstEventMs: [], lagMs: [] };
  let running = true;
  const live = new Set<http.ClientRequest>();

  const connector = (n: number) => {
    if (!running) return;
    const jobId = jobIds[n % jobIds.length];
    const started = performance.now();
    let seen = false;
    let buf = '';
    stats.connects += 1;
    const req = open(
      `${baseUrl}/v1/jobs/${jobId}/events`,
      (chunk) => {
        buf += chunk;
        if (!seen && buf.includes('event: metrics')) {
          seen = true;
          stats.firstEventMs.push(performance.now() - started);
          return true;
        }
        return false;
      },
      (failed) => {
        live.delete(req);
        if ((failed || !seen) && running) stats.errors += 1;
        const wait = Math.max(0, gapMs - (performance.now() - started));
        if (wait > 0) setTimeout(() => connector(n + 1), wait);
        else setImmediate(() => connector(n + 1));
      },
    );
    live.add(req);
  };

  const watcher = (n: number) => {
    const jobId = jobIds[n % jobIds.length];
    const connectedAt = Date.now();
    let buf = '';
    stats.connects += 1;
    const req = open(
      `${baseUrl}/v1/jobs/${jobId}/events`,
      (chunk) => {
        buf += chunk;
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const id = /^id: (\d+)-\d+$/m.exec(frame)?.[1];
          if (id !== undefined && frame.includes('event: metrics') && Number(id) > connectedAt) stats.lagMs.push(Date.now() - Number(id));
        }
        return false;
      },
      (failed) => {
        live.delete(req);
        if (failed && running) stats.errors += 1;
        if (running) setTimeout(() => watcher(n), 200);
      },
    );
    live.add(req);
  };

  for (let i = 0; i < opts.connectors; i++) connector(i);
  for (let i = 0; i < opts.watchers; i++) watcher(i);
  return {
    stop() {
      running = false;
      for (const r of live) r.destroy();
      return stats;
    },
  };
}
