// Row-wise softmax (predict) and softmax cross-entropy over class labels (training), bit-identical
// to their TypeScript references: softmaxRows (src/core/activations.ts) and lossAndOutputs then
// lossBackward (src/core/losses.ts). The same double arithmetic in the same order, rounded to float
// on store (built with -ffp-contract=off). Exps and logs must round as Math.exp and Math.log do:
// those are V8's ports of fdlibm, which the node binary exports, and the scalar path calls them. On
// AVX-512 and AVX2 the exps of a block of rows are computed a vector at a time by exp-lanes.h,
// fdlibm's algorithm lane by lane; a vector width is used only after it has matched V8's exp on a
// sweep of its ranges in this process, and the tests compare it with Math.exp on millions of
// values. Where V8's exp (or, for the loss, log) is not exported, the *_available() functions say
// so and JavaScript does the work.
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "softmax.h"

// v8::base::ieee754::exp(double) and ::log(double), weak: the addon still loads without them.
extern double _ZN2v84base7ieee7543expEd(double) __attribute__((weak));
extern double _ZN2v84base7ieee7543logEd(double) __attribute__((weak));

int softmax_available(void) { return _ZN2v84base7ieee7543expEd != NULL; }
int softmax_ce_available(void) { return softmax_available() && _ZN2v84base7ieee7543logEd != NULL; }

// Math.max(a, b): NaN if either is NaN, +0 over -0.
static inline double js_max(double a, double b) {
  if (isnan(a) || isnan(b)) return NAN;
  if (a == b) return signbit(a) ? b : a;
  return a > b ? a : b;
}

#if defined(__x86_64__)
#include <immintrin.h>

// AVX-512DQ converts doubles and int64s directly.
#define LANES 8
#define LANES_SUFFIX 8
#define LANES_TARGET __attribute__((target("avx512f,avx512dq")))
#define LANES_TRUNCATE(v, k, t)                                                                              \
  do {                                                                                                       \
    k = __builtin_convertvector(v, vl);                                                                      \
    t = __builtin_convertvector(k, vd);                                                                      \
  } while (0)
#include "exp-lanes.h"
#include "ce-lanes.h"
#undef LANES
#undef LANES_SUFFIX
#undef LANES_TARGET
#undef LANES_TRUNCATE

// AVX2 has no double↔int64 conversion (the compiler would convert lane by lane): truncate to int32s
// as fdlibm does (the lanes that use k are well inside the int range), then widen.
#define LANES 4
#define LANES_SUFFIX 4
#define LANES_TARGET __attribute__((target("avx2")))
#define LANES_TRUNCATE(v, k, t)                                                                              \
  do {                                                                                                       \
    __m128i k32 = _mm256_cvttpd_epi32((__m256d)(v));                                                         \
    k = (vl)_mm256_cvtepi32_epi64(k32);                                                                      \
    t = (vd)_mm256_cvtepi32_pd(k32);                                                                         \
  } while (0)
#include "exp-lanes.h"
#include "ce-lanes.h"
#undef LANES
#undef LANES_SUFFIX
#undef LANES_TARGET
#undef LANES_TRUNCATE
#endif

typedef void (*exps_fn)(const double *x, double *y, size_t n);

// The vector exps for this CPU, widest first, each only if it gives V8's exp bits on a sweep of its
// ranges here (a node whose Math.exp changed algorithm would fail it and keep the scalar path).
// Decided once, the same in every thread; NULL: none.
static int vector_matches(exps_fn exps) {
  enum { PROBES = 1024 };
  double x[PROBES], y[PROBES];
  for (int i = 0; i < PROBES; i++) x[i] = -750.0 + 1460.0 * i / (PROBES - 1) + 1e-3 * (i % 7);
  exps(x, y, PROBES);
  for (int i = 0; i < PROBES; i++)
    if (memcmp(&y[i], &(double){_ZN2v84base7ieee7543expEd(x[i])}, sizeof(double)) != 0) return 0;
  return 1;
}

static exps_fn exps_of_width(int lanes) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (lanes == 8 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")) return exps_8;
  if (lanes == 4 && __builtin_cpu_supports("avx2")) return exps_4;
#endif
  (void)lanes;
  return NULL;
}

static _Atomic int vector_lanes = -1; // -1: not decided yet; 0: no vector path

static exps_fn vector_exps(void) {
  int lanes = vector_lanes;
  if (lanes < 0) {
    lanes = 0;
    if (softmax_available()) {
      for (int w = 8; w >= 4 && lanes == 0; w /= 2) {
        exps_fn f = exps_of_width(w);
        if (f != NULL && vector_matches(f)) lanes = w;
      }
    }
    vector_lanes = lanes;
  }
  return lanes == 0 ? NULL : exps_of_width(lanes);
}

int softmax_exp_doubles(const double *x, double *y, size_t n, int lanes) {
  exps_fn f = exps_of_width(lanes);
  if (f == NULL) return 0;
  f(x, y, n);
  return 1;
}

// Rows are processed a block at a time on the vector path: maxima, then all exps of the block, then
// sums and scaling row by row in the scalar order.
#define BLOCK 1024

// A row's maximum, as the reference's Math.max chain.
static inline double row_max(const float *z, size_t cols) {
  double max = -INFINITY;
  for (size_t j = 0; j < cols; j++) max = js_max(max, (double)z[j]);
  return max;
}

// a = e / Σe, rounded as the reference: a[j] = (float)e[j] first, then (float)(a[j] · (1 / sum)).
// e: the row's exps, or NULL to compute them here with V8's exp from z and max. Returns the sum.
static inline double normalize_row(const float *z, double max, const double *e, float *a, size_t cols) {
  double sum = 0;
  if (e != NULL) {
    for (size_t j = 0; j < cols; j++) {
      a[j] = (float)e[j];
      sum += e[j];
    }
  } else {
    double (*exp_js)(double) = _ZN2v84base7ieee7543expEd;
    for (size_t j = 0; j < cols; j++) {
      double ej = exp_js((double)z[j] - max);
      a[j] = (float)ej;
      sum += ej;
    }
  }
  double inv = 1 / sum;
  for (size_t j = 0; j < cols; j++) a[j] = (float)((double)a[j] * inv);
  return sum;
}

// The rows' exps into e (rows × cols doubles, rows·cols ≤ BLOCK), their maxima into max.
static void block_exps(exps_fn exps, const float *Z, size_t rows, size_t cols, double *max, double *e) {
  for (size_t r = 0; r < rows; r++) {
    const float *z = Z + r * cols;
    max[r] = row_max(z, cols);
    for (size_t j = 0; j < cols; j++) e[r * cols + j] = (double)z[j] - max[r];
  }
  exps(e, e, rows * cols);
}

// A = row-wise softmax of Z; with max and sum (rows ≤ BLOCK then), each row's maximum and sum of exps too.
static void softmax_block(const float *Z, float *A, size_t rows, size_t cols, int vector, double *max, double *sum) {
  exps_fn exps = vector && cols <= BLOCK ? vector_exps() : NULL;
  if (exps == NULL) {
    for (size_t r = 0; r < rows; r++) {
      double m = row_max(Z + r * cols, cols);
      double s = normalize_row(Z + r * cols, m, NULL, A + r * cols, cols);
      if (max != NULL) max[r] = m, sum[r] = s;
    }
    return;
  }
  double e[BLOCK] __attribute__((aligned(64)));
  double m[BLOCK];
  size_t per = BLOCK / cols;
  for (size_t r0 = 0; r0 < rows; r0 += per) {
    size_t nr = rows - r0 < per ? rows - r0 : per;
    block_exps(exps, Z + r0 * cols, nr, cols, m, e);
    for (size_t r = 0; r < nr; r++) {
      double s = normalize_row(NULL, 0, e + r * cols, A + (r0 + r) * cols, cols);
      if (max != NULL) max[r0 + r] = m[r], sum[r0 + r] = s;
    }
  }
}

void softmax_rows(const float *Z, float *A, size_t rows, size_t cols, int vector) {
  softmax_block(Z, A, rows, cols, vector, NULL, NULL);
}

// The loss and gradient of one row whose probabilities p are written and whose exps summed to sum:
// total += log Σ exp(z) − z[label]; dz = p / B, then dz[label] −= 1 / B. 0 when the label is not an
// integer in [0, cols) (the reference throws there).
static inline int ce_row(const float *z, double max, double sum, float label, const float *p, float *dz, size_t cols,
                         double scale, double *total, long *hits) {
  double c = label;
  if (!(c >= 0 && c < (double)cols) || (double)(size_t)c != c) return 0;
  size_t y = (size_t)c;
  *total += (max + _ZN2v84base7ieee7543logEd(sum)) - (double)z[y];
  if (hits != NULL) {
    // The predicted class as metrics.ts's argmax picks it: the first largest p (NaN never wins).
    size_t best = 0;
    float top = p[0];
    for (size_t j = 1; j < cols; j++)
      if (p[j] > top) top = p[j], best = j;
    *hits += best == y;
  }
  if (dz != NULL) {
    for (size_t j = 0; j < cols; j++) dz[j] = (float)((double)p[j] * scale);
    dz[y] = (float)((double)dz[y] - scale);
  }
  return 1;
}

typedef void (*ce_rows_fn)(const float *Z, const float *labels, float *P, float *dZ, size_t cols, double scale,
                           double *total, long *hits, double *x);

// ce-lanes.h's rows-in-lanes kernel of the width the vector exps use (NULL: none).
static ce_rows_fn vector_ce_rows(int *lanes) {
  if (vector_exps() == NULL) return NULL;
  *lanes = vector_lanes;
#if defined(__x86_64__)
  if (*lanes == 8) return ce_rows_8;
  if (*lanes == 4) return ce_rows_4;
#endif
  return NULL;
}

// True when every label is a class index (the reference throws at the first that is not).
static int labels_valid(const float *labels, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; r++) {
    double c = labels[r];
    if (!(c >= 0 && c < (double)cols) || (double)(size_t)c != c) return 0;
  }
  return 1;
}

long softmax_ce_labels(const float *Z, const float *labels, float *P, float *dZ, size_t rows, size_t cols, double *total,
                       long *hits, int vector) {
  double scale = 1 / (double)rows;
  double max[BLOCK], sum[BLOCK];
  *total = 0;
  if (hits != NULL) *hits = 0;
  int lanes = 0;
  ce_rows_fn lanes_fn = vector ? vector_ce_rows(&lanes) : NULL;
  size_t start = 0;
  // LANES rows at a time while whole groups remain; the rest (and any batch with a label that is
  // not a class index, which the scalar path reports) row by row below.
  if (lanes_fn != NULL && cols * (size_t)lanes <= BLOCK && labels_valid(labels, rows, cols)) {
    double x[BLOCK] __attribute__((aligned(64)));
    for (; start + (size_t)lanes <= rows; start += (size_t)lanes)
      lanes_fn(Z + start * cols, labels + start, P + start * cols, dZ ? dZ + start * cols : NULL, cols, scale, total, hits, x);
  }
  for (size_t r0 = start; r0 < rows; r0 += BLOCK) {
    size_t nr = rows - r0 < BLOCK ? rows - r0 : BLOCK;
    softmax_block(Z + r0 * cols, P + r0 * cols, nr, cols, vector, max, sum);
    for (size_t r = 0; r < nr; r++) {
      size_t row = r0 + r;
      if (!ce_row(Z + row * cols, max[r], sum[r], labels[row], P + row * cols, dZ ? dZ + row * cols : NULL, cols, scale, total,
                  hits))
        return (long)row;
    }
  }
  return -1;
}
