// Built-in datasets by name: {"builtin": "spirals"} in a job spec needs no upload.

import type { DatasetMeta, LoadedDataset } from '../types.js';
import type { FloatDataset } from '../../core/types.js';
import { IRIS_CLASSES, IRIS_FEATURES, IRIS_ROWS } from './iris.js';
import { circles, linear, moons, sine, spirals, xor, type RawRows } from './synthetic.js';

export const BUILTIN_NAMES = ['xor', 'spirals', 'moons', 'circles', 'iris', 'sine', 'linear'] as const;
export type BuiltinName = (typeof BUILTIN_NAMES)[number];

interface Recipe {
  rows: () => RawRows;
  classes: number | null;
  featureNames: string[];
  classNames?: string[];
}

const RECIPES: Record<BuiltinName, Recipe> = {
  xor: { rows: xor, classes: 2, featureNames: ['x0', 'x1'] },
  spirals: { rows: spirals, classes: 3, featureNames: ['x0', 'x1'] },
  moons: { rows: moons, classes: 2, featureNames: ['x0', 'x1'] },
  circles: { rows: circles, classes: 2, featureNames: ['x0', 'x1'] },
  iris: {
    rows: () => ({ x: IRIS_ROWS.map((r) => r.slice(0, 4)), y: IRIS_ROWS.map((r) => r[4]) }),
    classes: 3,
    featureNames: [...IRIS_FEATURES],
    classNames: [...IRIS_CLASSES],
  },
  sine: { rows: sine, classes: null, featureNames: ['x'] },
  linear: { rows: linear, classes: null, featureNames: ['x0', 'x1', 'x2'] },
};

export function isBuiltinName(name: string): name is BuiltinName {
  return (BUILTIN_NAMES as readonly string[]).includes(name);
}

export function builtinDataset(name: BuiltinName): LoadedDataset & { dataset: FloatDataset } {
  const recipe = RECIPES[name];
  const raw = recipe.rows();
  const n = raw.y.length;
  const features = recipe.featureNames.length;
  const x = new Float32Array(n * features);
  raw.x.forEach((row, i) => x.set(row, i * features));
  const y = Float32Array.from(raw.y);
  const task = recipe.classes === null ? 'regression' : 'classification';
  return {
    dataset: { x, y, n, features, targetWidth: 1 },
    meta: { rows: n, features, classes: recipe.classes, task, targetWidth: 1 },
    featureNames: recipe.featureNames,
    ...(recipe.classNames !== undefined ? { classNames: recipe.classNames } : {}),
  };
}

const infoCache = new Map<BuiltinName, DatasetMeta>();

/** A built-in's metadata, generated once per process (for submit-time spec checks). */
export function builtinInfo(name: BuiltinName): DatasetMeta {
  let meta = infoCache.get(name);
  if (meta === undefined) {
    meta = builtinDataset(name).meta;
    infoCache.set(name, meta);
  }
  return { ...meta };
}
