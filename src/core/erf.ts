// The error function in float64, for the exact GELU. Two expansions without cancellation: a series
// of positive terms near 0 and the Laplace continued fraction for erfc in the tails.

const TWO_OVER_SQRT_PI = 1.1283791670955126;
const ONE_OVER_SQRT_PI = 0.5641895835477563;
const SERIES_LIMIT = 3;
// erfc switches to the continued fraction earlier, where 1 − erf would cancel; 150 terms, evaluated
// backwards, converge to full float64 precision from x = 2 on.
const FRACTION_FROM = 2;
const FRACTION_TERMS = 150;

/** erf(x) = 2/√π · e^{−x²} · Σ_n x·(2x²)^n / (1·3·…·(2n+1)), every term positive. */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/** erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), for x ≥ 2. */
function erfcFraction(x: number): number {
  let f = x;
  for (let n = FRACTION_TERMS; n >= 1; n--) f = x + n / 2 / f;
  return (ONE_OVER_SQRT_PI * Math.exp(-x * x)) / f;
}

export function erf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (Math.abs(x) < SERIES_LIMIT) return erfSeries(x);
  return x > 0 ? 1 - erfcFraction(x) : erfcFraction(-x) - 1;
}

/** 1 − erf(x), accurate in relative terms where erf(x) is near 1. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x >= FRACTION_FROM) return x > 27 ? 0 : erfcFraction(x);
  if (x <= -FRACTION_FROM) return 2 - erfcFraction(-x);
  return 1 - erfSeries(x);
}
