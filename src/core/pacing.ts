// When training lets its caller in: between mini-batches (and twice as an epoch ends) it yields to
// the caller's event loop every YIELD_MS of compute (through a function the caller may supply, so
// the core runs on any JS runtime), asks the caller whether to stop, and keeps the run's deadline.

import type { StopReason } from './types.js';

/** Resolves once the host has had a turn at its own work (I/O, timers, messages). */
export type YieldToCaller = () => Promise<void>;

/** How long compute may run before letting the caller's I/O in. */
export const YIELD_MS = 50;

export interface Pacing {
  yieldToCaller: YieldToCaller;
  lastYield: number;
  /** performance.now() past which the run ends with 'max_runtime'; null = no limit. */
  deadline: number | null;
}

export function createPacing(maxRuntimeSeconds: number | null, yieldToCaller: YieldToCaller = yieldMacrotask): Pacing {
  const now = performance.now();
  return { yieldToCaller, lastYield: now, deadline: maxRuntimeSeconds === null ? null : now + maxRuntimeSeconds * 1000 };
}

/** Lets the caller's work run every YIELD_MS, then asks whether to stop; returns why to stop, or null. */
export async function pause(pacing: Pacing, shouldStop?: () => boolean | Promise<boolean>): Promise<StopReason | null> {
  if (await stopRequested(pacing, shouldStop)) return 'cancelled';
  if (pacing.deadline !== null && performance.now() >= pacing.deadline) return 'max_runtime';
  return null;
}

/**
 * Lets the caller's work run if YIELD_MS have passed since it last did (a stop request arrives as
 * the caller's I/O), then asks `shouldStop`.
 */
export async function stopRequested(pacing: Pacing, shouldStop?: () => boolean | Promise<boolean>): Promise<boolean> {
  if (performance.now() - pacing.lastYield >= YIELD_MS) {
    await pacing.yieldToCaller();
    pacing.lastYield = performance.now();
  }
  if (shouldStop === undefined) return false;
  const stop = shouldStop();
  return stop === true || (stop !== false && (await stop));
}

/**
 * The default yield: one macrotask on whatever runtime this is, found at call time rather than
 * imported, so the core pulls in no runtime module. setImmediate where there is one (Node, Bun,
 * Deno); else a MessageChannel message (browsers, where a nested setTimeout waits at least 4 ms);
 * else setTimeout.
 */
export function yieldMacrotask(): Promise<void> {
  const host = globalThis as { setImmediate?: (callback: () => void) => unknown };
  return new Promise<void>((resolve) => {
    if (typeof host.setImmediate === 'function') {
      host.setImmediate(resolve);
    } else if (typeof MessageChannel === 'function') {
      const { port1, port2 } = new MessageChannel();
      port1.addEventListener('message', () => {
        port1.close();
        resolve();
      });
      port1.start();
      port2.postMessage(null);
    } else {
      setTimeout(resolve, 0);
    }
  });
}
