// Row-wise softmax for predict, bit-identical to softmaxRows (src/core/activations.ts): the same
// double arithmetic in the same order, rounded to float on store (built with -ffp-contract=off),
// and exp is the very function Math.exp calls: V8's own, which the node binary exports. Where it
// does not (another runtime, a build that hides it), softmax_available() is 0 and JavaScript does it.
#include <math.h>
#include <stddef.h>

#include "softmax.h"

// v8::base::ieee754::exp(double), weak: the addon still loads without it.
extern double _ZN2v84base7ieee7543expEd(double) __attribute__((weak));

int softmax_available(void) { return _ZN2v84base7ieee7543expEd != NULL; }

// Math.max(a, b): NaN if either is NaN, +0 over -0.
static inline double js_max(double a, double b) {
  if (isnan(a) || isnan(b)) return NAN;
  if (a == b) return signbit(a) ? b : a;
  return a > b ? a : b;
}

void softmax_rows(const float *Z, float *A, size_t rows, size_t cols) {
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
