// Softmax cross-entropy of LANES rows at a time, one row per vector lane: the same double operations
// as softmax.c's scalar path (row_max, normalize_row, ce_row), in the same order within each row,
// so the same bits. Rows are turned into lanes on the way in and back on the way out (a few scalar
// moves a value); what it saves is the scalar arithmetic: the maximum, the sums, the rounding of the
// probabilities, the arg-max and the gradient, each a vector for LANES rows.
// Included by softmax.c after exp-lanes.h, with the same LANES, LANES_SUFFIX and LANES_TARGET.
// exp-lanes.h's double and int64 vectors and its splat and select, under shorter names here.
#define cd LANES_FN(vd)
#define cl LANES_FN(vl)
#define cf LANES_FN(cf)
#define ci LANES_FN(ci)
#define ce_splat LANES_FN(splat)
#define ce_select LANES_FN(select)

typedef float cf __attribute__((vector_size(LANES * 4)));
typedef int32_t ci __attribute__((vector_size(LANES * 4)));

// js_max lane by lane: NaN if either is NaN; of two equal values the bitwise and (+0 over -0, and
// equal non-zero values are the same bits); else the larger.
static inline LANES_TARGET cd LANES_FN(ce_max)(cd a, cd b) {
  cd r = ce_select(a > b, a, b);
  r = ce_select(a == b, (cd)((cl)a & (cl)b), r);
  cl nan = (a != a) | (b != b);
  return ce_select(nan, ce_splat(NAN), r);
}

// Rows [0, LANES) of Z (cols ≤ BLOCK / LANES; every label a class index, checked by the caller):
// their probabilities into P, gradients into dZ (unless NULL), correct predictions added to hits
// (unless NULL) and losses added to total in row order. x: BLOCK doubles of scratch.
static LANES_TARGET void LANES_FN(ce_rows)(const float *Z, const float *labels, float *P, float *dZ, size_t cols,
                                           double scale, double *total, long *hits, double *x) {
  cd *xv = (cd *)x;
  cd max = ce_splat(-INFINITY);
  for (size_t j = 0; j < cols; j++) {
    cd z;
    for (int r = 0; r < LANES; r++) z[r] = (double)Z[r * cols + j];
    xv[j] = z;
    max = LANES_FN(ce_max)(max, z);
  }
  for (size_t j = 0; j < cols; j++) xv[j] = xv[j] - max;
  LANES_FN(exps)(x, x, cols * LANES);

  // a[j] = (float)e[j] and the sum of the exps; then a[j] = (float)(a[j] · (1 / sum)).
  cd sum = ce_splat(0.0);
  for (size_t j = 0; j < cols; j++) sum += xv[j];
  cd inv = 1 / sum;
  ci label;
  for (int r = 0; r < LANES; r++) label[r] = (int32_t)labels[r];
  ci best = (ci){0};
  cf top;
  cd dscale = ce_splat(scale);
  for (size_t j = 0; j < cols; j++) {
    cf a = __builtin_convertvector(xv[j], cf);
    cf p = __builtin_convertvector(__builtin_convertvector(a, cd) * inv, cf);
    for (int r = 0; r < LANES; r++) P[r * cols + j] = p[r];
    // The first largest probability (NaN never wins), as ce_row picks it.
    if (j == 0) {
      top = p;
    } else {
      ci more = p > top;
      top = (cf)(((ci)p & more) | ((ci)top & ~more));
      best = (best & ~more) | (((ci){0} + (int32_t)j) & more);
    }
    if (dZ != NULL) {
      cf d = __builtin_convertvector(__builtin_convertvector(p, cd) * dscale, cf);
      cf dy = __builtin_convertvector(__builtin_convertvector(d, cd) - dscale, cf);
      ci isy = label == (int32_t)j;
      d = (cf)(((ci)dy & isy) | ((ci)d & ~isy));
      for (int r = 0; r < LANES; r++) dZ[r * cols + j] = d[r];
    }
  }
  for (int r = 0; r < LANES; r++) {
    *total += (max[r] + _ZN2v84base7ieee7543logEd(sum[r])) - (double)Z[r * cols + label[r]];
    if (hits != NULL) *hits += best[r] == label[r];
  }
}

#undef cd
#undef cf
#undef ci
#undef cl
#undef ce_splat
#undef ce_select
