// One Keras-style line per finished epoch: "Epoch 3/10 - 0.41s - loss: 0.4512 - accuracy: 0.8125 - …".
import type { MetricsRecord } from '../client/index.js';

const METRIC_ORDER = ['loss', 'accuracy', 'mae', 'rmse', 'r2', 'val_loss', 'val_accuracy', 'val_mae', 'val_rmse', 'val_r2'] as const;

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toFixed(4);
}

export function epochLine(r: MetricsRecord, epochs: number | undefined): string {
  const parts = [`Epoch ${r.epoch}${epochs !== undefined ? `/${epochs}` : ''}`, `${r.seconds.toFixed(2)}s`];
  for (const name of METRIC_ORDER) {
    const v = r[name];
    if (typeof v === 'number') parts.push(`${name}: ${formatNumber(v)}`);
  }
  parts.push(`lr: ${formatNumber(r.lr)}`, `${Math.round(r.samplesPerSec)} samples/s`);
  return parts.join(' - ');
}
