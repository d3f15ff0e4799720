// Element-wise passes of a training step in C, bit-identical to the TypeScript loops they replace
// (src/core/activations.ts, dense.ts, optimizers.ts, train.ts): the arithmetic is done in double
// as JavaScript does, in the same order, rounded to float on store, and built with
// -ffp-contract=off so no multiply-add is fused. Only the speed differs.
#include <stdint.h>
#include <string.h>

#include "byte-quotient.h"
#include "elementwise.h"

#if defined(__x86_64__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES
#endif

CLONES void ew_relu_forward(const float *Z, float *A, size_t n) {
  for (size_t i = 0; i < n; i++) A[i] = Z[i] > 0 ? Z[i] : 0.0f;
}

CLONES void ew_leaky_relu_forward(const float *Z, float *A, size_t n, double alpha) {
  for (size_t i = 0; i < n; i++) A[i] = Z[i] > 0 ? Z[i] : (float)(alpha * (double)Z[i]);
}

CLONES void ew_relu_backward(const float *Z, const float *dA, float *dZ, size_t n) {
  for (size_t i = 0; i < n; i++) dZ[i] = Z[i] > 0 ? dA[i] : 0.0f;
}

CLONES void ew_leaky_relu_backward(const float *Z, const float *dA, float *dZ, size_t n, double alpha) {
  for (size_t i = 0; i < n; i++) dZ[i] = Z[i] > 0 ? dA[i] : (float)(alpha * (double)dA[i]);
}

CLONES void ew_sigmoid_backward(const float *A, const float *dA, float *dZ, size_t n) {
  for (size_t i = 0; i < n; i++) {
    double a = A[i];
    dZ[i] = (float)(a * (1.0 - a) * (double)dA[i]);
  }
}

CLONES void ew_tanh_backward(const float *A, const float *dA, float *dZ, size_t n) {
  for (size_t i = 0; i < n; i++) {
    double a = A[i];
    dZ[i] = (float)((1.0 - a * a) * (double)dA[i]);
  }
}

// db[o] += Σ_r dZ[r·O + o], each column summed in double in row order (as dense.ts does), a block
// of columns at a time so the rows are read contiguously.
#define BIAS_BLOCK 512
CLONES void ew_bias_gradient(const float *dZ, float *db, size_t B, size_t O) {
  double acc[BIAS_BLOCK];
  for (size_t o0 = 0; o0 < O; o0 += BIAS_BLOCK) {
    size_t w = O - o0 < BIAS_BLOCK ? O - o0 : BIAS_BLOCK;
    for (size_t j = 0; j < w; j++) acc[j] = 0.0;
    for (size_t r = 0; r < B; r++) {
      const float *row = dZ + r * O + o0;
      for (size_t j = 0; j < w; j++) acc[j] += (double)row[j];
    }
    for (size_t j = 0; j < w; j++) db[o0 + j] = (float)((double)db[o0 + j] + acc[j]);
  }
}

// torch.optim.SGD (dampening 0) exactly as optimizers.ts: buf = μ·buf + g; w −= lr·(buf or g + μ·buf).
CLONES void ew_sgd_step(float *w, const float *g, float *buf, size_t n, double lr, double momentum, int nesterov) {
  if (!buf) {
    for (size_t i = 0; i < n; i++) w[i] = (float)((double)w[i] - lr * (double)g[i]);
    return;
  }
  if (nesterov) {
    for (size_t i = 0; i < n; i++) {
      float b = (float)(momentum * (double)buf[i] + (double)g[i]);
      buf[i] = b;
      w[i] = (float)((double)w[i] - lr * ((double)g[i] + momentum * (double)b));
    }
  } else {
    for (size_t i = 0; i < n; i++) {
      float b = (float)(momentum * (double)buf[i] + (double)g[i]);
      buf[i] = b;
      w[i] = (float)((double)w[i] - lr * (double)b);
    }
  }
}

// Rows are gathered in a random order, so the hardware prefetcher cannot guess the next one: ask for
// the row this many rows ahead while converting the current one (halves the gather of Fashion-MNIST
// batches here).
#define PREFETCH_ROWS 4

static inline void prefetch_row(const void *row, size_t bytes) {
  for (size_t off = 0; off < bytes; off += 64) __builtin_prefetch((const char *)row + off);
}

void ew_gather_rows(const float *src, size_t width, const int32_t *order, size_t count, float *dst) {
  // One float a row (class labels): a load each; a prefetch and a memcpy call per row cost 10× that.
  if (width == 1) {
    for (size_t r = 0; r < count; r++) dst[r] = src[order[r]];
    return;
  }
  for (size_t r = 0; r < count; r++) {
    if (r + PREFETCH_ROWS < count) prefetch_row(src + (size_t)order[r + PREFETCH_ROWS] * width, width * sizeof(float));
    memcpy(dst + r * width, src + (size_t)order[r] * width, width * sizeof(float));
  }
}

void ew_copy_byte_rows(const uint8_t *src, size_t width, const int32_t *order, size_t count, uint8_t *dst) {
  for (size_t r = 0; r < count; r++) {
    if (r + PREFETCH_ROWS < count) prefetch_row(src + (size_t)order[r + PREFETCH_ROWS] * width, width);
    memcpy(dst + r * width, src + (size_t)order[r] * width, width);
  }
}

// Bytes read as byte / 255 (IDX pixels stored compactly). A float division is correctly rounded, and
// b / 255 (b < 256) is never near a float's rounding midpoint, so this equals JavaScript's
// Math.fround(b / 255) for every byte (a test checks all 256).
//
// Where the CPU has FMA the quotient is had without dividing (byte-quotient.h): that gives the
// division's float for all 256 bytes (the same test checks it) and is cheaper, as vector divides issue
// one every several cycles (first written as q = b·r plus one correction: an epoch of batch-1024
// gathers from Fashion-MNIST, 117 → 78 µs a batch on an AMD EPYC Zen 5, in C; now one operation
// fewer). Without FMA the sum would round twice, so those CPUs divide.
CLONES static void gather_bytes_divide(const uint8_t *src, size_t width, const int32_t *order, size_t count, float *dst) {
  for (size_t r = 0; r < count; r++) {
    if (r + PREFETCH_ROWS < count) prefetch_row(src + (size_t)order[r + PREFETCH_ROWS] * width, width);
    const uint8_t *row = src + (size_t)order[r] * width;
    float *out = dst + r * width;
    for (size_t j = 0; j < width; j++) out[j] = (float)row[j] / 255.0f;
  }
}

#if defined(__x86_64__)
#include <immintrin.h>

// The quotient of the comment above, a vector at a time, then a scalar tail.
#define FMA_QUOTIENT(b) __builtin_fmaf((b), BYTE_QUOTIENT_LO, (b) * BYTE_QUOTIENT_HI)

__attribute__((target("avx512f,avx2,fma"))) static void gather_bytes_fma512(const uint8_t *src, size_t width,
                                                                           const int32_t *order, size_t count,
                                                                           float *dst) {
  const __m512 hi = _mm512_set1_ps(BYTE_QUOTIENT_HI), lo = _mm512_set1_ps(BYTE_QUOTIENT_LO);
  for (size_t i = 0; i < count; i++) {
    if (i + PREFETCH_ROWS < count) prefetch_row(src + (size_t)order[i + PREFETCH_ROWS] * width, width);
    const uint8_t *row = src + (size_t)order[i] * width;
    float *out = dst + i * width;
    size_t j = 0;
    for (; j + 16 <= width; j += 16) {
      __m512 b = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(row + j))));
      _mm512_storeu_ps(out + j, _mm512_fmadd_ps(b, lo, _mm512_mul_ps(b, hi)));
    }
    for (; j < width; j++) {
      float b = (float)row[j];
      out[j] = FMA_QUOTIENT(b);
    }
  }
}

__attribute__((target("avx2,fma"))) static void gather_bytes_fma256(const uint8_t *src, size_t width, const int32_t *order,
                                                                   size_t count, float *dst) {
  const __m256 hi = _mm256_set1_ps(BYTE_QUOTIENT_HI), lo = _mm256_set1_ps(BYTE_QUOTIENT_LO);
  for (size_t i = 0; i < count; i++) {
    if (i + PREFETCH_ROWS < count) prefetch_row(src + (size_t)order[i + PREFETCH_ROWS] * width, width);
    const uint8_t *row = src + (size_t)order[i] * width;
    float *out = dst + i * width;
    size_t j = 0;
    for (; j + 8 <= width; j += 8) {
      __m256 b = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(row + j))));
      _mm256_storeu_ps(out + j, _mm256_fmadd_ps(b, lo, _mm256_mul_ps(b, hi)));
    }
    for (; j < width; j++) {
      float b = (float)row[j];
      out[j] = FMA_QUOTIENT(b);
    }
  }
}
#endif

void ew_gather_byte_rows(const uint8_t *src, size_t width, const int32_t *order, size_t count, float *dst, int how) {
#if defined(__x86_64__)
  // The avx512 and avx2 builds are picked only where the CPU has FMA too (addon.c).
  if (how == EW_GATHER_AVX512) {
    gather_bytes_fma512(src, width, order, count, dst);
    return;
  }
  if (how == EW_GATHER_AVX2) {
    gather_bytes_fma256(src, width, order, count, dst);
    return;
  }
#else
  (void)how;
#endif
  gather_bytes_divide(src, width, order, count, dst);
}
