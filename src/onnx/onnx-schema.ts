// The ONNX protobuf schema (vendor/onnx/onnx.proto, Apache-2.0) parsed once with protobufjs, so
// ONNX models are encoded by a maintained protobuf library from the official schema.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const SCHEMA = path.join('vendor', 'onnx', 'onnx.proto');

/** The schema next to the package root, found from here whether running from src/ or dist/src/. */
function schemaPath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, SCHEMA);
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`${SCHEMA} not found above ${path.dirname(fileURLToPath(import.meta.url))}`);
    dir = parent;
  }
}

let modelType: protobuf.Type | null = null;

/** onnx.ModelProto, with ONNX's own snake_case field names. */
export function onnxModelType(): protobuf.Type {
  if (modelType === null) {
    const { root } = protobuf.parse(readFileSync(schemaPath(), 'utf8'), { keepCase: true });
    modelType = root.lookupType('onnx.ModelProto');
  }
  return modelType;
}
