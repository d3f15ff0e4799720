// One core's FP32 peak, measured (probe.c): for the benchmark's "% of peak".
#ifndef TRAIND_PROBE_H
#define TRAIND_PROBE_H

typedef struct {
  double clockGHz;         // from a dependent integer-add chain (1 cycle per add)
  double fmaLatencyCycles; // a dependent FMA chain, in those cycles
  double fmaPerCycle;      // vector FMAs issued per cycle by independent chains (the FMA units)
  int lanes;               // floats per vector
} probe_result;

// Measures with vectors of `lanes` floats (16: AVX-512, 8: AVX2); 0 where it cannot (not x86-64).
int probe_fma_peak(int lanes, probe_result *out);

#endif
