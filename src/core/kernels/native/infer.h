// Declarations of the per-ISA inference builds (infer.c compiled with -DSGEMM_ISA=avx512|avx2|generic).
#ifndef TRAIND_INFER_H
#define TRAIND_INFER_H
#include <stddef.h>

#define INFER_DECLARE(isa)                                                                                   \
  size_t infer_packed_floats_##isa(int O, int I);                                                            \
  void infer_pack_##isa(const float *W, int O, int I, float *P);                                             \
  void infer_dense_##isa(const float *X, int r0, int r1, int I, int O, const float *P, const float *bias, int relu, \
                         int weightsFinite, const float *upcoming, float *Z);

INFER_DECLARE(avx512)
INFER_DECLARE(avx2)
INFER_DECLARE(generic)

#endif
