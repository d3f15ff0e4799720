// Runs in a CPU thread: one kept checkpoint read, verified against its recorded size and sha256,
// loaded, and exported as ONNX (src/onnx/export-onnx.ts). Its cost is that of loading the model
// for predict (bounded by MAX_MODEL_PARAMS through the checkpoint's size), so it stays off the event loop.
import { createHash } from 'node:crypto';
import { loadCheckpoint, type Checkpoint } from '../../core/index.js';
import { exportOnnx } from '../../onnx/export-onnx.js';
import { CheckpointCorruptError } from '../../store/verified-checkpoint.js';
import { CheckpointMissing, type OnnxResult, type OnnxTask } from './protocol.js';
import { readOpened } from './read-opened.js';
import { threadStorage } from './thread-storage.js';

async function readVerified(t: OnnxTask): Promise<Uint8Array> {
  const c = t.checkpoint;
  const opened = await threadStorage().open(c.key);
  if (opened === null) throw new CheckpointMissing(c.key);
  try {
    if (opened.size !== c.size) throw new CheckpointCorruptError(t.jobId, c.epoch, `${opened.size} bytes on disk, ${c.size} recorded`);
    const bytes = await readOpened(opened.handle, c.size);
    if (bytes === null) throw new CheckpointCorruptError(t.jobId, c.epoch, `fewer bytes readable than the ${c.size} recorded`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== c.sha256) throw new CheckpointCorruptError(t.jobId, c.epoch, `sha256 ${sha256} on disk, ${c.sha256} recorded`);
    return bytes;
  } finally {
    await opened.handle.close();
  }
}

export async function runOnnxExport(t: OnnxTask): Promise<OnnxResult> {
  const bytes = await readVerified(t);
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
