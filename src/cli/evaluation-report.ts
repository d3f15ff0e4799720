// `traind evaluate`'s human output: the figures, then for classifiers sklearn's classification
// report (per class, macro and weighted means) and the confusion matrix.
import type { Evaluation } from '../client/index.js';
import { formatNumber } from './epoch-line.js';
import { table } from './table.js';

export function evaluationReport(ev: Evaluation): string {
  const r = ev.result;
  const dataset = typeof ev.dataset === 'string' ? ev.dataset : `builtin ${ev.dataset.builtin}`;
  const head = `${ev.id}: ${ev.jobId} epoch ${ev.checkpoint.epoch} (sha256 ${ev.checkpoint.sha256.slice(0, 12)}…) on ${dataset}`;
  if (r === null) return `${head}: ${ev.status}${ev.error ? ` (${ev.error})` : ''}\n`;
  const figures = (['loss', 'accuracy', 'mae', 'rmse', 'r2'] as const)
    .filter((k) => typeof r[k] === 'number')
    .map((k) => `${k}: ${formatNumber(r[k] as number)}`)
    .join(' - ');
  const out = [`${head}, ${r.rows} rows`, figures];
  if (r.classes !== undefined) {
    const row = (name: string, c: { precision: number; recall: number; f1: number }, support: number | string) => [name, formatNumber(c.precision), formatNumber(c.recall), formatNumber(c.f1), String(support)];
    const rows = r.classes.map((c, k) => row(String(k), c, c.support));
    const total = r.classes.reduce((s, c) => s + c.support, 0);
    if (r.macro !== undefined) rows.push(row('macro avg', r.macro, total));
    if (r.weighted !== undefined) rows.push(row('weighted avg', r.weighted, total));
    out.push('', table(['CLASS', 'PRECISION', 'RECALL', 'F1', 'SUPPORT'], rows).trimEnd());
  }
  const cm = r.confusionMatrix;
  if (cm !== undefined && cm !== null) {
    out.push('', 'confusion matrix (rows: true class, columns: predicted class):');
    out.push(table(['', ...cm.map((_, k) => String(k))], cm.map((counts, k) => [String(k), ...counts.map(String)])).trimEnd());
  }
  return out.join('\n') + '\n';
}
