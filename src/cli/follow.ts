// `traind follow ID`: one Keras-style line per epoch, a bar within the epoch when the server sends
// `progress` events and stdout is a terminal, then the terminal status. The exit code is the
// job's outcome, so scripts can `traind follow … && deploy`.
import type { TraindClient } from '../client/index.js';
import { epochLine } from './epoch-line.js';
import { createEpochBar, isProgressEvent, type EpochBar } from './progress-bar.js';

/** completed → 0; the other terminal statuses get their own codes (1 is any other error). */
export const JOB_EXIT_CODES: Record<string, number> = { completed: 0, failed: 3, cancelled: 4 };

export interface FollowOutput {
  json: boolean;
  stdout: NodeJS.WriteStream;
}

export async function followJobToEnd(client: TraindClient, id: string, out: FollowOutput): Promise<number> {
  const job = await client.getJob(id);
  const epochs = job.progress.epochs;
  const bar: EpochBar | undefined = !out.json && out.stdout.isTTY ? createEpochBar(out.stdout) : undefined;
  // cli-progress turns the terminal's line wrap off while it draws: give it back on Ctrl-C.
  const onInterrupt = () => {
    bar?.clear();
    process.exit(130);
  };
  if (bar !== undefined) process.once('SIGINT', onInterrupt);
  const print = (line: string) => {
    bar?.clear();
    out.stdout.write(line + '\n');
  };
  if (!out.json) print(`Following ${job.id}${job.name ? ` (${job.name})` : ''}: ${job.status}, ${epochs} epochs`);
  let lastStatus: string = job.status;
  for await (const e of client.followJob(id)) {
    if (out.json) {
      out.stdout.write(JSON.stringify({ event: e.event, id: e.id, data: e.data }) + '\n');
    } else if (e.event === 'metrics') {
      print(epochLine(e.data, epochs));
    } else if (e.event === 'progress') {
      if (bar !== undefined && isProgressEvent(e.data)) bar.update(e.data, epochs);
    } else if (e.event === 'status') {
      const s = e.data;
      if (s.status === 'running' && s.attempt > 1) print(`running again (attempt ${s.attempt})`);
    }
    if (e.event === 'status') lastStatus = e.data.status;
  }
  bar?.clear();
  process.off('SIGINT', onInterrupt);
  // The stream ends after the terminal status; the job record also says why (reason, error).
  const done = await client.getJob(id);
  const status = done.status in JOB_EXIT_CODES ? done.status : lastStatus;
  if (!out.json) {
    const best = done.best ? `, best epoch ${done.best.epoch}` : '';
    const why = done.reason ? ` (${done.reason}${done.error ? `: ${done.error}` : ''})` : done.error ? ` (${done.error})` : '';
    out.stdout.write(`${done.id} ${status}${why}${best}\n`);
  }
  return JOB_EXIT_CODES[status] ?? 1;
}
