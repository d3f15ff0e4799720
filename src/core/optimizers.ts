// Optimizer update rules, step for step the same as PyTorch's torch.optim (checked against
// fixtures): sgd (momentum, nesterov), adagrad, rmsprop (momentum, centered), adam (amsgrad), adamw.

import { CoreError } from './errors.js';
import type { Kernels } from './kernels/kernels.js';
import type { Param } from './model.js';
import type { OptimizerConfig } from './types.js';

/** One parameter's moments, named as in the update rules (PyTorch's names in brackets). */
export interface ParamMoments {
  name: string;
  shape: number[];
  /** Momentum buffer of sgd and rmsprop [momentum_buffer]. */
  buf?: Float32Array;
  /** Adam's first moment [exp_avg]. */
  m?: Float32Array;
  /** Second moment: adam's exp_avg_sq, rmsprop's square_avg, adagrad's running sum. */
  v?: Float32Array;
  /** amsgrad's running maximum of v [max_exp_avg_sq]. */
  vMax?: Float32Array;
  /** Centered rmsprop's running mean of the gradient [grad_avg]. */
  gAvg?: Float32Array;
}

export type MomentName = 'buf' | 'm' | 'v' | 'vMax' | 'gAvg';

/** `t` counts the updates made so far (PyTorch keeps one per parameter; ours always agree). */
export interface OptimizerState {
  t: number;
  moments: ParamMoments[];
}

export interface StateTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Which moments an optimizer keeps; their tensor names are `optimizer.<param>.<moment>`. */
export function momentNames(cfg: OptimizerConfig): MomentName[] {
  switch (cfg.type) {
    case 'sgd':
      return cfg.momentum > 0 ? ['buf'] : [];
    case 'adagrad':
      return ['v'];
    case 'rmsprop': {
      const names: MomentName[] = ['v'];
      if (cfg.momentum > 0) names.push('buf');
      if (cfg.centered) names.push('gAvg');
      return names;
    }
    case 'adam':
    case 'adamw':
      return cfg.amsgrad ? ['m', 'v', 'vMax'] : ['m', 'v'];
  }
}

/** `alloc` makes the (zeroed) moment buffers: the training backend's, so they lie as its kernels like them. */
export function createOptimizerState(cfg: OptimizerConfig, params: Param[], alloc: (length: number) => Float32Array = (n) => new Float32Array(n)): OptimizerState {
  const names = momentNames(cfg);
  const moments = params.map((p) => {
    const pm: ParamMoments = { name: p.name, shape: [...p.shape] };
    for (const n of names) pm[n] = alloc(p.data.length);
    // PyTorch's Adagrad starts its sum at initial_accumulator_value, not 0.
    if (cfg.type === 'adagrad') pm.v?.fill(cfg.initialAccumulator);
    return pm;
  });
  return { t: 0, moments };
}

/** One update of every parameter from its accumulated `grad`, with learning rate `lr`. */
export function optimizerStep(cfg: OptimizerConfig, params: Param[], state: OptimizerState, lr: number, kernels?: Kernels): void {
  state.t += 1;
  const t = state.t;
  for (let k = 0; k < params.length; k++) {
    const p = params[k]!;
    const s = state.moments[k]!;
    switch (cfg.type) {
      case 'sgd':
        // The backend's SGD pass, when it has one, computes the same bits as sgdStep.
        if (kernels?.sgdStep) kernels.sgdStep(p.data, p.grad, s.buf ?? null, p.data.length, lr, cfg.momentum, cfg.nesterov);
        else sgdStep(p.data, p.grad, s.buf ?? null, lr, cfg.momentum, cfg.nesterov);
        break;
      case 'adagrad':
        adagradStep(p.data, p.grad, s.v!, lr, cfg.epsilon);
        break;
      case 'rmsprop':
        rmspropStep(p.data, p.grad, s.v!, s.gAvg ?? null, s.buf ?? null, lr, cfg.rho, cfg.momentum, cfg.epsilon);
        break;
      case 'adam':
        adamStep(p.data, p.grad, s.m!, s.v!, s.vMax ?? null, t, lr, cfg.beta1, cfg.beta2, cfg.epsilon, cfg.weightDecay, 0);
        break;
      case 'adamw':
        adamStep(p.data, p.grad, s.m!, s.v!, s.vMax ?? null, t, lr, cfg.beta1, cfg.beta2, cfg.epsilon, 0, cfg.weightDecay);
        break;
    }
  }
}

// torch.optim.SGD with dampening 0: buf = μ·buf + g (the first step's buf = g falls out of buf = 0);
// nesterov steps along g + μ·buf instead of buf.
function sgdStep(
  w: Float32Array,
  g: Float32Array,
  buf: Float32Array | null,
  lr: number,
  momentum: number,
  nesterov: boolean,
): void {
  const n = w.length;
  if (buf === null) {
    for (let i = 0; i < n; i++) w[i] = w[i]! - lr * g[i]!;
    return;
  }
  for (let i = 0; i < n; i++) {
    buf[i] = momentum * buf[i]! + g[i]!;
    w[i] = w[i]! - lr * (nesterov ? g[i]! + momentum * buf[i]! : buf[i]!);
  }
}

// torch.optim.Adagrad (lr_decay 0): sum += g²; w -= lr·g / (√sum + ε) — ε outside the root.
function adagradStep(w: Float32Array, g: Float32Array, sum: Float32Array, lr: number, eps: number): void {
  for (let i = 0; i < w.length; i++) {
    const gi = g[i]!;
    sum[i] = sum[i]! + gi * gi;
    w[i] = w[i]! - (lr * gi) / (Math.sqrt(sum[i]!) + eps);
  }
}

// torch.optim.RMSprop: v = ρ·v + (1-ρ)·g²; centered subtracts the squared running mean of g;
// with momentum the step g/(√v + ε) goes through a buffer.
function rmspropStep(
  w: Float32Array,
  g: Float32Array,
  v: Float32Array,
  gAvg: Float32Array | null,
  buf: Float32Array | null,
  lr: number,
  rho: number,
  momentum: number,
  eps: number,
): void {
  for (let i = 0; i < w.length; i++) {
    const gi = g[i]!;
    v[i] = rho * v[i]! + (1 - rho) * gi * gi;
    let variance = v[i]!;
    if (gAvg !== null) {
      gAvg[i] = rho * gAvg[i]! + (1 - rho) * gi;
      // v ≥ gAvg² in exact arithmetic; the clamp only keeps rounding from producing √(negative).
      variance = Math.max(0, variance - gAvg[i]! * gAvg[i]!);
    }
    const update = gi / (Math.sqrt(variance) + eps);
    if (buf !== null) {
      buf[i] = momentum * buf[i]! + update;
      w[i] = w[i]! - lr * buf[i]!;
    } else {
      w[i] = w[i]! - lr * update;
    }
  }
}

// torch.optim.Adam / AdamW: coupled decay adds λ·w to the gradient (Adam), decoupled decay
// shrinks w by (1 - lr·λ) first (AdamW). Bias corrections fold into one step size and denominator.
function adamStep(
  w: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  vMax: Float32Array | null,
  t: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  coupledDecay: number,
  decoupledDecay: number,
): void {
  const stepSize = lr / (1 - beta1 ** t);
  const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
  const shrink = 1 - lr * decoupledDecay;
  for (let i = 0; i < w.length; i++) {
    if (decoupledDecay !== 0) w[i] = w[i]! * shrink;
    const wi = w[i]!;
    const gi = coupledDecay !== 0 ? g[i]! + coupledDecay * wi : g[i]!;
    m[i] = beta1 * m[i]! + (1 - beta1) * gi;
    v[i] = beta2 * v[i]! + (1 - beta2) * gi * gi;
    let second = v[i]!;
    if (vMax !== null) {
      if (second > vMax[i]!) vMax[i] = second;
      second = vMax[i]!;
    }
    w[i] = wi - (stepSize * m[i]!) / (Math.sqrt(second) / bc2Sqrt + eps);
  }
}

// Exact step counts up to 2^48 in float32 tensors: t = hi·2^24 + lo.
const T_SPLIT = 2 ** 24;

/** The state as named tensors for the resume file. The moment tensors are views, not copies. */
export function optimizerStateTensors(state: OptimizerState): StateTensor[] {
  const tensors: StateTensor[] = [
    { name: 'optimizer.t', shape: [2], data: Float32Array.of(Math.floor(state.t / T_SPLIT), state.t % T_SPLIT) },
  ];
  for (const pm of state.moments) {
    for (const n of ['buf', 'm', 'v', 'vMax', 'gAvg'] as const) {
      const data = pm[n];
      if (data !== undefined) tensors.push({ name: `optimizer.${pm.name}.${n}`, shape: [...pm.shape], data });
    }
  }
  return tensors;
}

/** Rebuilds the state saved by optimizerStateTensors (copies the data); refuses a mismatch. */
export function restoreOptimizerState(
  cfg: OptimizerConfig,
  params: Param[],
  tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>,
  alloc?: (length: number) => Float32Array,
): OptimizerState {
  const state = createOptimizerState(cfg, params, alloc);
  const tt = tensors.get('optimizer.t');
  if (tt === undefined || tt.data.length !== 2) {
    throw new CoreError('optimizer', 'resume state lacks tensor optimizer.t of shape [2]');
  }
  state.t = tt.data[0]! * T_SPLIT + tt.data[1]!;
  for (const pm of state.moments) {
    for (const n of momentNames(cfg)) {
      const name = `optimizer.${pm.name}.${n}`;
      const saved = tensors.get(name);
      const target = pm[n]!;
      if (saved === undefined) throw new CoreError('optimizer', `resume state lacks tensor ${name}`);
      if (saved.data.length !== target.length || saved.shape.join(',') !== pm.shape.join(',')) {
        throw new CoreError(
          'optimizer',
          `resume tensor ${name} has shape [${saved.shape.join(', ')}], expected [${pm.shape.join(', ')}]`,
        );
      }
      target.set(saved.data);
    }
  }
  return state;
}

/** Refuses settings PyTorch/Keras refuse, or that cannot train (ε = 0 can divide 0 by 0). */
export function validateOptimizer(cfg: OptimizerConfig, path = 'optimizer'): void {
  const within = (field: string, value: number, lo: number, hi: number, hiOpen: boolean): void => {
    if (!Number.isFinite(value) || value < lo || (hiOpen ? value >= hi : value > hi)) {
      throw new CoreError(`${path}.${field}`, `${field} must be in [${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${value}`);
    }
  };
  const positive = (field: string, value: number): void => {
    if (!Number.isFinite(value) || value <= 0) {
      throw new CoreError(`${path}.${field}`, `${field} must be > 0, got ${value}`);
    }
  };
  const nonNegative = (field: string, value: number): void => {
    if (!Number.isFinite(value) || value < 0) {
      throw new CoreError(`${path}.${field}`, `${field} must be >= 0, got ${value}`);
    }
  };
  switch (cfg.type) {
    case 'sgd':
      within('momentum', cfg.momentum, 0, 1, false);
      if (cfg.nesterov && cfg.momentum === 0) {
        throw new CoreError(`${path}.nesterov`, 'nesterov requires momentum > 0, got momentum 0');
      }
      return;
    case 'adagrad':
      nonNegative('initialAccumulator', cfg.initialAccumulator);
      positive('epsilon', cfg.epsilon);
      return;
    case 'rmsprop':
      within('rho', cfg.rho, 0, 1, true);
      within('momentum', cfg.momentum, 0, 1, false);
      positive('epsilon', cfg.epsilon);
      return;
    case 'adam':
    case 'adamw':
      within('beta1', cfg.beta1, 0, 1, true);
      within('beta2', cfg.beta2, 0, 1, true);
      positive('epsilon', cfg.epsilon);
      nonNegative('weightDecay', cfg.weightDecay);
      return;
  }
}
