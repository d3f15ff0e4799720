// Declarations of the per-ISA GEMM builds (sgemm.c compiled with -DSGEMM_ISA=avx512|avx2|generic).
#ifndef TRAIND_SGEMM_H
#define TRAIND_SGEMM_H
#include <stddef.h>

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
} sgemm_epilogue;

#define SGEMM_DECLARE(isa)                                                                                   \
  size_t sgemm_pack_floats_##isa(void);                                                                      \
  int sgemm_nr_##isa(void);                                                                                  \
  int sgemm_mr_##isa(void);                                                                                  \
  void sgemm_range_##isa(int transA, int transB, int M, int N, int K, float alpha, const float *A,          \
                         const float *B, float beta, float *C, int i0, int i1, int j0, int j1, float *work,  \
                         int transC, const sgemm_epilogue *ep);

SGEMM_DECLARE(avx512)
SGEMM_DECLARE(avx2)
SGEMM_DECLARE(generic)

#endif
