// Element-wise passes bit-identical to the TypeScript reference (see elementwise.c).
#ifndef TRAIND_ELEMENTWISE_H
#define TRAIND_ELEMENTWISE_H
#include <stddef.h>
#include <stdint.h>

void ew_relu_forward(const float *Z, float *A, size_t n);
void ew_leaky_relu_forward(const float *Z, float *A, size_t n, double alpha);
void ew_relu_backward(const float *Z, const float *dA, float *dZ, size_t n);
void ew_leaky_relu_backward(const float *Z, const float *dA, float *dZ, size_t n, double alpha);
void ew_sigmoid_backward(const float *A, const float *dA, float *dZ, size_t n);
void ew_tanh_backward(const float *A, const float *dA, float *dZ, size_t n);
void ew_bias_gradient(const float *dZ, float *db, size_t B, size_t O);
void ew_sgd_step(float *w, const float *g, float *buf, size_t n, double lr, double momentum, int nesterov);
void ew_gather_rows(const float *src, size_t width, const int32_t *order, size_t count, float *dst);
// How ew_gather_byte_rows converts: the pool's build picks (the vector paths need FMA, see elementwise.c).
enum { EW_GATHER_DIVIDE = 0, EW_GATHER_AVX2 = 1, EW_GATHER_AVX512 = 2 };
// dst row r (width bytes) = src row order[r], for r < count.
void ew_copy_byte_rows(const uint8_t *src, size_t width, const int32_t *order, size_t count, uint8_t *dst);
void ew_gather_byte_rows(const uint8_t *src, size_t width, const int32_t *order, size_t count, float *dst, int how);

#endif
