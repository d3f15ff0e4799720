// Row-major single-precision GEMM, BLIS-style: pack op(A) and op(B) into zero-padded panels, then a
// register-tiled MR×NR micro-kernel. Compiled once per ISA (see build.sh) with SGEMM_ISA naming it.
//
// Determinism: every element of C is summed over k in the same order (KC blocks, FMA chain inside
// a block) whatever tile or thread computes it, and edge tiles run the same vector code on a
// padded copy, so a column/row range split across threads gives bit-identical results.
#include <stddef.h>
#include <string.h>

#include "byte-quotient.h"
#include "claim.h"
#include "sgemm.h"

#if VEC_BYTES == 64 && defined(__AVX512F__)
#include <immintrin.h>

// r[i][j] ↔ r[j][i] for a 16×16 block of floats, in registers (unpack, shuffle, then 128-bit lanes).
static inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; i++) {
    r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 4; j++) {
      t[8 * i + j] = _mm512_shuffle_f32x4(r[8 * i + j], r[8 * i + j + 4], 0x88);
      t[8 * i + j + 4] = _mm512_shuffle_f32x4(r[8 * i + j], r[8 * i + j + 4], 0xdd);
    }
  for (int j = 0; j < 8; j++) {
    r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
    r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xdd);
  }
}
#endif

#if defined(__AVX2__)
#include <immintrin.h>

// r[i][j] ↔ r[j][i] for an 8×8 block of floats, in registers (unpack, shuffle, then 128-bit halves).
static inline void transpose8(__m256 r[8]) {
  __m256 t[8];
  for (int i = 0; i < 4; i++) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 2; i++) {
    r[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    r[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    r[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    r[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  for (int j = 0; j < 4; j++) {
    t[j] = _mm256_permute2f128_ps(r[j], r[j + 4], 0x20);
    t[j + 4] = _mm256_permute2f128_ps(r[j], r[j + 4], 0x31);
  }
  for (int i = 0; i < 8; i++) r[i] = t[i];
}
#endif

#ifndef SGEMM_ISA
#error "compile with -DSGEMM_ISA=<name> -DVEC_BYTES=<16|32|64> -DMR=<rows>"
#endif

typedef float vf __attribute__((vector_size(VEC_BYTES)));
typedef float vfu __attribute__((vector_size(VEC_BYTES), aligned(4)));
typedef int vi __attribute__((vector_size(VEC_BYTES)));
typedef int viu __attribute__((vector_size(VEC_BYTES), aligned(4)));
#define VL (VEC_BYTES / 4)
#define NR (2 * VL)
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define FN(name) CAT(name##_, SGEMM_ISA)

// Packs an mc × kc block of op(A) into MR-row panels, k-major inside a panel. Ao is the block's first
// element and lda the stored matrix's row stride (rows of A, or of Aᵀ's storage when transA).
static void packA(const float *Ao, int transA, size_t lda, int mc, int kc, float *dst) {
  for (int ir = 0; ir < mc; ir += MR) {
    int rows = mc - ir < MR ? mc - ir : MR;
    float *panel = dst + (size_t)ir * kc;
    if (!transA) {
      for (int r = 0; r < MR; r++) {
        if (r < rows) {
          const float *src = Ao + (size_t)(ir + r) * lda;
          for (int k = 0; k < kc; k++) panel[k * MR + r] = src[k];
        } else {
          for (int k = 0; k < kc; k++) panel[k * MR + r] = 0.0f;
        }
      }
    } else {
      for (int k = 0; k < kc; k++) {
        const float *src = Ao + (size_t)k * lda + ir;
        float *d = panel + (size_t)k * MR;
        int r = 0;
        for (; r < rows; r++) d[r] = src[r];
        for (; r < MR; r++) d[r] = 0.0f;
      }
    }
  }
}

// Packs a kc × nc block of op(B) into NR-column panels, k-major inside a panel (Bo, ldb as in packA).
static void packB(const float *Bo, int transB, size_t ldb, int nc, int kc, float *dst) {
  for (int jr = 0; jr < nc; jr += NR) {
    int cols = nc - jr < NR ? nc - jr : NR;
    float *panel = dst + (size_t)jr * kc;
    if (!transB) {
      for (int k = 0; k < kc; k++) {
        const float *src = Bo + (size_t)k * ldb + jr;
        float *d = panel + (size_t)k * NR;
        int c = 0;
        for (; c < cols; c++) d[c] = src[c];
        for (; c < NR; c++) d[c] = 0.0f;
      }
    } else {
      int c = 0;
#if VEC_BYTES == 64 && defined(__AVX512F__)
      // A full panel 16 columns × 16 k at a time, transposed in registers: one scattered 4-byte store
      // per element was most of the pack's cost (a quarter of the batch-128 forward product).
      for (; cols == NR && c < NR; c += 16) {
        const float *src = Bo + (size_t)(jr + c) * ldb;
        int k = 0;
        for (; k + 16 <= kc; k += 16) {
          __m512 r[16];
          for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + (size_t)i * ldb + k);
          transpose16(r);
          for (int i = 0; i < 16; i++) _mm512_storeu_ps(panel + (size_t)(k + i) * NR + c, r[i]);
        }
        for (; k < kc; k++)
          for (int i = 0; i < 16; i++) panel[k * NR + c + i] = src[(size_t)i * ldb + k];
      }
#elif VEC_BYTES == 32 && defined(__AVX2__)
      // The same 8 columns × 8 k at a time (the batch-128 forward product 7 % faster here).
      for (; cols == NR && c < NR; c += 8) {
        const float *src = Bo + (size_t)(jr + c) * ldb;
        int k = 0;
        for (; k + 8 <= kc; k += 8) {
          __m256 r[8];
          for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + (size_t)i * ldb + k);
          transpose8(r);
          for (int i = 0; i < 8; i++) _mm256_storeu_ps(panel + (size_t)(k + i) * NR + c, r[i]);
        }
        for (; k < kc; k++)
          for (int i = 0; i < 8; i++) panel[k * NR + c + i] = src[(size_t)i * ldb + k];
      }
#endif
      for (; c < NR; c++) {
        if (c < cols) {
          const float *src = Bo + (size_t)(jr + c) * ldb;
          for (int k = 0; k < kc; k++) panel[k * NR + c] = src[k];
        } else {
          for (int k = 0; k < kc; k++) panel[k * NR + c] = 0.0f;
        }
      }
    }
  }
}

// dst[r·ldd + c] = src[r·lds + c] / 255 rounded to float, for a rows × cols block: sgemm.h's byte
// operands. Where the build has FMA the quotient is had without dividing, as byte-quotient.h says
// (the byte gather in elementwise.c does the same; a test checks all 256 bytes); the scalar tail and
// the portable build divide, which is exact by definition.
static void bytesToFloats(const uint8_t *src, size_t lds, int rows, int cols, float *dst, size_t ldd) {
  for (int r = 0; r < rows; r++) {
    const uint8_t *in = src + (size_t)r * lds;
    float *out = dst + (size_t)r * ldd;
    int c = 0;
#if VEC_BYTES == 64 && defined(__AVX512F__) && defined(__FMA__)
    const __m512 hi = _mm512_set1_ps(BYTE_QUOTIENT_HI), lo = _mm512_set1_ps(BYTE_QUOTIENT_LO);
    for (; c + 16 <= cols; c += 16) {
      __m512 b = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(in + c))));
      _mm512_storeu_ps(out + c, _mm512_fmadd_ps(b, lo, _mm512_mul_ps(b, hi)));
    }
#elif VEC_BYTES == 32 && defined(__AVX2__) && defined(__FMA__)
    const __m256 hi = _mm256_set1_ps(BYTE_QUOTIENT_HI), lo = _mm256_set1_ps(BYTE_QUOTIENT_LO);
    for (; c + 8 <= cols; c += 8) {
      __m256 b = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(in + c))));
      _mm256_storeu_ps(out + c, _mm256_fmadd_ps(b, lo, _mm256_mul_ps(b, hi)));
    }
#endif
    for (; c < cols; c++) out[c] = (float)in[c] / 255.0f;
  }
}

// bytesToFloats into packB's layout: a byte block kc × nc (row stride lds) as NR-column panels,
// k-major inside a panel, the last panel padded with zeros. The weight gradient's X, converted so,
// is then read a panel row after a panel row rather than a row of X (3 KiB) apart.
static void bytesToPanels(const uint8_t *src, size_t lds, int kc, int nc, float *dst) {
  for (int jr = 0; jr < nc; jr += NR) {
    int cols = nc - jr < NR ? nc - jr : NR;
    float *panel = dst + (size_t)jr * kc;
    for (int k = 0; k < kc; k++) {
      bytesToFloats(src + (size_t)k * lds + jr, lds, 1, cols, panel + (size_t)k * NR, NR);
      for (int c = cols; c < NR; c++) panel[(size_t)k * NR + c] = 0.0f;
    }
  }
}

// The stored block rows [r0, r0+rows) × columns [c0, c0+cols) of an operand with row stride ld: its
// first element, and (*ldOut) its row stride. A byte operand's block is converted into scratch
// first (ld becomes cols), and is then read exactly as a float one would be.
static const float *storedBlock(const float *f, const uint8_t *bytes, size_t ld, int r0, int c0, int rows, int cols,
                                float *scratch, size_t *ldOut) {
  if (bytes) {
    bytesToFloats(bytes + (size_t)r0 * ld + c0, ld, rows, cols, scratch, (size_t)cols);
    *ldOut = (size_t)cols;
    return scratch;
  }
  *ldOut = ld;
  return f + (size_t)r0 * ld + c0;
}

// acc[MR×NR] = Ap-panel · Bp-panel over kc, or over only the n = kc steps listed in ks (ks null:
// every k from 0): see "Zero skipping" below. Inlined at each call, so the dense calls keep their loop.
static inline __attribute__((always_inline)) void microkernel(int kc, const int *ks, const float *restrict Ap,
                                                              const float *restrict Bp, size_t ldb, vf *restrict acc) {
  vf c[MR][2];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    c[i][0] = (vf){0};
    c[i][1] = (vf){0};
  }
  for (int t = 0; t < kc; t++) {
    int k = ks ? ks[t] : t;
    // B read in place (ldb ≠ NR, a weight gradient's float X): its rows are a few KiB apart, a new
    // page every row or two, which the hardware prefetcher does not cross: ask for the row 16 steps on.
    if (ldb != NR && t + 16 < kc) {
      const float *ahead = Bp + (size_t)(ks ? ks[t + 16] : t + 16) * ldb;
      __builtin_prefetch(ahead);
      __builtin_prefetch(ahead + VL);
    }
    vf b0 = *(const vfu *)(Bp + (size_t)k * ldb);
    vf b1 = *(const vfu *)(Bp + (size_t)k * ldb + VL);
    const float *a = Ap + (size_t)k * MR;
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      c[i][0] += b0 * a[i];
      c[i][1] += b1 * a[i];
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    acc[2 * i] = c[i][0];
    acc[2 * i + 1] = c[i][1];
  }
}

// microkernel() for a panel whose columns all fit in its first vector (an edge panel of VL columns
// or fewer, as the 16 left of 784 = 24·32 + 16): half the FMAs, each element's chain unchanged. The
// second vector of each row comes back as zeros, which the edge store drops.
static inline void microkernel_half(int kc, const float *restrict Ap, const float *restrict Bp, vf *restrict acc) {
  vf c[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) c[i] = (vf){0};
  for (int k = 0; k < kc; k++) {
    vf b0 = *(const vf *)(Bp + (size_t)k * NR);
    const float *a = Ap + (size_t)k * MR;
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) c[i] += b0 * a[i];
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    acc[2 * i] = c[i];
    acc[2 * i + 1] = (vf){0};
  }
}

// The same product reading MR rows of a row-major A directly (row stride lda): when op(A) is not
// transposed, packing it would copy every element once for little reuse (N is often small here).
// Bit-identical to microkernel(): the same FMA chain per element. ks as in microkernel().
static inline __attribute__((always_inline)) void microkernel_rows(int kc, const int *ks, const float *restrict A,
                                                                   size_t lda, const float *restrict Bp,
                                                                   vf *restrict acc) {
  vf c[MR][2];
  const float *a[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    c[i][0] = (vf){0};
    c[i][1] = (vf){0};
    a[i] = A + i * lda;
  }
  for (int t = 0; t < kc; t++) {
    int k = ks ? ks[t] : t;
    vf b0 = *(const vf *)(Bp + (size_t)k * NR);
    vf b1 = *(const vf *)(Bp + (size_t)k * NR + VL);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      c[i][0] += b0 * a[i][k];
      c[i][1] += b1 * a[i][k];
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    acc[2 * i] = c[i][0];
    acc[2 * i + 1] = c[i][1];
  }
}

// Zero skipping, for byte operands. Each tile's sum is an FMA chain over k that starts
// from +0, and in round-to-nearest x + y is −0 only when both are −0, so the running sum is never
// −0; a term a·b with a = ±0 and b finite is ±0 and leaves any such sum unchanged, to the bit. So
// the steps k at which a panel's whole slice of one operand is zero can be left out, provided the
// other operand is finite there (0·∞ and 0·NaN are NaN): the result is the dense product's bits.
// Byte operands (image pixels) are rich in such steps (Fashion-MNIST batches of 1024: 31 % of the
// forward product's, its rows ordered by orderRowsBySpan; 28 % of the weight gradient's, computed
// transposed by weightGradientTransposed) and cheap to scan (16 steps a compare); dense data pays
// only for the scan, and then takes the dense loop.

// The AVX-512 build only (where its compress instruction makes the k lists cheap). A build for
// measuring what it gains can leave it out with -DSGEMM_DENSE_ONLY.
#if VEC_BYTES == 64 && defined(__AVX512F__) && !defined(SGEMM_DENSE_ONLY)
#define ZERO_SKIP 1

// 1 when every float of p[0, n) is finite: x·0 is NaN for x = ±∞ or NaN, ±0 otherwise (four sums,
// so that the FMAs' latency does not bound the scan).
static int allFinite(const float *p, size_t n) {
  __m512 s[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  size_t i = 0;
  for (; i + 64 <= n; i += 64)
    for (int j = 0; j < 4; j++) s[j] = _mm512_fmadd_ps(_mm512_loadu_ps(p + i + 16 * j), _mm512_setzero_ps(), s[j]);
  __m512 sum = _mm512_add_ps(_mm512_add_ps(s[0], s[1]), _mm512_add_ps(s[2], s[3]));
  int finite = _mm512_cmp_ps_mask(sum, _mm512_setzero_ps(), _CMP_UNORD_Q) == 0;
  for (; i < n; i++) finite &= __builtin_isfinite(p[i]);
  return finite;
}

// The k in [0, kc), in order, at which some of MR byte rows (rows[r], each from the k block's first
// byte) is nonzero: written to ks (which has 16 ints of room past kc), their count returned.
static int nonzeroColumns(const uint8_t *const *rows, int kc, int *ks) {
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  int n = 0, k = 0;
  for (; k + 16 <= kc; k += 16) {
    __m128i any = _mm_setzero_si128();
    for (int r = 0; r < MR; r++) any = _mm_or_si128(any, _mm_loadu_si128((const __m128i *)(rows[r] + k)));
    unsigned m = ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(any, _mm_setzero_si128())) & 0xffff;
    // Compressed in a register, then stored whole: a compressing store to memory is microcoded and
    // slow on AMD's cores.
    _mm512_storeu_si512(ks + n, _mm512_maskz_compress_epi32((__mmask16)m, _mm512_add_epi32(lanes, _mm512_set1_epi32(k))));
    n += __builtin_popcount(m);
  }
  for (; k < kc; k++) {
    int nonzero = 0;
    for (int r = 0; r < MR; r++) nonzero |= rows[r][k];
    ks[n] = k;
    n += nonzero != 0;
  }
  return n;
}

// Where a byte row's nonzeros start and end: *first (n when none) and *last (−1 when none).
static void nonzeroSpan(const uint8_t *row, int n, int *first, int *last) {
  int k = 0;
  for (; k + 16 <= n; k += 16) {
    unsigned zero = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(row + k)), _mm_setzero_si128()));
    if (zero != 0xffff) break;
  }
  while (k < n && !row[k]) k++;
  *first = k;
  int e = n;
  for (; e - 16 >= k; e -= 16) {
    unsigned zero = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(row + e - 16)), _mm_setzero_si128()));
    if (zero != 0xffff) break;
  }
  while (e > k && !row[e - 1]) e--;
  *last = e - 1;
}

// Rows [i0, i1) of a byte A (K bytes a row, row stride ld) in the order of where their nonzeros
// start, then of where they end (two counting sorts, positions bucketed to at most 1024 values), into
// order. Grouped so, the rows of an MR-row panel share more all-zero steps: on Fashion-MNIST batches,
// 31 % of the forward product's steps instead of 13 % in batch order. A forward product's rows are
// independent sums, so their order changes no bit. scratch: 3·(i1 − i0) + 1026 ints.
static void orderRowsBySpan(const uint8_t *A8, size_t ld, int K, int i0, int i1, int *order, int *scratch) {
  int n = i1 - i0, q = (K + 1 + 1023) / 1024;
  int *first = scratch, *end = first + n, *byEnd = end + n, *count = byEnd + n;
  for (int r = 0; r < n; r++) {
    int f, l;
    nonzeroSpan(A8 + (size_t)(i0 + r) * ld, K, &f, &l);
    first[r] = f / q;
    end[r] = (l + 1) / q;
  }
  if (n <= 64) {
    // Few rows: an insertion sort on (start, end) costs less than clearing the buckets.
    for (int r = 0; r < n; r++) {
      int t = r;
      for (; t > 0; t--) {
        int o = order[t - 1] - i0;
        if (first[o] < first[r] || (first[o] == first[r] && end[o] <= end[r])) break;
        order[t] = order[t - 1];
      }
      order[t] = i0 + r;
    }
    return;
  }
  int buckets = K / q + 2;
  memset(count, 0, (size_t)buckets * sizeof(int));
  for (int r = 0; r < n; r++) count[end[r] + 1]++;
  for (int b = 1; b < buckets; b++) count[b] += count[b - 1];
  for (int r = 0; r < n; r++) byEnd[count[end[r]]++] = r;
  memset(count, 0, (size_t)buckets * sizeof(int));
  for (int r = 0; r < n; r++) count[first[r] + 1]++;
  for (int b = 1; b < buckets; b++) count[b] += count[b - 1];
  for (int t = 0; t < n; t++) {
    int r = byEnd[t];
    order[count[first[r]]++] = i0 + r;
  }
}

// The k in [0, kc), in order, at which byte row k (NR = 32 bytes, row stride ld) is nonzero.
static int nonzeroRows(const uint8_t *B, size_t ld, int kc, int *ks) {
  int n = 0;
  for (int k = 0; k < kc; k++) {
    const uint8_t *row = B + (size_t)k * ld;
    __m128i any = _mm_or_si128(_mm_loadu_si128((const __m128i *)row), _mm_loadu_si128((const __m128i *)(row + 16)));
    ks[n] = k;
    n += !_mm_testz_si128(any, any);
  }
  return n;
}
#else
#define ZERO_SKIP 0
// Never called (ZERO_SKIP is 0); here so that the calls compile.
static int allFinite(const float *p, size_t n) { return (void)p, (void)n, 0; }
static int nonzeroColumns(const uint8_t *const *rows, int kc, int *ks) { return (void)rows, (void)ks, kc; }
static void orderRowsBySpan(const uint8_t *A8, size_t ld, int K, int i0, int i1, int *order, int *scratch) {
  (void)A8, (void)ld, (void)K, (void)scratch;
  for (int r = i0; r < i1; r++) order[r - i0] = r;
}
static int nonzeroRows(const uint8_t *B, size_t ld, int kc, int *ks) { return (void)B, (void)ld, (void)ks, kc; }
#endif

// x where keep > 0, else +0 (also for NaN and ±0 in keep): finishTile's comparisons, a vector at a time.
static inline vf keepWherePositive(vf x, vf keep) { return (vf)((vi)x & (vi)(keep > 0)); }

// C[MR×NR tile] = alpha·acc + beta·in (beta 0: in not read), row i of the tile at C + rowAt[i], where
// in is C itself or, when bias is given, that bias row for every row (the same sum as on a C seeded
// with it). On the last k block the epilogue's ReLU (reluOut, null: none) and mask (reluMask, null:
// none), laid out as C, are applied in the same pass, as finishTile would apply them.
static inline void storeTile(const vf *acc, float *C, const size_t *rowAt, float alpha, float beta, const float *bias,
                             float *reluOut, const float *reluMask) {
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    float *c = C + rowAt[i];
    const float *in = bias ? bias : c;
    vf v0 = alpha * acc[2 * i], v1 = alpha * acc[2 * i + 1];
    if (beta != 0.0f) {
      v0 = alpha * acc[2 * i] + beta * *(const vfu *)in;
      v1 = alpha * acc[2 * i + 1] + beta * *(const vfu *)(in + VL);
    }
    if (reluOut) {
      *(vfu *)(reluOut + rowAt[i]) = keepWherePositive(v0, v0);
      *(vfu *)(reluOut + rowAt[i] + VL) = keepWherePositive(v1, v1);
    }
    if (reluMask) {
      v0 = keepWherePositive(v0, *(const vfu *)(reluMask + rowAt[i]));
      v1 = keepWherePositive(v1, *(const vfu *)(reluMask + rowAt[i] + VL));
    }
    *(vfu *)c = v0;
    *(vfu *)(c + VL) = v1;
  }
}

// Row offsets of the padded tile copy (edge): row r at r·NR.
static const size_t EDGE_ROWS[16] = {0, NR, 2 * NR, 3 * NR, 4 * NR, 5 * NR, 6 * NR, 7 * NR,
                                     8 * NR, 9 * NR, 10 * NR, 11 * NR, 12 * NR, 13 * NR, 14 * NR, 15 * NR};

// Asks for the cache lines of a rows × NR tile of a row-major output (row stride ld) for writing, one
// tile ahead of the stores, so that fetching them overlaps the current tile's arithmetic (the
// batch-1024 step on two threads 1–4 % faster here; no difference on one). Changes no value.
static inline void prefetchTileForWrite(const float *out, size_t ld, int rows) {
  for (int r = 0; r < rows; r++) {
    const char *p = (const char *)(out + (size_t)r * ld);
    for (int b = 0; b < NR * 4; b += 64) __builtin_prefetch(p + b, 1, 3);
  }
}

// claim.h for rows [i0, i1) × columns [j0, j1) of a row-major output of row stride ld: in one piece
// when the rows are whole, else a segment a row.
static void claimOutput(float *out, size_t ld, int i0, int i1, int j0, int j1) {
  if ((size_t)(j1 - j0) == ld) {
    claim_for_overwrite(out + (size_t)i0 * ld, (size_t)(i1 - i0) * ld * 4);
    return;
  }
  for (int r = i0; r < i1; r++) claim_for_overwrite(out + (size_t)r * ld + j0, (size_t)(j1 - j0) * 4);
}

// Seeds a rows×cols tile of C (element (r, c) at C[r·rs + c·cs]) with the bias: the first k block
// then adds its product onto it exactly as onto a C seeded by the caller.
static void seedBias(float *C, size_t rs, size_t cs, int rows, int cols, const float *bias, int perRow) {
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++) C[r * rs + c * cs] = perRow ? bias[r] : bias[c];
}

// The epilogue's element-wise part on a finished tile (same addressing as seedBias). The comparison
// is false for NaN and ±0, as in the TypeScript ReLU, so the result is +0 there.
static void finishTile(const sgemm_epilogue *ep, float *C, size_t offset, size_t rs, size_t cs, int rows, int cols) {
  for (int r = 0; r < rows; r++) {
    float *z = C + offset + r * rs;
    if (ep->reluOut) {
      float *a = ep->reluOut + offset + r * rs;
      if (cs == 1)
        for (int c = 0; c < cols; c++) a[c] = z[c] > 0 ? z[c] : 0.0f;
      else
        for (int c = 0; c < cols; c++) a[c * cs] = z[c * cs] > 0 ? z[c * cs] : 0.0f;
    }
    if (ep->reluMask) {
      const float *m = ep->reluMask + offset + r * rs;
      if (cs == 1)
        for (int c = 0; c < cols; c++) z[c] = m[c] > 0 ? z[c] : 0.0f;
      else
        for (int c = 0; c < cols; c++) z[c * cs] = m[c * cs] > 0 ? z[c * cs] : 0.0f;
    }
  }
}

// The transC store of a rows × cols tile: element (r, c) of the tile at C[offset + c·M + r], through
// a padded copy (same arithmetic as a full tile). bias: the tile's rows' biases (or null); ep: the
// epilogue after the last k block (or null). Not inlined: its loops, inlined into the GEMM's loop
// nest, fought the rest of it for registers.
__attribute__((noinline)) static void storeTransposedTile(const vf *acc, float *C, size_t M, size_t offset, int rows,
                                                          int cols, float alpha, float beta, const float *bias,
                                                          const sgemm_epilogue *ep) {
  float edge[MR * NR] __attribute__((aligned(64)));
  float *ct = C + offset;
  memset(edge, 0, sizeof edge);
  if (bias)
    seedBias(edge, NR, 1, rows, cols, bias, 1);
  else if (beta != 0.0f)
    for (int r = 0; r < rows; r++)
      for (int c = 0; c < cols; c++) edge[r * NR + c] = ct[(size_t)c * M + r];
  storeTile(acc, edge, EDGE_ROWS, alpha, beta, NULL, NULL, NULL);
#if defined(__AVX2__) && MR == 8
  // A whole tile: 8 × 8 blocks transposed in registers, each column's 8 values stored at once, with
  // the epilogue's ReLU (finishTile's comparison) on the way. (A mask never comes here: only X·Wᵀ
  // is computed transposed.)
  if (rows == MR && cols == NR && !(ep && ep->reluMask)) {
    const __m256 zero = _mm256_setzero_ps();
    for (int c0 = 0; c0 < NR; c0 += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; i++) r[i] = _mm256_load_ps(edge + i * NR + c0);
      transpose8(r);
      for (int j = 0; j < 8; j++) {
        size_t at = offset + (size_t)(c0 + j) * M;
        const __m256 v = r[j];
        if (ep && ep->reluOut) _mm256_storeu_ps(ep->reluOut + at, _mm256_and_ps(v, _mm256_cmp_ps(v, zero, _CMP_GT_OQ)));
        _mm256_storeu_ps(C + at, v);
      }
    }
    return;
  }
#endif
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++) ct[(size_t)c * M + r] = edge[r * NR + c];
  if (ep) finishTile(ep, C, offset, 1, M, rows, cols);
}

// The packed panels, then as much again for byte operands' blocks as floats (sgemm.h), then the zero
// skipping's k lists (a float's room per int: one list per row panel of an A block, one for a B
// panel) and the row order (with its sorting scratch), then alignment.
#define ROW_PANELS (SGEMM_MC / MR + 1)
#define KS_STRIDE (SGEMM_KC + 16)
// Rows reordered by orderRowsBySpan at most this many a call (a multiple of SGEMM_MC; more: not at all).
#define ORDER_MAX (28 * SGEMM_MC)
#define ORDER_INTS (4 * ORDER_MAX + 1026)
size_t FN(sgemm_pack_floats)(void) {
  return 2 * ((size_t)SGEMM_MC * SGEMM_KC + (size_t)SGEMM_KC * SGEMM_NC) + (ROW_PANELS + 1) * (size_t)KS_STRIDE +
         ORDER_INTS + 64;
}

int FN(sgemm_nr)(void) { return NR; }
int FN(sgemm_mr)(void) { return MR; }

#if ZERO_SKIP
// The weight gradient dZᵀ·X of byte X computed transposed, as (dW)ᵀ = Xᵀ·dZ: a tile is MR = 8 pixels
// (X's columns) by NR = 32 outputs, and the k steps (images) left out are those where the tile's 8
// pixels are all zero, one 64-bit test each: on Fashion-MNIST batches 28 % of them, against 12 % for
// the 32 pixels of a tile the other way round. Each element's FMA chain is the same as the direct
// product's (the same k in the same order, in the same K blocks), and the blocks' sums are added
// as storeTile adds them (alpha 1, so every step is one rounded addition): the same bits. A tile
// runs through every K block before it is stored, transposed, once.
// Rows [i0, i1) of C (outputs, a multiple of NR) × columns [j0, j1) (pixels, a multiple of MR); dZ
// is K × M floats, all finite (0·∞ and 0·NaN are NaN); X is K × N bytes; K ≤ TRANSPOSED_MAX_K.
#define TRANSPOSED_MAX_K 4096
// Pixels go eight panels (64 bytes of each row of X) at a time; dZ's columns are packed NR at a time
// (k-major, as packB), as many as fit beside the panels. scratch: KC·NC floats.
static void weightGradientTransposed(int M, int N, int K, const float *dZ, const uint8_t *X, float beta, float *C, int i0,
                                     int i1, int j0, int j1, float *panels, float *scratch) {
  const __m512 hi = _mm512_set1_ps(BYTE_QUOTIENT_HI), lo = _mm512_set1_ps(BYTE_QUOTIENT_LO);
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  int kblocks = (K + SGEMM_KC - 1) / SGEMM_KC, kstep = (K + kblocks - 1) / kblocks;
  int blockStart[8][TRANSPOSED_MAX_K / SGEMM_KC + 2];
  uint8_t nonzero[TRANSPOSED_MAX_K + 16] __attribute__((aligned(16)));
  size_t listStride = (size_t)K + 16;
  int *ks = (int *)scratch;
  float *packedDZ = scratch + 8 * listStride;
  int columnsPerPass = (int)(((size_t)SGEMM_KC * SGEMM_NC - 8 * listStride) / (size_t)K) / NR * NR;
  for (int c0 = i0; c0 < i1; c0 += columnsPerPass) {
    int c1 = i1 - c0 < columnsPerPass ? i1 : c0 + columnsPerPass;
    packB(dZ + c0, 0, (size_t)M, c1 - c0, K, packedDZ);
    for (int g0 = j0; g0 < j1; g0 += 8 * MR) {
      int count = (j1 - g0 < 8 * MR ? j1 - g0 : 8 * MR) / MR;
      __mmask8 present = (__mmask8)((1u << count) - 1);
      // Panel q is Xᵀ[g0 + 8q, g0 + 8q + 8) × K, k-major (as packA); bit q of nonzero[k] says whether
      // its bytes at step k are not all zero.
      for (int k = 0; k < K; k++) {
        // Rows of X are N bytes apart: ask for the row 16 steps on (its 64 bytes may span two lines).
        const uint8_t *ahead = X + (size_t)(k + 16 < K ? k + 16 : k) * N + g0;
        __builtin_prefetch(ahead);
        __builtin_prefetch(ahead + 63);
        __m512i v = _mm512_maskz_loadu_epi64(present, X + (size_t)k * N + g0);
        nonzero[k] = (uint8_t)_mm512_test_epi64_mask(v, v);
        __m128i parts[4] = {_mm512_extracti32x4_epi32(v, 0), _mm512_extracti32x4_epi32(v, 1), _mm512_extracti32x4_epi32(v, 2),
                            _mm512_extracti32x4_epi32(v, 3)};
        for (int pair = 0; pair < 4; pair++) {
          __m512 b = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(parts[pair]));
          __m512 f = _mm512_fmadd_ps(b, lo, _mm512_mul_ps(b, hi));
          _mm256_storeu_ps(panels + ((size_t)(2 * pair) * K + k) * MR, _mm512_castps512_ps256(f));
          _mm256_storeu_ps(panels + ((size_t)(2 * pair + 1) * K + k) * MR,
                           _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1)));
        }
      }
      // List q: the steps where panel q is not all zero, and where each K block's steps start.
      for (int q = 0; q < count; q++) {
        int *list = ks + q * listStride, n = 0, k = 0;
        for (; k + 16 <= K; k += 16) {
          __m128i bits = _mm_slli_epi16(_mm_load_si128((const __m128i *)(nonzero + k)), 7 - q);
          unsigned m = (unsigned)_mm_movemask_epi8(bits) & 0xffff;
          _mm512_storeu_si512(list + n, _mm512_maskz_compress_epi32((__mmask16)m, _mm512_add_epi32(lanes, _mm512_set1_epi32(k))));
          n += __builtin_popcount(m);
        }
        for (; k < K; k++) {
          list[n] = k;
          n += (nonzero[k] >> q) & 1;
        }
        for (int b = 0, t = 0; b < kblocks; b++) {
          while (t < n && list[t] < b * kstep) t++;
          blockStart[q][b] = t;
        }
        blockStart[q][kblocks] = n;
      }
      for (int q = 0; q < count; q++) {
        const int *list = ks + q * listStride;
        int p0 = g0 + q * MR;
        for (int h0 = c0; h0 < c1; h0 += NR) {
          vf sum[MR * 2], acc[MR * 2];
          if (beta != 0.0f) {
            float start[MR * NR] __attribute__((aligned(64)));
            for (int r = 0; r < MR; r++)
              for (int c = 0; c < NR; c++) start[r * NR + c] = C[(size_t)(h0 + c) * N + p0 + r];
            for (int v = 0; v < MR * 2; v++) sum[v] = *(const vf *)(start + v * VL);
          }
          for (int b = 0; b < kblocks; b++) {
            microkernel(blockStart[q][b + 1] - blockStart[q][b], list + blockStart[q][b], panels + (size_t)q * K * MR,
                        packedDZ + (size_t)(h0 - c0) * K, NR, acc);
            for (int v = 0; v < MR * 2; v++) sum[v] = b == 0 && beta == 0.0f ? acc[v] : acc[v] + sum[v];
          }
          storeTransposedTile(sum, C, (size_t)N, (size_t)h0 * N + p0, MR, NR, 1.0f, 0.0f, NULL, NULL);
        }
      }
    }
  }
}

// 1 when dZ's columns [i0, i1) are finite in all K rows (row stride M).
static int columnsFinite(const float *dZ, int M, int K, int i0, int i1) {
  if (i0 == 0 && i1 == M) return allFinite(dZ, (size_t)K * M);
  for (int k = 0; k < K; k++)
    if (!allFinite(dZ + (size_t)k * M + i0, (size_t)(i1 - i0))) return 0;
  return 1;
}
#endif

// Computes columns [j0, j1) and rows [i0, i1) of C; work is a buffer of sgemm_pack_floats() floats.
// transC: C is stored transposed (element (i, j) at C[j·M + i]); the caller uses it to compute
// Cᵀ = op(B)ᵀ·op(A)ᵀ when that packs less. Each element's FMA chain is the same either way (the
// products commute), so the result is bit-identical to the direct product. ep (null: none) adds a
// bias and a ReLU in the output pass (see sgemm.h). bytes (null: none) gives an operand as bytes.
void FN(sgemm_range)(int transA, int transB, int M, int N, int K, float alpha, const float *A, const float *B,
                     float beta, float *C, int i0, int i1, int j0, int j1, float *work, int transC,
                     const sgemm_epilogue *ep, const sgemm_bytes *bytes) {
#if ZERO_SKIP
  // The byte weight gradient's whole tiles computed transposed (weightGradientTransposed), where it
  // keeps the bits: alpha 1, beta 0 or 1, no epilogue, finite dZ. The edges take the path below.
  if (transA && !transB && bytes && bytes->B && !bytes->A && !transC && alpha == 1.0f && (beta == 0.0f || beta == 1.0f) &&
      !(ep && (ep->bias || ep->reluOut || ep->reluMask)) && K <= TRANSPOSED_MAX_K) {
    int iEnd = i0 + (i1 - i0) / NR * NR, jEnd = j0 + (j1 - j0) / MR * MR;
    if (iEnd > i0 && jEnd > j0 && columnsFinite(A, M, K, i0, iEnd)) {
      // The work buffer's bufB (KC·NC floats) holds the panels, its floatsB the rest (as below).
      float *panels = (float *)(((size_t)work + 63) & ~(size_t)63) + (size_t)SGEMM_MC * SGEMM_KC;
      float *scratch = panels + (size_t)SGEMM_KC * SGEMM_NC + (size_t)SGEMM_MC * SGEMM_KC;
      weightGradientTransposed(M, N, K, A, bytes->B, beta, C, i0, iEnd, j0, jEnd, panels, scratch);
      if (iEnd < i1) FN(sgemm_range)(transA, transB, M, N, K, alpha, A, B, beta, C, iEnd, i1, j0, j1, work, transC, ep, bytes);
      if (jEnd < j1) FN(sgemm_range)(transA, transB, M, N, K, alpha, A, B, beta, C, i0, iEnd, jEnd, j1, work, transC, ep, bytes);
      return;
    }
  }
#endif
  float *bufA = (float *)(((size_t)work + 63) & ~(size_t)63);
  float *bufB = bufA + (size_t)SGEMM_MC * SGEMM_KC;
  float *floatsA = bufB + (size_t)SGEMM_KC * SGEMM_NC, *floatsB = floatsA + (size_t)SGEMM_MC * SGEMM_KC;
  int *ksA = (int *)(floatsB + (size_t)SGEMM_KC * SGEMM_NC), *ksB = ksA + ROW_PANELS * KS_STRIDE;
  int *order = ksB + KS_STRIDE, nA[ROW_PANELS], nB = 0;
  const uint8_t *A8 = bytes ? bytes->A : NULL, *B8 = bytes ? bytes->B : NULL;
  // Zero skipping where the zeros are cheap to find: a byte A read by rows, a byte B read in place.
  int skipA8 = ZERO_SKIP && A8 && !transA;
  int skipB8 = ZERO_SKIP && B8 && !transB && transA;
  // Row strides of A's and B's storage.
  size_t ldA = transA ? (size_t)M : (size_t)K, ldB = transB ? (size_t)K : (size_t)N;
  vf acc[MR * 2];
  float edge[MR * NR] __attribute__((aligned(64)));
  // A skipping byte A's rows in an order that groups their zeros (orderRowsBySpan); C's rows are then
  // written in that order too (not with a mask: only the forward product X·Wᵀ comes here).
  int reorder = skipA8 && !transC && !(ep && ep->reluMask) && i1 - i0 > MR && i1 - i0 <= ORDER_MAX;
  if (reorder) orderRowsBySpan(A8, ldA, K, i0, i1, order, order + ORDER_MAX);
  // Small outputs are not worth a pass of their own (and stay in the caller's cache anyway).
  if (ep && ep->claim && !transC && (beta == 0.0f || ep->bias) && (size_t)(i1 - i0) * (size_t)(j1 - j0) >= 4096) {
    claimOutput(C, (size_t)N, i0, i1, j0, j1);
    if (ep->reluOut) claimOutput(ep->reluOut, (size_t)N, i0, i1, j0, j1);
  }
  for (int jc = j0; jc < j1; jc += SGEMM_NC) {
    int nc = j1 - jc < SGEMM_NC ? j1 - jc : SGEMM_NC;
    // K in equal blocks of at most SGEMM_KC (784 → 2 × 392, not 256+256+256+16): a short last
    // block would pay a full pass over C for a few k.
    int kblocks = (K + SGEMM_KC - 1) / SGEMM_KC, kstep = (K + kblocks - 1) / kblocks;
    for (int pc = 0; pc < K; pc += kstep) {
      int kc = K - pc < kstep ? K - pc : kstep;
      float b = pc == 0 ? beta : 1.0f;
      const float *bias = ep && pc == 0 ? ep->bias : NULL;
      if (bias) b = 1.0f;
      int lastBlock = ep && (ep->reluOut || ep->reluMask) && pc + kc >= K;
      // This k block of op(B)'s columns [jc, jc+nc): its first element Bo and row stride ldb.
      size_t ldb = 0;
      const float *Bo = NULL;
      // Row-major float B with packed A (the weight gradient dZᵀ·X): B's rows are read in place.
      // Bytes are converted straight into packed panels instead (the same one pass over them).
      int directB = !transB && transA && !B8;
      if (!transB && transA && B8) {
        bytesToPanels(B8 + (size_t)pc * ldB + jc, ldB, kc, nc, bufB);
      } else {
        Bo = transB ? storedBlock(B, B8, ldB, jc, pc, nc, kc, floatsB, &ldb) : storedBlock(B, B8, ldB, pc, jc, kc, nc, floatsB, &ldb);
        int full = directB ? nc / NR * NR : 0; // read in place, only the edge panel is packed
        if (full < nc) packB(Bo + full, transB, ldb, nc - full, kc, bufB + (size_t)full * kc);
      }
      // Row-major A read in place may skip its panels' zero columns where packed B is finite.
      int skipA = skipA8 && allFinite(bufB, (size_t)((nc + NR - 1) / NR) * NR * kc);
      for (int ic = i0; ic < i1; ic += SGEMM_MC) {
        int mc = i1 - ic < SGEMM_MC ? i1 - ic : SGEMM_MC;
        // Row-major A is read in place (full MR-row panels); only transposed A and edge panels are packed.
        int fullRows = transA ? 0 : mc / MR * MR;
        // Listed before the block is converted, so that the conversion finds the bytes in cache.
        // The block's rows of C (and of A), as offsets of C's rows: in order, or reordered.
        const int *rowOf = reorder ? order + (ic - i0) : NULL; // block row r is row rowOf[r] of A and C
        size_t rowAt[SGEMM_MC];
        for (int r = 0; r < mc; r++) rowAt[r] = (size_t)(rowOf ? rowOf[r] : ic + r) * N;
        if (skipA) {
          int skipped = 0;
          for (int ir = 0; ir < fullRows; ir += MR) {
            const uint8_t *rows[MR];
            for (int r = 0; r < MR; r++) rows[r] = A8 + (size_t)(rowOf ? rowOf[ir + r] : ic + ir + r) * ldA + pc;
            nA[ir / MR] = nonzeroColumns(rows, kc, ksA + (ir / MR) * KS_STRIDE);
            skipped |= nA[ir / MR] < kc;
          }
          // A block without one zero step: dense data, most likely; the rest of this k block is
          // not scanned (what the scan costs, dense data would pay for nothing).
          if (!skipped) skipA = 0;
        }
        // The same for op(A)'s rows [ic, ic+mc) of this k block.
        size_t lda = (size_t)kc;
        const float *Ao = floatsA;
        if (reorder)
          for (int r = 0; r < mc; r++) bytesToFloats(A8 + (size_t)rowOf[r] * ldA + pc, ldA, 1, kc, floatsA + (size_t)r * kc, (size_t)kc);
        else
          Ao = transA ? storedBlock(A, A8, ldA, pc, ic, kc, mc, floatsA, &lda) : storedBlock(A, A8, ldA, ic, pc, mc, kc, floatsA, &lda);
        if (fullRows < mc) packA(transA ? Ao : Ao + (size_t)fullRows * lda, transA, lda, mc - fullRows, kc, bufA + (size_t)fullRows * kc);
        // B read in place may skip its panels' zero rows where packed A is finite.
        int skipB = skipB8 && allFinite(bufA, (size_t)((mc + MR - 1) / MR) * MR * kc), skippedB = 0;
        for (int jr = 0; jr < nc; jr += NR) {
          int cols = nc - jr < NR ? nc - jr : NR;
          if (skipB && cols == NR) {
            nB = nonzeroRows(B8 + (size_t)pc * ldB + jc + jr, ldB, kc, ksB);
            skippedB |= nB < kc;
            // Likewise: four panels without one zero step, and the rest of this block is not scanned.
            if (!skippedB && jr >= 3 * NR) skipB = 0;
          }
          for (int ir = 0; ir < mc; ir += MR) {
            int rows = mc - ir < MR ? mc - ir : MR;
            if (!transC && !reorder && cols == NR && ir + MR < mc) {
              size_t next = (size_t)(ic + ir + MR) * N + jc + jr;
              int nextRows = mc - ir - MR < MR ? mc - ir - MR : MR;
              prefetchTileForWrite(C + next, (size_t)N, nextRows);
              if (lastBlock && ep->reluOut) prefetchTileForWrite(ep->reluOut + next, (size_t)N, nextRows);
            }
            if (ir < fullRows && skipA && nA[ir / MR] < kc)
              microkernel_rows(nA[ir / MR], ksA + (ir / MR) * KS_STRIDE, Ao + (size_t)ir * lda, lda, bufB + (size_t)jr * kc, acc);
            else if (ir < fullRows)
              microkernel_rows(kc, NULL, Ao + (size_t)ir * lda, lda, bufB + (size_t)jr * kc, acc);
            else if (cols == NR && skipB && nB < kc)
              microkernel(nB, ksB, bufA + (size_t)ir * kc, bufB + (size_t)jr * kc, NR, acc);
            else if (directB && cols == NR)
              microkernel(kc, NULL, bufA + (size_t)ir * kc, Bo + jr, ldb, acc);
            else if (cols <= VL)
              microkernel_half(kc, bufA + (size_t)ir * kc, bufB + (size_t)jr * kc, acc);
            else
              microkernel(kc, NULL, bufA + (size_t)ir * kc, bufB + (size_t)jr * kc, NR, acc);
            if (transC) {
              storeTransposedTile(acc, C, (size_t)M, (size_t)(jc + jr) * M + ic + ir, rows, cols, alpha, b,
                                  bias ? bias + ic + ir : NULL, lastBlock ? ep : NULL);
              continue;
            }
            // The tile's column origin in C; its rows at rowAt[ir…] from there.
            size_t col = (size_t)(jc + jr);
            const size_t *tileRows = rowAt + ir;
            if (rows == MR && cols == NR) {
              float *reluOut = lastBlock && ep->reluOut ? ep->reluOut + col : NULL;
              const float *reluMask = lastBlock && ep->reluMask ? ep->reluMask + col : NULL;
              storeTile(acc, C + col, tileRows, alpha, b, bias ? bias + col : NULL, reluOut, reluMask);
              continue;
            }
            // Same arithmetic as a full tile, on a padded copy.
            memset(edge, 0, sizeof edge);
            if (bias)
              seedBias(edge, NR, 1, rows, cols, bias + col, 0);
            else if (b != 0.0f)
              for (int r = 0; r < rows; r++) memcpy(edge + r * NR, C + tileRows[r] + col, (size_t)cols * 4);
            storeTile(acc, edge, EDGE_ROWS, alpha, b, NULL, NULL, NULL);
            for (int r = 0; r < rows; r++) {
              memcpy(C + tileRows[r] + col, edge + r * NR, (size_t)cols * 4);
              if (lastBlock) finishTile(ep, C, tileRows[r] + col, (size_t)N, 1, 1, cols);
            }
          }
        }
      }
    }
  }
}
