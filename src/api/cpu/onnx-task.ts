// Runs in a CPU thread: one kept checkpoint read, verified against its recorded size and sha256,
// loaded, and exported as ONNX (src/onnx/export-onnx.ts). Its cost is that of loading the model
// for predict (bounded by MAX_MODEL_PARAMS through the checkpoint's size), so it stays off the event loop.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { loadCheckpoint, type Checkpoint } from '../../core/index.js';
import { exportOnnx } from '../../onnx/export-onnx.js';
import { CheckpointCorruptError } from '../../store/verified-checkpoint.js';
import { CheckpointMissing, type OnnxResult, type OnnxTask } from './protocol.js';

function readVerified(t: OnnxTask): Uint8Array {
  const c = t.checkpoint;
  let fd: number;
  try {
    fd = openSync(c.path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CheckpointMissing(c.path);
    throw err;
  }
  try {
    const { size } = fstatSync(fd);
    if (size !== c.size) throw new CheckpointCorruptError(t.jobId, c.epoch, `${size} bytes on disk, ${c.size} recorded`);
    const bytes = new Uint8Array(c.size);
    let at = 0;
    while (at < c.size) {
      const n = readSync(fd, bytes, at, c.size - at, at);
      if (n === 0) throw new CheckpointCorruptError(t.jobId, c.epoch, `${at} bytes readable, ${c.size} recorded`);
      at += n;
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== c.sha256) throw new CheckpointCorruptError(t.jobId, c.epoch, `sha256 ${sha256} on disk, ${c.sha256} recorded`);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

export function runOnnxExport(t: OnnxTask): OnnxResult {
  const bytes = readVerified(t);
  let ckpt: Checkpoint;
  try {
    ckpt = loadCheckpoint(bytes);
  } catch (err) {
    // The bytes are the ones recorded, but not a checkpoint this core can load.
    throw new CheckpointCorruptError(t.jobId, t.checkpoint.epoch, (err as Error).message);
  }
  const onnx = exportOnnx(ckpt, t.checkpoint.sha256);
  // A buffer of its own (protobufjs may hand out a view of Node's shared Buffer pool), so it can be transferred.
  return { body: onnx.byteOffset === 0 && onnx.byteLength === onnx.buffer.byteLength ? onnx : new Uint8Array(onnx) };
}
