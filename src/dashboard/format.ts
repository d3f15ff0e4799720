// How numbers, sizes, times and datasets read on the page.
import type { JobSummary } from '../client/index.js';

/** Metrics: four decimals for ordinary values, exponent notation for very small or large ones. */
export function fmtNumber(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(2);
  return x.toFixed(4);
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** A timestamp in the reader's locale and time zone. */
export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

/** A duration in seconds as "< 1 s", "42 s", "3 min 5 s", "1 h 4 min". */
// A number and its unit are joined by a no-break space: a line that wraps does not leave "s" alone.
const NBSP = '\u00a0';

export function fmtDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 1) return `<${NBSP}1${NBSP}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}${NBSP}s`;
  if (s < 3600) return `${Math.floor(s / 60)}${NBSP}min ${s % 60}${NBSP}s`;
  return `${Math.floor(s / 3600)}${NBSP}h ${Math.floor((s % 3600) / 60)}${NBSP}min`;
}

export function fmtDataset(d: JobSummary['dataset']): string {
  return typeof d === 'string' ? d : `builtin: ${d.builtin}`;
}

/** The best monitored value of a job: "val_loss 0.4412 @ 7", or "–". */
export function fmtBest(j: Pick<JobSummary, 'best' | 'monitor'>): string {
  if (j.best === null) return '–';
  const value = (j.best as Record<string, unknown>)[j.monitor];
  return `${j.monitor} ${fmtNumber(typeof value === 'number' ? value : null)} @ ${j.best.epoch}`;
}
