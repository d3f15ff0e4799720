// Rows one epoch trains on, for traind_samples_trained_total: all of them, or whole batches only
// with dropLast (as src/core/train.ts batches them).

export function samplesPerEpoch(rows: number, batchSize: number | 'full', dropLast: boolean): number {
  const B = batchSize === 'full' ? rows : Math.min(batchSize, rows);
  return dropLast && B > 0 ? Math.floor(rows / B) * B : rows;
}
