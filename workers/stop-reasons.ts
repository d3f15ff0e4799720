// How the core's stop reasons become a job's terminal status and reason (the API contract's words).

import type { StopReason } from '../src/core/types.js';

export function terminalFor(reason: Exclude<StopReason, 'cancelled'>): { status: 'completed' | 'failed'; reason: string } {
  switch (reason) {
    case 'diverged':
      return { status: 'failed', reason: 'diverged' };
    case 'max_epochs':
    case 'early_stopped':
    case 'converged':
    case 'max_runtime':
      return { status: 'completed', reason };
  }
}
