// Row-wise softmax bit-identical to the TypeScript reference (see softmax.c).
#ifndef TRAIND_SOFTMAX_H
#define TRAIND_SOFTMAX_H
#include <stddef.h>

int softmax_available(void);
void softmax_rows(const float *Z, float *A, size_t rows, size_t cols);

#endif
