// The generated built-in datasets. Each is a fixed recipe with a fixed seed, rows shuffled once,
// so {"builtin": "moons"} means the same data on every machine and in every release.

import { normal, permutation, seededRandom, type Random } from './random.js';

/** Rows as plain arrays before packing: features and one target (class index or value). */
export interface RawRows {
  x: number[][];
  y: number[];
}

/** The four XOR truth-table rows. */
export function xor(): RawRows {
  return { x: [[0, 0], [0, 1], [1, 0], [1, 1]], y: [0, 1, 1, 0] };
}

/** CS231n's three interleaved spirals: 100 points per class, angle noise 0.2. */
export function spirals(): RawRows {
  const rand = seededRandom(231);
  const K = 3;
  const perClass = 100;
  const out: RawRows = { x: [], y: [] };
  for (let k = 0; k < K; k++) {
    for (let i = 0; i < perClass; i++) {
      const r = i / (perClass - 1);
      const t = 4 * k + (4 * i) / (perClass - 1) + 0.2 * normal(rand);
      out.x.push([r * Math.sin(t), r * Math.cos(t)]);
      out.y.push(k);
    }
  }
  return shuffled(out, rand);
}

/** scikit-learn's make_moons: 500 points, Gaussian noise 0.1. */
export function moons(): RawRows {
  const rand = seededRandom(7);
  const half = 250;
  const out: RawRows = { x: [], y: [] };
  for (let i = 0; i < half; i++) {
    const t = (Math.PI * i) / (half - 1);
    out.x.push([Math.cos(t) + 0.1 * normal(rand), Math.sin(t) + 0.1 * normal(rand)]);
    out.y.push(0);
    out.x.push([1 - Math.cos(t) + 0.1 * normal(rand), 1 - Math.sin(t) - 0.5 + 0.1 * normal(rand)]);
    out.y.push(1);
  }
  return shuffled(out, rand);
}

/** scikit-learn's make_circles: 500 points, inner radius factor 0.5, noise 0.05. */
export function circles(): RawRows {
  const rand = seededRandom(11);
  const half = 250;
  const out: RawRows = { x: [], y: [] };
  for (let i = 0; i < half; i++) {
    const t = (2 * Math.PI * i) / half;
    out.x.push([Math.cos(t) + 0.05 * normal(rand), Math.sin(t) + 0.05 * normal(rand)]);
    out.y.push(0);
    out.x.push([0.5 * Math.cos(t) + 0.05 * normal(rand), 0.5 * Math.sin(t) + 0.05 * normal(rand)]);
    out.y.push(1);
  }
  return shuffled(out, rand);
}

/** Regression: y = sin(x) + N(0, 0.05²), x uniform in [-π, π], 500 points. */
export function sine(): RawRows {
  const rand = seededRandom(3);
  const out: RawRows = { x: [], y: [] };
  for (let i = 0; i < 500; i++) {
    const x = Math.PI * (2 * rand() - 1);
    out.x.push([x]);
    out.y.push(Math.sin(x) + 0.05 * normal(rand));
  }
  return out;
}

/** Regression: y = 2·x0 − 3·x1 + 0.5·x2 + 1 + N(0, 0.1²), x uniform in [-1, 1]³, 500 points. */
export function linear(): RawRows {
  const rand = seededRandom(5);
  const out: RawRows = { x: [], y: [] };
  for (let i = 0; i < 500; i++) {
    const x = [2 * rand() - 1, 2 * rand() - 1, 2 * rand() - 1];
    out.x.push(x);
    out.y.push(2 * (x[0] as number) - 3 * (x[1] as number) + 0.5 * (x[2] as number) + 1 + 0.1 * normal(rand));
  }
  return out;
}

function shuffled(rows: RawRows, rand: Random): RawRows {
  const p = permutation(rand, rows.y.length);
  return { x: Array.from(p, (i) => rows.x[i] as number[]), y: Array.from(p, (i) => rows.y[i] as number) };
}
