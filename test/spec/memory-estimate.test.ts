// A job spec and its dataset's metadata → the core's memory estimate, and the limit check that
// names the driving field.
import { describe, expect, it } from 'vitest';
import { MemoryEstimateSchema } from '../../src/api/schemas.js';
import { memoryEstimate } from '../../src/core/index.js';
import { JobSpecSchema } from '../../src/spec/job-spec.js';
import { checkMemoryLimit, memoryDriver, specMemoryEstimate } from '../../src/spec/memory-estimate.js';
import { toTrainConfig, type DatasetInfo } from '../../src/spec/to-train-config.js';

const wide: DatasetInfo = { rows: 10_000, features: 1, classes: null, task: 'regression', targetWidth: 1 };
const tall: DatasetInfo = { rows: 1_000_000, features: 200, classes: null, task: 'regression', targetWidth: 1 };

const spec = (extra: Record<string, unknown> = {}) =>
  JobSpecSchema.parse({
    dataset: 'ds_01JD0000000000000000000000',
    model: { layers: [{ type: 'dense', units: 64, activation: 'relu' }, { type: 'dense', units: 1 }] },
    loss: 'mse',
    ...extra,
  });

/** The core's estimate plus the held-out rows' copy while the worker splits them off (bytes per row). */
function withLoading(core: ReturnType<typeof memoryEstimate>, heldOutRows: number, rowBytes: number) {
  const datasetLoading = heldOutRows * rowBytes;
  return { bytes: core.bytes + datasetLoading, parts: { ...core.parts, datasetLoading } };
}

describe('specMemoryEstimate', () => {
  it("counts a fine-tuned job's starting checkpoint: its bytes and decoded tensors, 8 bytes per parameter (and per normalize statistic)", () => {
    const plain = specMemoryEstimate(spec({ normalize: 'standard' }), tall, null);
    const tuned = specMemoryEstimate(spec({ normalize: 'standard', initFrom: { job: 'job_01JD0000000000000000000000' } }), tall, null);
    const params = 200 * 64 + 64 + 64 + 1;
    expect(tuned.parts.serialization - plain.parts.serialization).toBe(8 * (params + 2 * 200));
    expect(tuned.bytes - plain.bytes).toBe(8 * (params + 2 * 200));
  });

  it('splits the rows by the validation fraction, as the worker does (ceil for validation)', () => {
    const s = spec({ validation: { fraction: 0.15 } });
    const got = specMemoryEstimate(s, wide, null);
    expect(got).toEqual(withLoading(memoryEstimate(toTrainConfig(s), { trainRows: 8_500, validationRows: 1_500, features: 1, targetWidth: 1 }), 1_500, 8));
  });

  it('counts a separate validation dataset\'s rows, and none without validation', () => {
    const v: DatasetInfo = { ...wide, rows: 3_000 };
    const s = spec({ validation: { dataset: 'ds_01JD0000000000000000000001' } });
    expect(specMemoryEstimate(s, wide, v)).toEqual(withLoading(memoryEstimate(toTrainConfig(s), { trainRows: 10_000, validationRows: 3_000, features: 1, targetWidth: 1 }), 0, 0));
    const plain = specMemoryEstimate(spec(), wide, null);
    expect(plain.parts.dataset).toBe(10_000 * 2 * 4);
    expect(plain.parts.datasetLoading).toBe(0);
    expect(plain.bytes).toBe(Object.values(plain.parts).reduce((a, b) => a + b, 0));
  });
});

describe('byte features (IDX pixels stored as bytes)', () => {
  it('count 1 byte a feature, plus one float chunk to validate on; standardization makes them floats', () => {
    const fashion: DatasetInfo = { rows: 60_000, features: 784, classes: 10, task: 'classification', targetWidth: 1, featureBytes: 1 };
    const s = JobSpecSchema.parse({
      dataset: 'ds_01JD0000000000000000000000',
      validation: { fraction: 0.1 },
      model: { layers: [{ type: 'dense', units: 256, activation: 'relu' }, { type: 'dense', units: 128, activation: 'relu' }, { type: 'dense', units: 10 }] },
      loss: 'softmax_cross_entropy',
      batchSize: 1024,
    });
    const bytes = specMemoryEstimate(s, fashion, null);
    const floats = specMemoryEstimate(s, { ...fashion, featureBytes: 4 }, null);
    expect(bytes.parts.dataset).toBe(60_000 * (784 + 4));
    expect(floats.parts.dataset).toBe(60_000 * 785 * 4);
    expect(bytes.parts.datasetLoading).toBe(6_000 * (784 + 4));
    expect(bytes.parts.activations - floats.parts.activations).toBe(4 * 1024 * 784);
    // The service's measured peak for this job is about 150 MiB, its process included.
    expect(bytes.bytes).toBeLessThan(floats.bytes / 2);
    const normalized = { ...s, normalize: 'standard' as const };
    expect(specMemoryEstimate(normalized, fashion, null).parts.dataset).toBe(specMemoryEstimate(normalized, { ...fashion, featureBytes: 4 }, null).parts.dataset);
  });
});

describe('checkMemoryLimit', () => {
  it('accepts an estimate equal to the limit and refuses one byte less of limit', () => {
    const e = specMemoryEstimate(spec({ batchSize: 'full' }), wide, null);
    expect(checkMemoryLimit(e, e.bytes)).toEqual([]);
    const [issue] = checkMemoryLimit(e, e.bytes - 1);
    expect(issue?.path).toEqual(['batchSize']);
    expect(issue?.message).toContain(`estimated ${e.bytes} bytes`);
    expect(issue?.message).toContain(`MAX_JOB_MEMORY_BYTES = ${e.bytes - 1}`);
  });

  it('names the dataset when the rows are what is big', () => {
    const e = specMemoryEstimate(spec({ batchSize: 32 }), tall, null);
    expect(memoryDriver(e.parts).path).toBe('dataset');
    expect(checkMemoryLimit(e, 2 ** 28)[0]?.path).toEqual(['dataset']);
  });

  it('names model.layers when parameters and their copies dominate', () => {
    const big = spec({ model: { layers: [{ type: 'dense', units: 4096, activation: 'relu' }, { type: 'dense', units: 4096 }, { type: 'dense', units: 1 }] }, optimizer: { type: 'adam' } });
    const e = specMemoryEstimate(big, wide, null);
    expect(memoryDriver(e.parts).path).toBe('model.layers');
  });
});

it('the API schema lists exactly the core\'s memory parts', () => {
  const e = specMemoryEstimate(spec(), wide, null);
  expect(Object.keys(MemoryEstimateSchema.shape.parts.shape).sort()).toEqual(Object.keys(e.parts).sort());
});
