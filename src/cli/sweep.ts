// `traind sweep submit|ls|show|follow|cancel`: hyperparameter sweeps over the typed client. `follow`
// prints one line per trial event and exits with the sweep's outcome (0 completed, 4 cancelled).
import type { Sweep, SweepSpec, SweepSummary, TraindClient } from '../client/index.js';
import { UsageError } from './describe-error.js';
import { formatNumber } from './epoch-line.js';
import { readInputFile } from './dataset-files.js';
import { table } from './table.js';

export const SWEEP_EXIT_CODES: Record<string, number> = { completed: 0, cancelled: 4 };

export async function readSweepSpec(file: string): Promise<SweepSpec> {
  const text = (await readInputFile(file)).toString('utf8');
  try {
    return JSON.parse(text) as SweepSpec;
  } catch (err) {
    throw new UsageError(`${file}: invalid JSON (${(err as Error).message})`);
  }
}

const params = (p: Record<string, unknown>) =>
  Object.entries(p)
    .map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? formatNumber(v) : typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');

const value = (v: number | null | undefined) => (typeof v === 'number' ? formatNumber(v) : '-');

function countsLine(s: Pick<SweepSummary, 'counts'>): string {
  return Object.entries(s.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
}

export function sweepSummaryLine(s: SweepSummary): string {
  return `${s.id} ${s.status}: ${countsLine(s) || 'no trials'}`;
}

/** `traind sweep show`: header, best trial, leaderboard. */
export function describeSweep(s: Sweep): string {
  const spec = s.spec as { objective?: { metric: string; mode: string }; earlyTermination?: { type: string } };
  const metric = spec.objective?.metric ?? 'objective';
  const lines = [
    `id:         ${s.id}`,
    `name:       ${s.name ?? ''}`,
    `status:     ${s.status}${s.reason ? ` (${s.reason})` : ''}`,
    `objective:  ${metric} (${spec.objective?.mode ?? ''}), early termination ${spec.earlyTermination?.type ?? 'none'}`,
    `trials:     ${countsLine(s)}; ${s.totalEpochs} epochs in all`,
    `best:       ${s.best ? `trial ${s.best.trial} (${s.best.jobId}), ${metric} ${value(s.best.objective)} at epoch ${s.best.objectiveEpoch ?? '-'}; checkpoint ${s.best.checkpoint ?? '-'}` : '-'}`,
    '',
  ];
  const rows = s.leaderboard.map((t, i) => [String(i + 1), String(t.trial), t.state, value(t.objective), String(t.epochs), t.jobId ?? '', params(t.params)]);
  return lines.join('\n') + '\n' + table(['RANK', 'TRIAL', 'STATE', metric.toUpperCase(), 'EPOCHS', 'JOB', 'PARAMS'], rows);
}

export function sweepList(items: SweepSummary[]): string {
  return table(
    ['ID', 'NAME', 'STATUS', 'TRIALS', 'BEST', 'CREATED'],
    items.map((s) => [s.id, s.name ?? '', s.status, countsLine(s), s.best ? `#${s.best.trial} ${value(s.best.objective)}` : '-', s.createdAt]),
  );
}

/** One line per sweep event; null for events not worth a line. */
export function sweepEventLine(event: string, d: Record<string, unknown>): string | null {
  const t = `trial ${String(d.trial)}`;
  switch (event) {
    case 'trial_started':
      return `${t} started ${params((d.params ?? {}) as Record<string, unknown>)}`;
    case 'trial_reported':
      return `${t} epoch ${String(d.epoch)}: ${value(d.value as number | null)}`;
    case 'trial_pruned':
      return `${t} pruned at epoch ${String(d.rung)}: ${value(d.value as number | null)}, cutoff ${value(d.cutoff as number | null)} among ${String(d.among)}`;
    case 'trial_finished':
      return `${t} ${String(d.outcome)}${d.reason && d.reason !== d.outcome ? ` (${String(d.reason)})` : ''}${d.error ? `: ${String(d.error)}` : ''}`;
    case 'sweep_finished':
      return `sweep ${String(d.status)}`;
    default:
      return null;
  }
}

export async function followSweepToEnd(client: TraindClient, id: string, out: { json: boolean; stdout: NodeJS.WriteStream }): Promise<number> {
  const start = await client.getSweep(id);
  if (!out.json) out.stdout.write(`Following ${start.id}${start.name ? ` (${start.name})` : ''}: ${start.status}\n`);
  for await (const e of client.followSweep(id)) {
    if (out.json) out.stdout.write(JSON.stringify({ event: e.event, id: e.id, data: e.data }) + '\n');
    else {
      const line = sweepEventLine(e.event, (e.data ?? {}) as Record<string, unknown>);
      if (line !== null) out.stdout.write(line + '\n');
    }
  }
  const done = await client.getSweep(id);
  if (!out.json) {
    const best = done.best ? `; best trial ${done.best.trial} (${done.best.jobId}): ${value(done.best.objective)}` : '';
    out.stdout.write(`${done.id} ${done.status}: ${countsLine(done)}${best}\n`);
  }
  return SWEEP_EXIT_CODES[done.status] ?? 1;
}
