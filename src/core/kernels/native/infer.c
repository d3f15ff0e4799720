// Dense-layer inference for predict: Z[B×O] = X[B×I]·Wᵀ + b (ReLU optionally applied on the store),
// with W packed once per loaded model instead of once per call. Compiled once per ISA, like sgemm.c.
//
// Bit-identical to the training forward pass (denseForward: C seeded with the bias, then
// sgemm_range with beta 1): every output is summed over k in the same K blocks (K split evenly into
// blocks of at most SGEMM_KC), an FMA chain from zero inside a block in k order, each block's sum
// added to the running value (the bias, or nothing for the first block when there is no bias).
// Lanes are outputs, so the chains never mix; which tile or thread computes a row changes nothing.
#include <stddef.h>
#include <stdint.h>
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

// One K block's sums folded into the running ones: sgemm stores alpha·acc + beta·C with alpha = beta
// = 1 (exact products), so acc + C, where C is the bias (or nothing) before the first block.
static inline __attribute__((always_inline)) void fold_block(const int R, const int V, vf sum[MAXR][IV], vf acc[MAXR][IV],
                                                              int first, const float *bias) {
#pragma GCC unroll 12
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int v = 0; v < V; v++) {
      if (!first)
        sum[r][v] = acc[r][v] + sum[r][v];
      else if (bias)
        sum[r][v] = acc[r][v] + *(const vfu *)(bias + v * VL);
      else
        sum[r][v] = acc[r][v];
    }
}

// One row's V vectors of sums stored to o (its first cols outputs), ReLU'd when relu.
static inline __attribute__((always_inline)) void store_row(const int V, vf sum[IV], int relu, float *o, int cols) {
  if (cols == V * VL) {
#pragma GCC unroll 4
    for (int v = 0; v < V; v++) {
      vf s = sum[v];
      // z > 0 ? z : 0, as ew_relu_forward (NaN → 0).
      if (relu) s = (vf)((vi)s & (s > (vf){0}));
      *(vfu *)(o + v * VL) = s;
    }
  } else {
    float edge[IV * VL] __attribute__((aligned(64)));
#pragma GCC unroll 4
    for (int v = 0; v < V; v++) {
      vf s = sum[v];
      if (relu) s = (vf)((vi)s & (s > (vf){0}));
      *(vf *)(edge + v * VL) = s;
    }
    memcpy(o, edge, (size_t)cols * sizeof(float));
  }
}

// R rows × V vectors of outputs over the whole K. X points at the tile's first row, P at the
// block's packed rows (row length V·VL), bias at the block's V·VL (padded) biases or NULL. Each
// step also prefetches into L2 the line at *ahead, then moves it on by stride bytes, up to aheadEnd.
static inline __attribute__((always_inline)) void tile(const int R, const int V, int K, int kstep, const float *X, size_t ldx,
                                                        const float *P, const float *bias, int relu, float *out,
                                                        size_t ldo, int cols, const char **ahead, const char *aheadEnd,
                                                        int stride) {
  vf sum[MAXR][IV] = {{(vf){0}}};
  const char *pf = *ahead;
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
      __builtin_prefetch(pf, 0, 2);
      pf += pf < aheadEnd ? stride : 0;
    }
    fold_block(R, V, sum, acc, pc == 0, bias);
  }
  *ahead = pf;
#pragma GCC unroll 12
  for (int r = 0; r < R; r++) store_row(V, sum[r], relu, out + (size_t)r * ldo, cols);
}

// As tile, but over the listed steps only: rows xr[r] (each from k = 0), stored to orow[r], and in K
// block kb the steps ks[ends[kb − 1]] … ks[ends[kb] − 1] (ends[−1] = 0). The steps left out are
// those where all R inputs are zero (see infer_dense). Each step also prefetches into L2 the line at
// *ahead, then moves it on by stride bytes, up to aheadEnd.
static inline __attribute__((always_inline)) void tile_listed(const int R, const int V, int K, int kstep,
                                                               const float *const *xr, const int *ks, const int *ends,
                                                               const float *P, const float *bias, int relu,
                                                               float *const *orow, int cols, const char **ahead,
                                                               const char *aheadEnd, int stride) {
  vf sum[MAXR][IV] = {{(vf){0}}};
  const char *pf = *ahead;
  int i = 0;
  for (int pc = 0, kb = 0; pc < K; pc += kstep, kb++) {
    vf acc[MAXR][IV];
#pragma GCC unroll 12
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
      for (int v = 0; v < V; v++) acc[r][v] = (vf){0};
    for (; i < ends[kb]; i++) {
      int k = ks[i];
      vf b[IV];
#pragma GCC unroll 4
      for (int v = 0; v < V; v++) b[v] = *(const vf *)(P + (size_t)k * V * VL + v * VL);
#pragma GCC unroll 12
      for (int r = 0; r < R; r++) {
        float x = xr[r][k];
#pragma GCC unroll 4
        for (int v = 0; v < V; v++) acc[r][v] += b[v] * x;
      }
      __builtin_prefetch(pf, 0, 2);
      pf += pf < aheadEnd ? stride : 0;
    }
    fold_block(R, V, sum, acc, pc == 0, bias);
  }
  *ahead = pf;
#pragma GCC unroll 12
  for (int r = 0; r < R; r++) store_row(V, sum[r], relu, orow[r], cols);
}

// Rows per tile for a block V vectors wide.
static inline int tile_rows(int V) { return ACCS / V < MAXR ? ACCS / V : MAXR; }

// The tile shapes, by rows (R) then vectors (V): CALL(R, V) for the R and V given at run time.
#define TILE_CASE(R, V, CALL)                                                                                \
  case R:                                                                                                    \
    if (R * V <= ACCS) CALL(R, V);                                                                           \
    return;
#define TILE_ROWS(V, CALL)                                                                                   \
  case V:                                                                                                    \
    switch (R) {                                                                                             \
      TILE_CASE(1, V, CALL) TILE_CASE(2, V, CALL) TILE_CASE(3, V, CALL) TILE_CASE(4, V, CALL)                \
      TILE_CASE(5, V, CALL) TILE_CASE(6, V, CALL) TILE_CASE(7, V, CALL) TILE_CASE(8, V, CALL)                \
      TILE_CASE(9, V, CALL) TILE_CASE(10, V, CALL) TILE_CASE(11, V, CALL) TILE_CASE(12, V, CALL)             \
    }                                                                                                        \
    return;
#if IV == 4
#define TILE_SHAPES(CALL)                                                                                    \
  switch (V) { TILE_ROWS(1, CALL) TILE_ROWS(2, CALL) TILE_ROWS(3, CALL) TILE_ROWS(4, CALL) }
#else
#define TILE_SHAPES(CALL) switch (V) { TILE_ROWS(1, CALL) TILE_ROWS(2, CALL) }
#endif

// R ≤ tile_rows(V): the cases beyond it are never reached (and compile to nothing).
#define DENSE_TILE(R, V) tile(R, V, K, kstep, x, ldx, P, bias, relu, out, ldo, cols, ahead, aheadEnd, stride)
static void tile_dispatch(int R, int V, int K, int kstep, const float *x, size_t ldx, const float *P, const float *bias,
                          int relu, float *out, size_t ldo, int cols, const char **ahead, const char *aheadEnd, int stride) {
  TILE_SHAPES(DENSE_TILE)
}

// ---- Zero skipping (the AVX-512 build; -DSGEMM_DENSE_ONLY leaves it out, for measuring it) ----
//
// Image inputs are mostly zeros (Fashion-MNIST: half its pixels), and a step k where every row of
// a tile has x = 0 adds only products 0·w. Each output is an FMA chain from +0, which in
// round-to-nearest is never −0, so adding ±0 (0·w with w finite) leaves it unchanged to the bit:
// such steps can be left out whenever every weight is finite (the caller knows; a NaN or infinite
// weight makes 0·w NaN, so it must not be skipped). NaN inputs compare unequal to zero and are kept.
// Rows are first taken in the order of where their nonzeros start and end, so that a tile's rows
// share more zero steps: in 48-row groups of Fashion-MNIST's test images, 27 % of a 6-row tile's
// steps instead of 16 % in the given order (a single image: 50 %). Rows are independent sums, so
// their order changes no bit; each row's outputs go back to its own place.
#if VEC_BYTES == 64 && defined(__AVX512F__) && !defined(SGEMM_DENSE_ONLY)
#include <immintrin.h>
#define ZERO_SKIP 1
// Rows ordered together (a multiple of every tile height: 6, 8 and 12).
#define GROUP_ROWS 48
// Inputs at most this wide skip zeros (28×28 and 32×32 images; the step lists live on the stack).
#define SKIP_MAX_K 2048
#define SKIP_WORDS (SKIP_MAX_K / 16)
#define SKIP_KBLOCKS ((SKIP_MAX_K + SGEMM_KC - 1) / SGEMM_KC)

// Row x's nonzeros (NaN included) as bits: bit b of bits[w] is set when x[16·w + b] is nonzero.
// Returns the AND of the words (0xffff for a row without a zero step, partial last word aside).
static unsigned nonzero_bits(const float *x, int K, uint16_t *bits) {
  unsigned all = 0xffff;
  int k = 0;
  for (; k + 16 <= K; k += 16) {
    unsigned m = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + k), _mm512_setzero_ps(), _CMP_NEQ_UQ);
    bits[k / 16] = (uint16_t)m;
    all &= m;
  }
  if (k < K) {
    __mmask16 lanes = (__mmask16)((1u << (K - k)) - 1);
    bits[k / 16] = _mm512_mask_cmp_ps_mask(lanes, _mm512_maskz_loadu_ps(lanes, x + k), _mm512_setzero_ps(), _CMP_NEQ_UQ);
    all &= bits[k / 16] | ~(unsigned)lanes;
  }
  return all;
}

// Rows [0, n) in the order of where their nonzeros start, then end (an insertion sort: n ≤
// GROUP_ROWS), from their bits (words a row, row stride SKIP_WORDS).
static void order_rows(const uint16_t *bits, int words, int n, int *order) {
  int first[GROUP_ROWS], last[GROUP_ROWS];
  for (int r = 0; r < n; r++) {
    const uint16_t *b = bits + (size_t)r * SKIP_WORDS;
    int f = 0, l = words - 1;
    while (f < words && !b[f]) f++;
    while (l > f && !b[l]) l--;
    first[r] = f < words ? 16 * f + __builtin_ctz(b[f]) : 16 * words;
    last[r] = f < words ? 16 * l + 31 - __builtin_clz(b[l]) : -1;
    int t = r;
    for (; t > 0; t--) {
      int o = order[t - 1];
      if (first[o] < first[r] || (first[o] == first[r] && last[o] <= last[r])) break;
      order[t] = order[t - 1];
    }
    order[t] = r;
  }
}

// The steps k of each K block at which some of R rows (their bits rowBits[r]) is nonzero, in order,
// into ks (room for K + 16); ends[kb] = how many steps are listed up to the end of K block kb.
static void nonzero_steps(const uint16_t *const *rowBits, int R, int K, int kstep, int *ks, int *ends) {
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  int n = 0;
  for (int pc = 0, kb = 0; pc < K; pc += kstep, kb++) {
    int end = K - pc < kstep ? K : pc + kstep;
    for (int w = pc / 16; w * 16 < end; w++) {
      unsigned nz = 0;
      for (int r = 0; r < R; r++) nz |= rowBits[r][w];
      // Only the block's steps: from pc, below end.
      if (w * 16 < pc) nz &= ~0u << (pc - w * 16);
      if (w * 16 + 16 > end) nz &= (1u << (end - w * 16)) - 1;
      // Compressed in a register, then stored whole: a compressing store to memory is microcoded
      // and slow on AMD's cores.
      _mm512_storeu_si512(ks + n, _mm512_maskz_compress_epi32((__mmask16)nz, _mm512_add_epi32(lanes, _mm512_set1_epi32(w * 16))));
      n += __builtin_popcount(nz);
    }
    ends[kb] = n;
  }
}

#define LISTED_TILE(R, V) tile_listed(R, V, K, kstep, xr, ks, ends, P, bias, relu, orow, cols, ahead, aheadEnd, stride)
static void tile_listed_dispatch(int R, int V, int K, int kstep, const float *const *xr, const int *ks, const int *ends,
                                 const float *P, const float *bias, int relu, float *const *orow, int cols,
                                 const char **ahead, const char *aheadEnd, int stride) {
  TILE_SHAPES(LISTED_TILE)
}

// infer_dense's rows [r0, r1) with zero steps left out: in groups of GROUP_ROWS rows, ordered; each
// tile's step list made once and used for every block of outputs. The lists and bits take 78 KiB of
// stack (SKIP_MAX_K 2048); every thread that runs this has at least 2 MiB.
static void dense_skipping_zeros(const float *X, int r0, int r1, int I, int O, const float *P, const float *bias,
                                 int relu, const float *upcoming, float *Z) {
  int kstep = kblock_step(I), kblocks = (I + kstep - 1) / kstep;
  int widest = (O < NB ? O : NB) + VL - 1;
  int rows = tile_rows(widest / VL);
  float padded[NB] __attribute__((aligned(64))) = {0};
  int edge0 = O / NB * NB;
  if (bias && edge0 < O) memcpy(padded, bias + edge0, (size_t)(O - edge0) * sizeof(float));
  uint16_t bits[GROUP_ROWS * SKIP_WORDS];
  // Each tile's steps, and where its K blocks end in them (a tile is at least 6 rows).
  int order[GROUP_ROWS], ks[GROUP_ROWS / 6][SKIP_MAX_K + 16], ends[GROUP_ROWS / 6][SKIP_KBLOCKS];
  int blocks = (O + NB - 1) / NB;
  for (int g0 = r0; g0 < r1; g0 += GROUP_ROWS) {
    int n = r1 - g0 < GROUP_ROWS ? r1 - g0 : GROUP_ROWS, tiles = (n + rows - 1) / rows;
    const float *Xg = X + (size_t)g0 * I;
    unsigned noZero = 0xffff;
    for (int r = 0; r < n; r++) noZero &= nonzero_bits(Xg + (size_t)r * I, I, bits + (size_t)r * SKIP_WORDS);
    // A group without a zero step anywhere (dense data) needs no order and no lists.
    int someZero = noZero != 0xffff, listed = someZero ? 0 : tiles * I;
    if (someZero) order_rows(bits, (I + 15) / 16, n, order);
    for (int t = 0; t < tiles && someZero; t++) {
      const uint16_t *rowBits[MAXR];
      for (int r = 0; r < rows && t * rows + r < n; r++) rowBits[r] = bits + (size_t)order[t * rows + r] * SKIP_WORDS;
      nonzero_steps(rowBits, n - t * rows < rows ? n - t * rows : rows, I, kstep, ks[t], ends[t]);
      listed += ends[t][kblocks - 1];
    }
    // The next group's rows (after the last group, upcoming's) into L2 while this group computes,
    // so that reading their bits does not wait for memory: a line a step, spread so that the
    // group's steps cover them even if a third are skipped. (A prefetch never faults.)
    const float *following = g0 + n < r1 ? Xg + (size_t)n * I : upcoming;
    const char *ahead = (const char *)following, *aheadEnd = following ? ahead + (size_t)GROUP_ROWS * I * sizeof(float) : ahead;
    int stride = (int)(((size_t)3 * GROUP_ROWS * sizeof(float) / (size_t)(2 * tiles * blocks) + 3) / 4 * 4);
    if (listed > tiles * I / 16 * 15) {
      // Fewer than 1 step in 16 to leave out: the plain tiles (no list to follow), rows in order.
      for (int j0 = 0; j0 < O; j0 += NB) {
        int cols = O - j0 < NB ? O - j0 : NB, V = (cols + VL - 1) / VL, vrows = tile_rows(V);
        for (int i = 0; i < n; i += vrows)
          tile_dispatch(n - i < vrows ? n - i : vrows, V, I, kstep, Xg + (size_t)i * I, (size_t)I, P + (size_t)j0 * I,
                        !bias ? NULL : j0 == edge0 ? padded : bias + j0, relu, Z + (size_t)(g0 + i) * O + j0, (size_t)O, cols,
                        &ahead, aheadEnd, stride);
      }
      continue;
    }
    // Block by block, so that a block of W stays in L2 for all the group's tiles.
    for (int j0 = 0; j0 < O; j0 += NB) {
      int cols = O - j0 < NB ? O - j0 : NB;
      for (int t = 0; t < tiles; t++) {
        int R = n - t * rows < rows ? n - t * rows : rows;
        const float *xr[MAXR];
        float *orow[MAXR];
        for (int r = 0; r < R; r++) {
          xr[r] = Xg + (size_t)order[t * rows + r] * I;
          orow[r] = Z + (size_t)(g0 + order[t * rows + r]) * O + j0;
        }
        tile_listed_dispatch(R, (cols + VL - 1) / VL, I, kstep, xr, ks[t], ends[t], P + (size_t)j0 * I,
                             !bias ? NULL : j0 == edge0 ? padded : bias + j0, relu, orow, cols, &ahead, aheadEnd, stride);
      }
    }
  }
}
#else
#define ZERO_SKIP 0
#define SKIP_MAX_K 0
// Never called (ZERO_SKIP is 0); here so that the call compiles.
static void dense_skipping_zeros(const float *X, int r0, int r1, int I, int O, const float *P, const float *bias,
                                 int relu, const float *upcoming, float *Z) {
  (void)X, (void)r0, (void)r1, (void)I, (void)O, (void)P, (void)bias, (void)relu, (void)upcoming, (void)Z;
}
#endif

// Rows [r0, r1) of Z = X·Wᵀ + b (ReLU when relu), W packed by infer_pack. weightsFinite: every
// weight is finite, so steps where a tile's inputs are all zero may be left out (same bits); then
// upcoming, if not NULL, is where the rows the caller will pass next begin (prefetched meanwhile).
void FN(infer_dense)(const float *X, int r0, int r1, int I, int O, const float *P, const float *bias, int relu,
                     int weightsFinite, const float *upcoming, float *Z) {
  if (ZERO_SKIP && weightsFinite && I <= SKIP_MAX_K) {
    dense_skipping_zeros(X, r0, r1, I, O, P, bias, relu, upcoming, Z);
    return;
  }
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
      // Nothing to prefetch (it would be the block itself, already in cache).
      const char *none = (const char *)block;
      tile_dispatch(R, V, I, kstep, X + (size_t)i * I, (size_t)I, block, bias ? padded : NULL, relu, Z + (size_t)i * O + j0,
                    (size_t)O, cols, &none, none, 0);
    }
  }
}
