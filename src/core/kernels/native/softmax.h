// Row-wise softmax bit-identical to the TypeScript reference (see softmax.c).
#ifndef TRAIND_SOFTMAX_H
#define TRAIND_SOFTMAX_H
#include <stddef.h>

int softmax_available(void);
void softmax_rows(const float *Z, float *A, size_t rows, size_t cols, int vector);
// y = exp(x) through the vector path (tests); 0 when this CPU has none.
int softmax_exp_doubles(const double *x, double *y, size_t n);

#endif
