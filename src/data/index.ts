// The datasets module's public surface: parsers, built-ins and the stored file format.

export { DataError, type DataErrorCode } from './errors.js';
export type { DatasetMeta, LoadedDataset, ParseLimits, ParseOptions } from './types.js';
export { CsvParser, parseCsv, type CsvOptions, type DatasetSink, type FeatureSink, type TargetSink } from './csv.js';
export { JsonArrayParser, NdjsonParser, parseJsonRows, RowAccumulator } from './json-rows.js';
export { idxImagesShape, parseIdx, parseIdxImages } from './idx.js';
export { describeTargets, MAX_CLASSES } from './infer-task.js';
export { BUILTIN_NAMES, builtinDataset, builtinInfo, isBuiltinName, type BuiltinName } from './builtins/index.js';
export { datasetFileStart, datasetPadding, decodeDataset, encodeDataset, encodeDatasetEnd, encodeDatasetTrailer, floatBytes, type FeatureType } from './binary-format.js';
export { readIdxStreams } from './idx-stream.js';
