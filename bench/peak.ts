// The FP32 peak the benchmark's "% of peak" figures are measured against: cores × FMA units × lanes ×
// 2 flops × clock, with the clock and the FMA unit count measured on this machine (the addon's
// probe.c: a dependent integer-add chain for the clock, independent FMA chains for the units).
import { nativeFmaPeak } from '../src/core/kernels/native.js';

export interface Peak {
  /** One core's peak, GFLOP/s. */
  gflopsPerCore: number;
  clockGHz: number;
  /** Measured vector FMAs per cycle, rounded to whole units. */
  fmaUnits: number;
  lanes: number;
  /** As measured, before rounding: how close the core came to issuing fmaUnits a cycle. */
  fmaPerCycle: number;
  fmaLatencyCycles: number;
}

export function measurePeak(): Peak | null {
  const m = nativeFmaPeak();
  if (m === null) return null;
  const fmaUnits = Math.max(1, Math.round(m.fmaPerCycle));
  return {
    gflopsPerCore: fmaUnits * m.lanes * 2 * m.clockGHz,
    clockGHz: m.clockGHz,
    fmaUnits,
    lanes: m.lanes,
    fmaPerCycle: m.fmaPerCycle,
    fmaLatencyCycles: m.fmaLatencyCycles,
  };
}

/** GFLOP/s as a percentage of `threads` cores' peak (null without a measured peak). */
export function percentOfPeak(gflops: number, threads: number, peak: Peak | null): number | null {
  return peak === null ? null : Math.round((1000 * gflops) / (threads * peak.gflopsPerCore)) / 10;
}
