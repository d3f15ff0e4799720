// Weight and bias initialization from the core's one Rng. Fan-based schemes follow PyTorch's
// nn.init (xavier/he/lecun with plain, untruncated normals). Constant weights are refused.

import { CoreError } from './errors.js';
import { nextDouble, nextNormal, type Rng } from './rng.js';
import type { Init } from './types.js';

export type InitRole = 'weight' | 'bias';

function describe(init: Init): string {
  return typeof init === 'string' ? init : init.type;
}

const SAME_GRADIENT =
  'every unit of the layer would compute the same output and get the same gradient, so they would ' +
  'stay identical through training; use a random initializer such as he_normal or xavier_uniform';

/**
 * Throws CoreError when `init` cannot be used for `role`: constant (or zero-spread random) weights,
 * and non-finite or negative parameters. `path` names the config field in the error.
 */
export function validateInit(init: Init, role: InitRole, path: string): void {
  if (typeof init === 'string') {
    if (init === 'zeros' && role === 'weight') {
      throw new CoreError(path, `zeros is refused for weights: ${SAME_GRADIENT}`);
    }
    if (!['xavier_uniform', 'xavier_normal', 'he_uniform', 'he_normal', 'lecun_normal', 'zeros'].includes(init)) {
      throw new CoreError(path, `unknown initializer '${String(init)}'`);
    }
    return;
  }
  switch (init.type) {
    case 'constant':
      if (!Number.isFinite(init.value)) throw new CoreError(`${path}.value`, `constant value must be finite, got ${init.value}`);
      if (role === 'weight') {
        throw new CoreError(path, `constant weights (value ${init.value}) are refused: ${SAME_GRADIENT}`);
      }
      return;
    case 'normal': {
      const mean = init.mean ?? 0;
      if (!Number.isFinite(mean)) throw new CoreError(`${path}.mean`, `mean must be finite, got ${mean}`);
      if (!Number.isFinite(init.std) || init.std < 0) {
        throw new CoreError(`${path}.std`, `std must be finite and >= 0, got ${init.std}`);
      }
      if (init.std === 0 && role === 'weight') {
        throw new CoreError(`${path}.std`, `a normal with std 0 gives constant weights: ${SAME_GRADIENT}`);
      }
      return;
    }
    case 'uniform':
      if (!Number.isFinite(init.limit) || init.limit < 0) {
        throw new CoreError(`${path}.limit`, `limit must be finite and >= 0, got ${init.limit}`);
      }
      if (init.limit === 0 && role === 'weight') {
        throw new CoreError(`${path}.limit`, `a uniform with limit 0 gives zero weights: ${SAME_GRADIENT}`);
      }
      return;
    default:
      throw new CoreError(path, `unknown initializer '${describe(init)}'`);
  }
}

function fillUniform(out: Float32Array, limit: number, rng: Rng): void {
  for (let i = 0; i < out.length; i++) out[i] = (2 * nextDouble(rng) - 1) * limit;
}

function fillNormal(out: Float32Array, mean: number, std: number, rng: Rng): void {
  for (let i = 0; i < out.length; i++) out[i] = mean + std * nextNormal(rng);
}

/**
 * Fills `out` (a weight [O × I] with fanIn I, fanOut O, or a bias) by `init`.
 * Throws CoreError (at `path`) for constant weights, saying why.
 */
export function initialize(
  out: Float32Array,
  init: Init,
  fanIn: number,
  fanOut: number,
  rng: Rng,
  role: InitRole,
  path = 'init',
): void {
  validateInit(init, role, path);
  if (typeof init === 'string') {
    switch (init) {
      case 'xavier_uniform':
        return fillUniform(out, Math.sqrt(6 / (fanIn + fanOut)), rng);
      case 'xavier_normal':
        return fillNormal(out, 0, Math.sqrt(2 / (fanIn + fanOut)), rng);
      case 'he_uniform':
        return fillUniform(out, Math.sqrt(6 / fanIn), rng);
      case 'he_normal':
        return fillNormal(out, 0, Math.sqrt(2 / fanIn), rng);
      case 'lecun_normal':
        return fillNormal(out, 0, Math.sqrt(1 / fanIn), rng);
      case 'zeros':
        out.fill(0);
        return;
    }
  }
  switch (init.type) {
    case 'constant':
      out.fill(init.value);
      return;
    case 'normal':
      return fillNormal(out, init.mean ?? 0, init.std, rng);
    case 'uniform':
      return fillUniform(out, init.limit, rng);
  }
}
