// Row-wise softmax and softmax cross-entropy, bit-identical to the TypeScript references (see softmax.c).
#ifndef TRAIND_SOFTMAX_H
#define TRAIND_SOFTMAX_H
#include <stddef.h>

// Whether V8's exp (and, for the loss, its log) can be called: without them, nothing here may run.
int softmax_available(void);
int softmax_ce_available(void);
void softmax_rows(const float *Z, float *A, size_t rows, size_t cols, int vector);
// Softmax cross-entropy of logits Z [rows × cols] against class labels: P = softmax(Z), dZ (NULL: not
// computed) = (P − one-hot(label)) / rows, *total = Σ_r (log Σ_j exp Z[r,j] − Z[r,label]), and *hits
// (NULL: not counted) = the rows whose first largest P is their label. Returns -1, or the first row
// whose label is not an integer in [0, cols) (then P, dZ and *hits are not promised).
long softmax_ce_labels(const float *Z, const float *labels, float *P, float *dZ, size_t rows, size_t cols, double *total,
                       long *hits, int vector);
// y = exp(x) through the vector exp of `lanes` doubles (tests); 0 when this CPU has no such width.
int softmax_exp_doubles(const double *x, double *y, size_t n, int lanes);

#endif
