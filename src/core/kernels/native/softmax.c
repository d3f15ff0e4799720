// Row-wise softmax for predict, bit-identical to softmaxRows (src/core/activations.ts): the same
// double arithmetic in the same order, rounded to float on store (built with -ffp-contract=off).
// Its exps must round as Math.exp does. Math.exp is V8's port of fdlibm's exp, which the node
// binary exports: the scalar path calls it. On AVX-512 the exps of a block of rows are computed
// eight at a time by exp8 below, fdlibm's algorithm lane by lane (every IEEE operation in the same
// order, the branches as lane masks); it is used only after it has matched V8's exp on a sweep of
// its ranges in this process, and the tests compare it with Math.exp on millions of values. Where
// V8's exp is not exported, softmax_available() is 0 and JavaScript does the softmax.
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "softmax.h"

// v8::base::ieee754::exp(double), weak: the addon still loads without it.
extern double _ZN2v84base7ieee7543expEd(double) __attribute__((weak));

int softmax_available(void) { return _ZN2v84base7ieee7543expEd != NULL; }

static int vector_path(void);

// Math.max(a, b): NaN if either is NaN, +0 over -0.
static inline double js_max(double a, double b) {
  if (isnan(a) || isnan(b)) return NAN;
  if (a == b) return signbit(a) ? b : a;
  return a > b ? a : b;
}

#if defined(__x86_64__)
typedef double vd __attribute__((vector_size(64)));
typedef int64_t vl __attribute__((vector_size(64)));

#define EXP8 __attribute__((target("avx512f,avx512dq")))

static inline EXP8 vd bits_to_vd(vl v) { return (vd)v; }
static inline EXP8 vd select(vl mask, vd yes, vd no) { return (vd)(((vl)yes & mask) | ((vl)no & ~mask)); }
static inline EXP8 vd splat(double v) { return (vd){v, v, v, v, v, v, v, v}; }
static inline EXP8 vl splatl(int64_t v) { return (vl){v, v, v, v, v, v, v, v}; }

// exp of 8 doubles with the results of fdlibm's e_exp.c as V8 has it (including its exp(1) = E).
// Constants: fdlibm's, given by their bit patterns.
static EXP8 vd exp8(vd x) {
  const vd one = splat(1.0), two = splat(2.0);
  const vd ln2hi = bits_to_vd(splatl(0x3FE62E42FEE00000)), ln2lo = bits_to_vd(splatl(0x3DEA39EF35793C76));
  const vd invln2 = bits_to_vd(splatl(0x3FF71547652B82FE));
  const vd P1 = bits_to_vd(splatl(0x3FC555555555553E)), P2 = bits_to_vd(splatl((int64_t)0xBF66C16C16BEBD93));
  const vd P3 = bits_to_vd(splatl(0x3F11566AAF25DE2C)), P4 = bits_to_vd(splatl((int64_t)0xBEBBBD41C5D26BF1));
  const vd P5 = bits_to_vd(splatl(0x3E66376972BEA4D0));
  const vd o_threshold = bits_to_vd(splatl(0x40862E42FEFA39EF)), u_threshold = bits_to_vd(splatl((int64_t)0xC0874910D52D3051));
  const vd E = bits_to_vd(splatl(0x4005BF0A8B145769));
  const vd two1023 = bits_to_vd(splatl(0x7FE0000000000000)), twom1000 = bits_to_vd(splatl(0x0170000000000000));

  vl bits = (vl)x;
  vl hx = (bits >> 32) & 0x7FFFFFFF;
  vl negative = bits < 0; // all ones where the sign bit is set
  // ±ln2 split, ±0.5: fdlibm's tables indexed by the sign.
  vd sln2hi = select(negative, -ln2hi, ln2hi), sln2lo = select(negative, -ln2lo, ln2lo);
  vd half = select(negative, splat(-0.5), splat(0.5));

  // Argument reduction: |x| in (0.5 ln2, 1.5 ln2): k = ±1; beyond: k = (int)(x/ln2 ± 0.5).
  vl near = (hx > 0x3FD62E42) & (hx < 0x3FF0A2B2);
  vl far = hx >= 0x3FF0A2B2;
  vl kfar = __builtin_convertvector(invln2 * x + half, vl);
  vd t = __builtin_convertvector(kfar, vd);
  vl k = (near & (negative | splatl(1))) | (far & kfar); // ±1 near (-1 is all ones), 0 when not reduced
  vd hi = select(near, x - sln2hi, select(far, x - t * ln2hi, splat(0.0)));
  vd lo = select(near, sln2lo, select(far, t * ln2lo, splat(0.0)));
  vl reduced = near | far;
  vd r = select(reduced, hi - lo, x);

  vd t2 = r * r;
  vd c = r - t2 * (P1 + t2 * (P2 + t2 * (P3 + t2 * (P4 + t2 * P5))));
  vd at_k0 = one - ((r * c) / (c - two) - r);
  vd y = one - ((lo - (r * c) / (two - c)) - hi);
  vl normal = k >= -1021;
  // 2^k times 1, or for k < -1021 2^(k+1000) times 2^-1000, or for k = 1024 2 times 2^1023: each
  // lane multiplies only by its own factors (a subnormal product in an unused lane would cost a
  // microcode assist on every call).
  vl top = k == 1024;
  vd twopk = (vd)((((normal & k) | (~normal & (k + 1000))) + 0x3FF) << 52);
  twopk = select(top, two, twopk);
  vd scale = select(normal, select(top, two1023, one), twom1000);
  vd scaled = y * twopk * scale;
  vd result = select(k == 0, at_k0, scaled);

  // The cases fdlibm returns early (their |x| ranges do not overlap, but for ±Infinity over the thresholds).
  result = select(hx < 0x3E300000, one + x, result); // |x| < 2^-28
  result = select(near & (x == one), E, result);
  vl big = hx >= 0x40862E42;
  result = select(big & (x < u_threshold), splat(0.0), result); // 2^-1000 · 2^-1000 underflows to +0
  result = select(big & (x > o_threshold), splat(INFINITY), result);
  vl nonfinite = hx >= 0x7FF00000;
  vl nan = nonfinite & (((hx & 0xFFFFF) | (bits & 0xFFFFFFFF)) != 0);
  result = select(nonfinite, select(negative, splat(0.0), x), result);
  result = select(nan, x + x, result);
  return result;
}

#define BLOCK 1024

// Rows of cols ≤ BLOCK, a block at a time: maxima, then all exps of the block, then sums and scaling
// row by row in the scalar order.
static EXP8 void softmax_rows_avx512(const float *Z, float *A, size_t rows, size_t cols) {
  double arg[BLOCK] __attribute__((aligned(64)));
  double e[BLOCK] __attribute__((aligned(64)));
  size_t per = BLOCK / cols;
  for (size_t r0 = 0; r0 < rows; r0 += per) {
    size_t nr = rows - r0 < per ? rows - r0 : per, n = nr * cols;
    for (size_t r = 0; r < nr; r++) {
      const float *z = Z + (r0 + r) * cols;
      double max = -INFINITY;
      for (size_t j = 0; j < cols; j++) max = js_max(max, (double)z[j]);
      for (size_t j = 0; j < cols; j++) arg[r * cols + j] = (double)z[j] - max;
    }
    size_t i = 0;
    for (; i + 8 <= n; i += 8) *(vd *)(e + i) = exp8(*(const vd *)(arg + i));
    if (i < n) {
      vd tail = splat(0.0);
      memcpy(&tail, arg + i, (n - i) * sizeof(double));
      tail = exp8(tail);
      memcpy(e + i, &tail, (n - i) * sizeof(double));
    }
    for (size_t r = 0; r < nr; r++) {
      float *a = A + (r0 + r) * cols;
      const double *er = e + r * cols;
      double sum = 0;
      for (size_t j = 0; j < cols; j++) {
        a[j] = (float)er[j];
        sum += er[j];
      }
      double inv = 1 / sum;
      for (size_t j = 0; j < cols; j++) a[j] = (float)((double)a[j] * inv);
    }
  }
}
#endif

static void softmax_rows_scalar(const float *Z, float *A, size_t rows, size_t cols) {
  double (*exp_js)(double) = _ZN2v84base7ieee7543expEd;
  for (size_t r = 0; r < rows; r++) {
    const float *z = Z + r * cols;
    float *a = A + r * cols;
    double max = -INFINITY;
    for (size_t j = 0; j < cols; j++) max = js_max(max, (double)z[j]);
    double sum = 0;
    for (size_t j = 0; j < cols; j++) {
      double e = exp_js((double)z[j] - max);
      a[j] = (float)e;
      sum += e;
    }
    double inv = 1 / sum;
    for (size_t j = 0; j < cols; j++) a[j] = (float)((double)a[j] * inv);
  }
}

#if defined(__x86_64__)
static EXP8 void exp_doubles_avx512(const double *x, double *y, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    vd v;
    memcpy(&v, x + i, sizeof v);
    v = exp8(v);
    memcpy(y + i, &v, sizeof v);
  }
  if (i < n) {
    vd v = splat(0.0);
    memcpy(&v, x + i, (n - i) * sizeof(double));
    v = exp8(v);
    memcpy(y + i, &v, (n - i) * sizeof(double));
  }
}
#endif

int softmax_exp_doubles(const double *x, double *y, size_t n) {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")) {
    exp_doubles_avx512(x, y, n);
    return 1;
  }
#endif
  (void)x;
  (void)y;
  (void)n;
  return 0;
}

// 1 when the vector exp gives V8's exp bits on a sweep of its ranges here (a node whose Math.exp
// changed algorithm would fail it and keep the scalar path); decided once, the same in every thread.
static _Atomic int vector_checked = -1;

static int vector_path(void) {
  int ok = vector_checked;
  if (ok >= 0) return ok;
  ok = 0;
#if defined(__x86_64__)
  if (softmax_available() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")) {
    enum { PROBES = 1024 };
    double x[PROBES], y[PROBES];
    for (int i = 0; i < PROBES; i++) x[i] = -750.0 + 1460.0 * i / (PROBES - 1) + 1e-3 * (i % 7);
    exp_doubles_avx512(x, y, PROBES);
    ok = 1;
    for (int i = 0; i < PROBES; i++)
      if (memcmp(&y[i], &(double){_ZN2v84base7ieee7543expEd(x[i])}, sizeof(double)) != 0) ok = 0;
  }
#endif
  vector_checked = ok;
  return ok;
}

void softmax_rows(const float *Z, float *A, size_t rows, size_t cols, int vector) {
#if defined(__x86_64__)
  if (vector && cols <= BLOCK && vector_path()) {
    softmax_rows_avx512(Z, A, rows, cols);
    return;
  }
#endif
  softmax_rows_scalar(Z, A, rows, cols);
}
