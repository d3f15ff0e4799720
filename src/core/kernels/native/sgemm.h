// Declarations of the per-ISA GEMM builds (sgemm.c compiled with -DSGEMM_ISA=avx512|avx2|generic).
#ifndef TRAIND_SGEMM_H
#define TRAIND_SGEMM_H
#include <stddef.h>

// Cache blocking: an MC×KC block of A stays in L2, a KC×NR panel of B in L1.
#define SGEMM_KC 256
#define SGEMM_MC 144
#define SGEMM_NC 1024

#define SGEMM_DECLARE(isa)                                                                                   \
  size_t sgemm_pack_floats_##isa(void);                                                                      \
  int sgemm_nr_##isa(void);                                                                                  \
  int sgemm_mr_##isa(void);                                                                                  \
  void sgemm_range_##isa(int transA, int transB, int M, int N, int K, float alpha, const float *A,          \
                         const float *B, float beta, float *C, int i0, int i1, int j0, int j1, float *work,  \
                         int transC);

SGEMM_DECLARE(avx512)
SGEMM_DECLARE(avx2)
SGEMM_DECLARE(generic)

#endif
