// Loads Fashion-MNIST (gzipped IDX, ../shared/data/fashion-mnist from the repo root) as core Datasets.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Dataset } from '../src/core/types.js';
import { parseIdx } from '../src/data/idx.js';

export const FASHION_MNIST_DIR = join('..', 'shared', 'data', 'fashion-mnist');

function load(dir: string, prefix: 'train' | 't10k'): Dataset {
  const images = readFileSync(join(dir, `${prefix}-images-idx3-ubyte.gz`));
  const labels = readFileSync(join(dir, `${prefix}-labels-idx1-ubyte.gz`));
  return parseIdx(images, labels).dataset;
}

export function loadFashionMnist(dir = FASHION_MNIST_DIR): { train: Dataset; test: Dataset; dir: string } {
  return { train: load(dir, 'train'), test: load(dir, 't10k'), dir };
}
