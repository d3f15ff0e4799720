// Declarations of the per-ISA GEMM builds (sgemm.c compiled with -DSGEMM_ISA=avx512|avx2|generic).
#ifndef TRAIND_SGEMM_H
#define TRAIND_SGEMM_H
#include <stddef.h>
#include <stdint.h>

// Cache blocking: an MC×KC block of A stays in L2, a KC×NR panel of B in L1.
#define SGEMM_KC 256
#define SGEMM_MC 144
#define SGEMM_NC 1024

// What the GEMM's output pass does besides storing C, so a dense layer's bias and ReLU cost no pass
// of their own. Every field may be null. Bit for bit the same as the separate steps it replaces.
typedef struct {
  const float *bias;      // C starts from the bias (seeded, then the product added as with beta 1):
                          // bias[j] for column j of C, or bias[i] for row i when transC
  float *reluOut;         // after the last k block: reluOut = C > 0 ? C : 0 (laid out as C)
  const float *reluMask;  // after the last k block: C = reluMask > 0 ? C : 0 (laid out as C)
  int claim;              // first take ownership of the output's lines (claim.h): another thread may
                          // hold them (set for pools of two or more threads; zeros C before use, so
                          // only when C is overwritten: beta 0, or the bias seeded)
} sgemm_epilogue;

// Operands given as bytes (compact IDX pixels) instead of floats: each element stands for
// byte / 255 rounded to float, as the byte gather makes them (elementwise.c). The GEMM converts one
// cache block at a time into its work buffer, then computes exactly as on those floats, so the bits
// are those of gathering floats first; a mini-batch's inputs are then never written out as floats.
// The AVX-512 build also leaves out the k steps at which a panel's bytes are all zero (sgemm.c, "Zero
// skipping"): the same bits, fewer FMAs on images with dark backgrounds.
// Either field may be null (that operand is the float one passed).
typedef struct {
  const uint8_t *A;
  const uint8_t *B;
} sgemm_bytes;

#define SGEMM_DECLARE(isa)                                                                                   \
  size_t sgemm_pack_floats_##isa(void);                                                                      \
  int sgemm_nr_##isa(void);                                                                                  \
  int sgemm_mr_##isa(void);                                                                                  \
  void sgemm_range_##isa(int transA, int transB, int M, int N, int K, float alpha, const float *A,          \
                         const float *B, float beta, float *C, int i0, int i1, int j0, int j1, float *work,  \
                         int transC, const sgemm_epilogue *ep, const sgemm_bytes *bytes);

SGEMM_DECLARE(avx512)
SGEMM_DECLARE(avx2)
SGEMM_DECLARE(generic)

#endif
