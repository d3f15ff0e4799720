// A loaded checkpoint as an ONNX model (opset 13) of the inference path predict runs: the stored
// standardization, each dense layer as Gemm, its activation, no dropout, and the outputs predict
// gives (probabilities, label and logits for classifiers, values for regressors), batch dimension dynamic.
// Deterministic: the same checkpoint always gives the same bytes.
import { defaultAlpha, type Checkpoint } from '../core/index.js';
import type { Activation, DenseLayerConfig } from '../core/types.js';
import { onnxModelType } from './onnx-schema.js';

/** Opset 13 (ONNX 1.8, IR version 7): old enough for every maintained runtime; has Erf, Softmax over one axis. */
export const ONNX_OPSET = 13;
const IR_VERSION = 7;
/** Bumped whenever the exporter changes the bytes it writes for the same checkpoint (it is part of the ETag). */
export const ONNX_EXPORT_VERSION = 1;

/** TensorProto.DataType FLOAT and INT64, AttributeProto.AttributeType FLOAT and INT. */
const FLOAT = 1;
const INT64 = 7;
const ATTR_FLOAT = 1;
const ATTR_INT = 2;

export const ONNX_INPUT = 'input';
/** Output names: predict's fields (`probabilities` and `label`, or `value`) and the classifier's `logits`. */
export const ONNX_OUTPUTS = { probabilities: 'probabilities', logits: 'logits', label: 'label', value: 'value' } as const;

interface Attribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
}

interface Node {
  name: string;
  op_type: string;
  input: string[];
  output: string[];
  attribute: Attribute[];
}

interface Tensor {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}

const LITTLE_ENDIAN = new Uint8Array(Float32Array.of(1).buffer)[3] === 0x3f;

/** Little-endian float32 bytes, whatever the host's byte order (on little-endian hosts a view, not a copy). */
function rawFloat32(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return out;
}

function tensor(name: string, dims: number[], data: Float32Array): Tensor {
  return { name, dims, data_type: FLOAT, raw_data: rawFloat32(data) };
}

function floatInfo(name: string, width: number) {
  return { name, type: { tensor_type: { elem_type: FLOAT, shape: { dim: [{ dim_param: 'batch' }, { dim_value: width }] } } } };
}

/** An int64 [batch] output (the label). */
function labelInfo(name: string) {
  return { name, type: { tensor_type: { elem_type: INT64, shape: { dim: [{ dim_param: 'batch' }] } } } };
}

function int64Tensor(name: string, values: number[]): Tensor {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return { name, dims: [values.length], data_type: INT64, raw_data: raw };
}

/** Builds the graph's nodes and initializers as the layers are walked. */
class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  private readonly constants = new Map<number, string>();

  node(op_type: string, input: string[], output: string, attribute: Attribute[] = []): string {
    this.nodes.push({ name: `${output}/${op_type}`, op_type, input, output: [output], attribute });
    return output;
  }

  /** A float32 scalar initializer, one per distinct value. */
  scalar(value: number): string {
    let name = this.constants.get(value);
    if (name === undefined) {
      name = `const.${this.constants.size}`;
      this.constants.set(value, name);
      this.initializers.push(tensor(name, [], Float32Array.of(value)));
    }
    return name;
  }

  /**
   * predict's label from the probabilities: p ≥ 0.5 for one sigmoid output, else the first index of
   * the largest (ArgMax picks the first of equal values, as predict does). int64 [batch].
   */
  label(probabilities: string, width: number, out: string): string {
    if (width > 1) return this.node('ArgMax', [probabilities], out, [{ name: 'axis', type: ATTR_INT, i: 1 }, { name: 'keepdims', type: ATTR_INT, i: 0 }]);
    const positive = this.node('GreaterOrEqual', [probabilities, this.scalar(0.5)], `${out}.positive`);
    const asInt = this.node('Cast', [positive], `${out}.int64`, [{ name: 'to', type: ATTR_INT, i: INT64 }]);
    this.initializers.push(int64Tensor(`${out}.shape`, [-1]));
    return this.node('Reshape', [asInt, `${out}.shape`], out);
  }

  /** `z` through the core's activation `kind`, named `out`. Linear adds no node. */
  activation(kind: Activation, alpha: number, z: string, out: string): string {
    switch (kind) {
      case 'linear':
        return z;
      case 'relu':
        return this.node('Relu', [z], out);
      case 'leaky_relu':
        return this.node('LeakyRelu', [z], out, [{ name: 'alpha', type: ATTR_FLOAT, f: alpha }]);
      case 'elu':
        return this.node('Elu', [z], out, [{ name: 'alpha', type: ATTR_FLOAT, f: alpha }]);
      case 'sigmoid':
        return this.node('Sigmoid', [z], out);
      case 'tanh':
        return this.node('Tanh', [z], out);
      case 'gelu': {
        // The exact form 0.5·z·(1 + erf(z/√2)), as the core and PyTorch's nn.GELU() compute it
        // (opset 13 has no Gelu operator; Erf is the standard decomposition).
        const scaled = this.node('Div', [z, this.scalar(Math.SQRT2)], `${out}.scaled`);
        const erf = this.node('Erf', [scaled], `${out}.erf`);
        const onePlus = this.node('Add', [erf, this.scalar(1)], `${out}.one_plus_erf`);
        const times = this.node('Mul', [z, onePlus], `${out}.z_times`);
        return this.node('Mul', [times, this.scalar(0.5)], out);
      }
      case 'softmax':
        return this.node('Softmax', [z], out, [{ name: 'axis', type: ATTR_INT, i: 1 }]);
    }
  }
}

function param(ckpt: Checkpoint, name: string) {
  const p = ckpt.model.params.find((q) => q.name === name);
  if (p === undefined) throw new Error(`the loaded checkpoint has no tensor ${name}`);
  return p;
}

/** The metadata_props: the checkpoint's own metadata (spec, config, epoch, step, metrics, …) and where it came from. */
function metadataProps(ckpt: Checkpoint, checkpointSha256: string): { key: string; value: string }[] {
  const props: Record<string, string> = { ...ckpt.metadata };
  delete props.format;
  delete props.format_version;
  props.checkpoint_format = `${ckpt.metadata.format ?? ''} ${ckpt.metadata.format_version ?? ''}`.trim();
  props.checkpoint_sha256 = checkpointSha256;
  props.onnx_input = ONNX_INPUT;
  props.onnx_outputs = ckpt.task === 'classification' ? `${ONNX_OUTPUTS.probabilities},${ONNX_OUTPUTS.logits},${ONNX_OUTPUTS.label}` : ONNX_OUTPUTS.value;
  return Object.keys(props)
    .sort()
    .map((key) => ({ key, value: props[key]! }));
}

function inputNote(scaling: string | undefined): string {
  if (scaling === 'divide_by_255') return 'IDX pixel bytes ÷ 255';
  if (scaling === 'none') return 'numbers as given';
  return 'IDX pixel bytes ÷ 255, other datasets\' numbers as given';
}

/** The ONNX model's bytes for a loaded checkpoint whose file had this sha256. */
export function exportOnnx(ckpt: Checkpoint, checkpointSha256: string): Uint8Array {
  const g = new GraphBuilder();
  const classifier = ckpt.task === 'classification';
  const layers = ckpt.config.layers;
  const last = layers.length - 1;

  let h = ONNX_INPUT;
  if (ckpt.normalization !== null) {
    const I = ckpt.inputWidth;
    g.initializers.push(tensor('normalize.mean', [I], ckpt.normalization.mean), tensor('normalize.std', [I], ckpt.normalization.std));
    const centered = g.node('Sub', [h, 'normalize.mean'], 'normalize.centered');
    h = g.node('Div', [centered, 'normalize.std'], 'normalize.output');
  }

  layers.forEach((layer, i) => {
    if (layer.type !== 'dense') return; // dropout is the identity at inference
    const dense: DenseLayerConfig = layer;
    const W = param(ckpt, `layers.${i}.weight`);
    const inputs = [h, W.name];
    g.initializers.push(tensor(W.name, W.shape, W.data));
    if (dense.useBias) {
      const b = param(ckpt, `layers.${i}.bias`);
      g.initializers.push(tensor(b.name, b.shape, b.data));
      inputs.push(b.name);
    }
    const isLast = i === last;
    // W is [out, in] (nn.Linear layout): Gemm computes h·Wᵀ + b with transB.
    const gemmOut = isLast ? (classifier ? ONNX_OUTPUTS.logits : dense.activation === 'linear' ? ONNX_OUTPUTS.value : `layers.${i}.linear`) : `layers.${i}.linear`;
    const z = g.node('Gemm', inputs, gemmOut, [{ name: 'transB', type: ATTR_INT, i: 1 }]);
    if (!isLast) {
      h = g.activation(dense.activation, dense.alpha ?? defaultAlpha(dense.activation), z, `layers.${i}.output`);
    } else if (classifier) {
      // The loss applied softmax/sigmoid to the logits in training; predict applies it the same way.
      const p =
        ckpt.config.loss.type === 'softmax_cross_entropy'
          ? g.node('Softmax', [z], ONNX_OUTPUTS.probabilities, [{ name: 'axis', type: ATTR_INT, i: 1 }])
          : g.node('Sigmoid', [z], ONNX_OUTPUTS.probabilities);
      g.label(p, dense.units, ONNX_OUTPUTS.label);
    } else {
      h = g.activation(dense.activation, dense.alpha ?? defaultAlpha(dense.activation), z, ONNX_OUTPUTS.value);
    }
  });

  const O = ckpt.outputWidth;
  const outputs = classifier
    ? [floatInfo(ONNX_OUTPUTS.probabilities, O), floatInfo(ONNX_OUTPUTS.logits, O), labelInfo(ONNX_OUTPUTS.label)]
    : [floatInfo(ONNX_OUTPUTS.value, O)];
  const Model = onnxModelType();
  const model = Model.fromObject({
    ir_version: IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'traind',
    producer_version: String(ONNX_EXPORT_VERSION),
    doc_string: `traind ${ckpt.task === 'classification' ? 'classifier' : 'regressor'}, epoch ${ckpt.epoch}; input: ${ckpt.inputWidth} features as the model was trained on (${inputNote(ckpt.metadata.input_scaling)})`,
    graph: {
      name: 'traind',
      node: g.nodes,
      initializer: g.initializers,
      input: [floatInfo(ONNX_INPUT, ckpt.inputWidth)],
      output: outputs,
    },
    metadata_props: metadataProps(ckpt, checkpointSha256),
  });
  return Model.encode(model).finish();
}
