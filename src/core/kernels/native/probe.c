// Measures what one core's FP32 peak is made of, for the benchmark's "% of peak": the clock (a chain
// of dependent integer adds, one cycle each on every x86 core), the FMA latency (a dependent FMA
// chain) and how many vector FMAs issue per cycle (twelve independent chains, more than latency ×
// units on any current core). Peak = FMAs per cycle × lanes × 2 flops × clock.
#include <stdint.h>
#include <uv.h>

#include "probe.h"

#define REPEAT10(x) x x x x x x x x x x
#define ITERATIONS 20000
#define TRIALS 300

#if defined(__x86_64__)
// 20 dependent register-register adds per iteration (an add of an immediate may be folded away by
// the renamer on recent cores; a register operand is not).
static double add_chain_ns(void) {
  uint64_t v = 0, one = 1, t0 = uv_hrtime();
  for (int i = 0; i < ITERATIONS; i++) __asm__ volatile(REPEAT10("add %1, %0\n\t") REPEAT10("add %1, %0\n\t") : "+r"(v) : "r"(one));
  return (double)(uv_hrtime() - t0) / (ITERATIONS * 20.0);
}

// c += a·b with operands in registers: one chain (latency), or twelve at once (throughput). The
// values stay normal floats (denormal operands would slow the FMAs down).
#define FMA_LOOPS(name, bytes, target_isa)                                                                   \
  typedef float name##_v __attribute__((vector_size(bytes)));                                               \
  __attribute__((target(target_isa))) static double fma_chain_ns_##name(void) {                             \
    name##_v c = {1.0f}, a = {0.999f}, b = {0.001f};                                                         \
    uint64_t t0 = uv_hrtime();                                                                               \
    for (int i = 0; i < ITERATIONS; i++) __asm__ volatile(REPEAT10("vfmadd231ps %1, %2, %0\n\t") : "+v"(c) : "v"(a), "v"(b)); \
    return (double)(uv_hrtime() - t0) / (ITERATIONS * 10.0);                                                 \
  }                                                                                                          \
  __attribute__((target(target_isa))) static double fma_parallel_ns_##name(void) {                          \
    name##_v c0 = {1.0f}, c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, \
             c11 = c0, a = {0.999f}, b = {0.001f};                                                           \
    uint64_t t0 = uv_hrtime();                                                                               \
    for (int i = 0; i < ITERATIONS; i++)                                                                     \
      __asm__ volatile("vfmadd231ps %12, %13, %0\n\tvfmadd231ps %12, %13, %1\n\tvfmadd231ps %12, %13, %2\n\t" \
                       "vfmadd231ps %12, %13, %3\n\tvfmadd231ps %12, %13, %4\n\tvfmadd231ps %12, %13, %5\n\t" \
                       "vfmadd231ps %12, %13, %6\n\tvfmadd231ps %12, %13, %7\n\tvfmadd231ps %12, %13, %8\n\t" \
                       "vfmadd231ps %12, %13, %9\n\tvfmadd231ps %12, %13, %10\n\tvfmadd231ps %12, %13, %11\n\t" \
                       : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3), "+v"(c4), "+v"(c5), "+v"(c6), "+v"(c7),       \
                         "+v"(c8), "+v"(c9), "+v"(c10), "+v"(c11)                                              \
                       : "v"(a), "v"(b));                                                                    \
    return (double)(uv_hrtime() - t0) / (ITERATIONS * 12.0);                                                 \
  }

FMA_LOOPS(zmm, 64, "avx512f")
FMA_LOOPS(ymm, 32, "avx2,fma")
#endif

// Best (shortest) of many short trials of each loop, interleaved, so a trial the machine interrupted
// does not count: a shared machine slows trials down, never speeds them up.
int probe_fma_peak(int lanes, probe_result *out) {
#if defined(__x86_64__)
  if (lanes != 16 && lanes != 8) return 0;
  double add = 1e9, chain = 1e9, parallel = 1e9;
  for (int t = 0; t < TRIALS; t++) {
    double a = add_chain_ns();
    double c = lanes == 16 ? fma_chain_ns_zmm() : fma_chain_ns_ymm();
    double p = lanes == 16 ? fma_parallel_ns_zmm() : fma_parallel_ns_ymm();
    if (a < add) add = a;
    if (c < chain) chain = c;
    if (p < parallel) parallel = p;
  }
  out->clockGHz = 1.0 / add;
  out->fmaLatencyCycles = chain / add;
  out->fmaPerCycle = add / parallel;
  out->lanes = lanes;
  return 1;
#else
  (void)lanes;
  (void)out;
  return 0;
#endif
}
