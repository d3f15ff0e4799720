// Dense-layer inference for predict: Z[B×O] = X[B×I]·Wᵀ + b (ReLU optionally applied on the store),
// with W packed once per loaded model instead of once per call. Compiled once per ISA, like sgemm.c.
//
// Bit-identical to the training forward pass (denseForward: C seeded with the bias, then
// sgemm_range with beta 1): every output is summed over k in the same K blocks (K split evenly into
// blocks of at most SGEMM_KC), an FMA chain from zero inside a block in k order, each block's sum
// added to the running value (the bias, or nothing for the first block when there is no bias).
// Lanes are outputs, so the chains never mix; which tile or thread computes a row changes nothing.
#include <stddef.h>
#include <string.h>

#include "infer.h"
#include "sgemm.h"

#ifndef SGEMM_ISA
#error "compile with -DSGEMM_ISA=<name> -DVEC_BYTES=<16|32|64>"
#endif

typedef float vf __attribute__((vector_size(VEC_BYTES)));
typedef float vfu __attribute__((vector_size(VEC_BYTES), aligned(4)));
typedef int vi __attribute__((vector_size(VEC_BYTES)));

#define VL (VEC_BYTES / 4)
// Register tile: up to MAXR rows × IV vectors of outputs, at most ACCS accumulators (24 of AVX-512's
// 32 registers, 12 of 16 otherwise): 6 × 4 vectors for wide layers, up to 12 rows for narrow ones
// (a 10-class output layer is one vector wide: 12 rows keep 12 independent FMA chains in flight).
#if VEC_BYTES == 64
#define IV 4
#define ACCS 24
#else
#define IV 2
#define ACCS 12
#endif
#define MAXR 12
// Outputs per packed block.
#define NB (IV * VL)

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define FN(name) CAT(name##_, SGEMM_ISA)

size_t FN(infer_packed_floats)(int O, int I) { return (size_t)((O + NB - 1) / NB) * NB * (size_t)I; }

// Block jb holds outputs [jb·NB, jb·NB + NB) as I rows of its width (whole vectors, zero-padded), k-major.
void FN(infer_pack)(const float *W, int O, int I, float *P) {
  for (int j0 = 0; j0 < O; j0 += NB) {
    int cols = O - j0 < NB ? O - j0 : NB;
    int width = (cols + VL - 1) / VL * VL;
    float *block = P + (size_t)j0 * I;
    for (int k = 0; k < I; k++) {
      float *row = block + (size_t)k * width;
      for (int c = 0; c < width; c++) row[c] = c < cols ? W[(size_t)(j0 + c) * I + k] : 0.0f;
    }
  }
}

// The sgemm's K blocks: as many blocks of at most SGEMM_KC as needed, of equal length but the last.
static inline int kblock_step(int K) {
  int kblocks = (K + SGEMM_KC - 1) / SGEMM_KC;
  return (K + kblocks - 1) / kblocks;
}

// R rows × V vectors of outputs over the whole K. X points at the tile's first row, P at the
// block's packed rows (row length V·VL), bias at the block's V·VL (padded) biases or NULL.
static inline __attribute__((always_inline)) void tile(const int R, const int V, int K, int kstep, const float *X, size_t ldx,
                                                        const float *P, const float *bias, int relu, float *out,
                                                        size_t ldo, int cols) {
  vf sum[MAXR][IV] = {{(vf){0}}};
  for (int pc = 0; pc < K; pc += kstep) {
    int kc = K - pc < kstep ? K - pc : kstep;
    vf acc[MAXR][IV];
#pragma GCC unroll 12
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
      for (int v = 0; v < V; v++) acc[r][v] = (vf){0};
    const float *p = P + (size_t)pc * V * VL;
    const float *x = X + pc;
    for (int k = 0; k < kc; k++) {
      vf b[IV];
#pragma GCC unroll 4
      for (int v = 0; v < V; v++) b[v] = *(const vf *)(p + (size_t)k * V * VL + v * VL);
#pragma GCC unroll 12
      for (int r = 0; r < R; r++) {
        float xr = x[(size_t)r * ldx + k];
#pragma GCC unroll 4
        for (int v = 0; v < V; v++) acc[r][v] += b[v] * xr;
      }
    }
    // sgemm stores alpha·acc + beta·C with alpha = beta = 1 (exact products): acc + C.
#pragma GCC unroll 12
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
      for (int v = 0; v < V; v++) {
        if (pc > 0)
          sum[r][v] = acc[r][v] + sum[r][v];
        else if (bias)
          sum[r][v] = acc[r][v] + *(const vfu *)(bias + v * VL);
        else
          sum[r][v] = acc[r][v];
      }
  }
#pragma GCC unroll 12
  for (int r = 0; r < R; r++) {
    float *o = out + (size_t)r * ldo;
    if (cols == V * VL) {
#pragma GCC unroll 4
      for (int v = 0; v < V; v++) {
        vf s = sum[r][v];
        // z > 0 ? z : 0, as ew_relu_forward (NaN → 0).
        if (relu) s = (vf)((vi)s & (s > (vf){0}));
        *(vfu *)(o + v * VL) = s;
      }
    } else {
      float edge[IV * VL] __attribute__((aligned(64)));
#pragma GCC unroll 4
      for (int v = 0; v < V; v++) {
        vf s = sum[r][v];
        if (relu) s = (vf)((vi)s & (s > (vf){0}));
        *(vf *)(edge + v * VL) = s;
      }
      memcpy(o, edge, (size_t)cols * sizeof(float));
    }
  }
}

// Rows per tile for a block V vectors wide.
static inline int tile_rows(int V) { return ACCS / V < MAXR ? ACCS / V : MAXR; }

#define TILE_CASE(R, V)                                                                                      \
  case R:                                                                                                    \
    if (R * V <= ACCS) tile(R, V, K, kstep, x, ldx, P, bias, relu, out, ldo, cols);                           \
    return;
#define TILE_ROWS(V)                                                                                         \
  case V:                                                                                                    \
    switch (R) {                                                                                             \
      TILE_CASE(1, V) TILE_CASE(2, V) TILE_CASE(3, V) TILE_CASE(4, V) TILE_CASE(5, V) TILE_CASE(6, V)       \
      TILE_CASE(7, V) TILE_CASE(8, V) TILE_CASE(9, V) TILE_CASE(10, V) TILE_CASE(11, V) TILE_CASE(12, V)    \
    }                                                                                                        \
    return;

// R ≤ tile_rows(V): the cases beyond it are never reached (and compile to nothing).
static void tile_dispatch(int R, int V, int K, int kstep, const float *x, size_t ldx, const float *P, const float *bias,
                          int relu, float *out, size_t ldo, int cols) {
  switch (V) {
    TILE_ROWS(1)
    TILE_ROWS(2)
#if IV == 4
    TILE_ROWS(3)
    TILE_ROWS(4)
#endif
  }
}

// Rows [r0, r1) of Z = X·Wᵀ + b (ReLU when relu), W packed by infer_pack.
void FN(infer_dense)(const float *X, int r0, int r1, int I, int O, const float *P, const float *bias, int relu,
                     float *Z) {
  int kstep = kblock_step(I);
  for (int j0 = 0; j0 < O; j0 += NB) {
    int cols = O - j0 < NB ? O - j0 : NB;
    int V = (cols + VL - 1) / VL;
    float padded[NB] __attribute__((aligned(64))) = {0};
    if (bias) memcpy(padded, bias + j0, (size_t)cols * sizeof(float));
    const float *block = P + (size_t)j0 * I;
    int rows = tile_rows(V);
    for (int i = r0; i < r1; i += rows) {
      int R = r1 - i < rows ? r1 - i : rows;
      tile_dispatch(R, V, I, kstep, X + (size_t)i * I, (size_t)I, block, bias ? padded : NULL, relu, Z + (size_t)i * O + j0,
                    (size_t)O, cols);
    }
  }
}
