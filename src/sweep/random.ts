// The sweep's own seeded generator (splitmix32 feeding xorshift-multiply, 32-bit): proposals are
// a pure function of (sweep seed, trial number), so any process proposes trial k identically.

export interface SweepRandom {
  /** Uniform in [0, 1) with 32 random bits. */
  next(): number;
  /** Uniform integer in [0, n), n ≤ 2^32. */
  below(n: number): number;
  /** A uint32, e.g. a trial's job seed. */
  uint32(): number;
}

function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
  return (x ^ (x >>> 15)) >>> 0;
}

/** The generator for one trial of one sweep. */
export function trialRandom(seed: number, trial: number): SweepRandom {
  let state = mix((seed >>> 0) ^ mix(trial + 0x9e3779b9));
  const uint32 = () => {
    state = (state + 0x9e3779b9) >>> 0;
    return mix(state);
  };
  return {
    uint32,
    next: () => uint32() / 4294967296,
    below(n) {
      // Rejection keeps it unbiased for any n.
      const limit = 4294967296 - (4294967296 % n);
      for (;;) {
        const v = uint32();
        if (v < limit) return v % n;
      }
    },
  };
}
