// The numeric core's Node entry: everything of the pure entry, plus the discovery of the faster
// compute backends that need Node (the native addon through createRequire, WebAssembly SIMD with
// worker threads and a V8 flag).

export * from './index.js';
export { selectKernels, createBackend, availableBackends } from './kernels/select.js';
export type { BackendKind, SelectOptions } from './kernels/select.js';
export { nativeLoadError } from './kernels/native.js';
