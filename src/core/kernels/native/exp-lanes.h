// fdlibm's exp (as V8's Math.exp has it) on a vector of doubles, lane by lane: every IEEE operation
// in the same order, the branches as lane masks. Included by softmax.c once per vector width, with
// LANES (doubles per vector), LANES_SUFFIX, LANES_TARGET (the ISA the functions are compiled for) and
// LANES_TRUNCATE(v, k, t) defined: k = (int)v lane by lane (fdlibm truncates to an int), t = (double)k.
#define LANES_CAT2(a, b) a##_##b
#define LANES_CAT(a, b) LANES_CAT2(a, b)
#define LANES_FN(name) LANES_CAT(name, LANES_SUFFIX)
#define vd LANES_FN(vd)
#define vl LANES_FN(vl)
#define bits_to_vd LANES_FN(bits_to_vd)
#define select LANES_FN(select)
#define splat LANES_FN(splat)
#define splatl LANES_FN(splatl)

typedef double vd __attribute__((vector_size(LANES * 8)));
typedef int64_t vl __attribute__((vector_size(LANES * 8)));

static inline LANES_TARGET vd bits_to_vd(vl v) { return (vd)v; }
static inline LANES_TARGET vd select(vl mask, vd yes, vd no) { return (vd)(((vl)yes & mask) | ((vl)no & ~mask)); }
static inline LANES_TARGET vd splat(double v) {
  vd r;
  for (int i = 0; i < LANES; i++) r[i] = v; // not {0} + v: that would turn -0 into +0
  return r;
}
static inline LANES_TARGET vl splatl(int64_t v) { return (vl){0} + v; }

// exp of LANES doubles with the results of fdlibm's e_exp.c as V8 has it (including its exp(1) = E).
// Constants: fdlibm's, given by their bit patterns.
static LANES_TARGET vd LANES_FN(exp)(vd x) {
  const vd one = splat(1.0), two = splat(2.0);
  const vd ln2hi = bits_to_vd(splatl(0x3FE62E42FEE00000)), ln2lo = bits_to_vd(splatl(0x3DEA39EF35793C76));
  const vd invln2 = bits_to_vd(splatl(0x3FF71547652B82FE));
  const vd P1 = bits_to_vd(splatl(0x3FC555555555553E)), P2 = bits_to_vd(splatl((int64_t)0xBF66C16C16BEBD93));
  const vd P3 = bits_to_vd(splatl(0x3F11566AAF25DE2C)), P4 = bits_to_vd(splatl((int64_t)0xBEBBBD41C5D26BF1));
  const vd P5 = bits_to_vd(splatl(0x3E66376972BEA4D0));
  const vd o_threshold = bits_to_vd(splatl(0x40862E42FEFA39EF)), u_threshold = bits_to_vd(splatl((int64_t)0xC0874910D52D3051));
  const vd E = bits_to_vd(splatl(0x4005BF0A8B145769));
  const vd two1023 = bits_to_vd(splatl(0x7FE0000000000000)), twom1000 = bits_to_vd(splatl(0x0170000000000000));

  vl bits = (vl)x;
  vl hx = (bits >> 32) & 0x7FFFFFFF;
  vl negative = bits < 0; // all ones where the sign bit is set
  // ±ln2 split, ±0.5: fdlibm's tables indexed by the sign.
  vd sln2hi = select(negative, -ln2hi, ln2hi), sln2lo = select(negative, -ln2lo, ln2lo);
  vd half = select(negative, splat(-0.5), splat(0.5));

  // Argument reduction: |x| in (0.5 ln2, 1.5 ln2): k = ±1; beyond: k = (int)(x/ln2 ± 0.5).
  vl near = (hx > 0x3FD62E42) & (hx < 0x3FF0A2B2);
  vl far = hx >= 0x3FF0A2B2;
  vl kfar;
  vd t;
  LANES_TRUNCATE(invln2 * x + half, kfar, t);
  vl k = (near & (negative | splatl(1))) | (far & kfar); // ±1 near (-1 is all ones), 0 when not reduced
  vd hi = select(near, x - sln2hi, select(far, x - t * ln2hi, splat(0.0)));
  vd lo = select(near, sln2lo, select(far, t * ln2lo, splat(0.0)));
  vl reduced = near | far;
  vd r = select(reduced, hi - lo, x);

  vd t2 = r * r;
  vd c = r - t2 * (P1 + t2 * (P2 + t2 * (P3 + t2 * (P4 + t2 * P5))));
  vd at_k0 = one - ((r * c) / (c - two) - r);
  vd y = one - ((lo - (r * c) / (two - c)) - hi);
  vl normal = k >= -1021;
  // 2^k times 1, or for k < -1021 2^(k+1000) times 2^-1000, or for k = 1024 2 times 2^1023: each
  // lane multiplies only by its own factors (a subnormal product in an unused lane would cost a
  // microcode assist on every call).
  vl top = k == 1024;
  vd twopk = (vd)((((normal & k) | (~normal & (k + 1000))) + 0x3FF) << 52);
  twopk = select(top, two, twopk);
  vd scale = select(normal, select(top, two1023, one), twom1000);
  vd scaled = y * twopk * scale;
  vd result = select(k == 0, at_k0, scaled);

  // The cases fdlibm returns early (their |x| ranges do not overlap, but for ±Infinity over the thresholds).
  result = select(hx < 0x3E300000, one + x, result); // |x| < 2^-28
  result = select(near & (x == one), E, result);
  vl big = hx >= 0x40862E42;
  result = select(big & (x < u_threshold), splat(0.0), result); // 2^-1000 · 2^-1000 underflows to +0
  result = select(big & (x > o_threshold), splat(INFINITY), result);
  vl nonfinite = hx >= 0x7FF00000;
  vl nan = nonfinite & (((hx & 0xFFFFF) | (bits & 0xFFFFFFFF)) != 0);
  result = select(nonfinite, select(negative, splat(0.0), x), result);
  result = select(nan, x + x, result);
  return result;
}

// y[i] = exp(x[i]) for n doubles, a vector at a time (a short tail through a padded vector).
static LANES_TARGET void LANES_FN(exps)(const double *x, double *y, size_t n) {
  size_t i = 0;
  for (; i + LANES <= n; i += LANES) {
    vd v;
    memcpy(&v, x + i, sizeof v);
    v = LANES_FN(exp)(v);
    memcpy(y + i, &v, sizeof v);
  }
  if (i < n) {
    vd v = splat(0.0);
    memcpy(&v, x + i, (n - i) * sizeof(double));
    v = LANES_FN(exp)(v);
    memcpy(y + i, &v, (n - i) * sizeof(double));
  }
}

#undef vd
#undef vl
#undef bits_to_vd
#undef select
#undef splat
#undef splatl
