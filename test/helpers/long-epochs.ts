// A job whose epochs last a second or two (1,200 mini-batches of 4 rows through two 256-unit
// layers): long enough for within-epoch progress to show, short enough for the test suite.
import { circleCsv } from './datasets.js';

export const LONG_EPOCH_ROWS = 6_000;
/** 80% of the rows train (validation fraction 0.2), 4 per mini-batch. */
export const LONG_EPOCH_STEPS = (LONG_EPOCH_ROWS * 0.8) / 4;

/** Uploads the dataset to a live service; returns its id. */
export async function uploadLongEpochDataset(baseUrl: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${baseUrl}/v1/datasets?label=label&name=long-epochs`, {
    method: 'POST',
    headers: { 'content-type': 'text/csv', ...headers },
    body: circleCsv(LONG_EPOCH_ROWS),
  });
  if (res.status !== 201) throw new Error(`upload: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

export function longEpochSpec(dataset: string, epochs: number): Record<string, unknown> {
  return {
    name: 'long-epochs',
    dataset,
    validation: { fraction: 0.2 },
    model: {
      layers: [
        { type: 'dense', units: 256, activation: 'relu' },
        { type: 'dense', units: 256, activation: 'relu' },
        { type: 'dense', units: 2 },
      ],
    },
    loss: 'softmax_cross_entropy',
    optimizer: { type: 'adam' },
    learningRate: 0.001,
    batchSize: 4,
    epochs,
    seed: 11,
  };
}
