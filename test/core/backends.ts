// The Kernels implementations the core tests run against; faster backends add themselves here.

import type { Kernels } from '../../src/core/kernels/kernels.js';
import { jsKernels } from '../../src/core/kernels/js.js';

export function forEachBackend(): Kernels[] {
  return [jsKernels];
}
