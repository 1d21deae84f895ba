import onnxProto from 'onnx-proto';
import { VeilError } from '../../../errors.js';
import { attrInts, attrString, attrStrings, placeholderShape, type TfjsConst, type TfjsGraph, type TfjsNode } from './tfjsGraph.js';

const { onnx } = onnxProto;

/**
 * Converts a TensorFlow.js graph model (NHWC) into an ONNX model (opset 13) that
 * onnxruntime runs. Covers the ops of the convolutional detectors we ship: _FusedConv2D
 * (split into Conv with bias + activation), DepthwiseConv2dNative (grouped Conv), AddV2,
 * Relu, Relu6, MaxPool, Pad, Reshape, Identity.
 *
 * Layout: the ONNX model keeps the tfjs interface (input [N,H,W,C], outputs as in tfjs).
 * Inside, activations are NCHW: one Transpose after the input, one before every Reshape
 * (which is layout dependent). Filters are transposed once at conversion time.
 */
export interface ConvertOptions {
  /** Written into the model's metadata (e.g. source package and file hashes). */
  metadata?: Record<string, string>;
  producerVersion?: string;
}

type Layout = 'nchw' | 'plain';

const OPSET = 13;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

function unsupported(node: TfjsNode, what: string): never {
  throw new VeilError('MODEL_INVALID', `cannot convert op ${node.op}: ${what}`, { field: node.name });
}

/** tfjs input references look like "name", "name:0" or "^name" (control edge). */
function tensorName(ref: string): string {
  return ref.endsWith(':0') ? ref.slice(0, -2) : ref;
}

function floatTensor(name: string, dims: number[], values: Float32Array): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: FLOAT, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

function int64Tensor(name: string, values: number[]): onnxProto.onnx.ITensorProto {
  const data = new BigInt64Array(values.map((v) => BigInt(v)));
  return { name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(data.buffer) };
}

/** [kh, kw, in, out] → [out, in, kh, kw]. */
export function convFilterToOihw(filter: TfjsConst): { dims: number[]; values: Float32Array } {
  const [kh, kw, cin, cout] = filter.shape as [number, number, number, number];
  const src = filter.values;
  const out = new Float32Array(src.length);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let c = 0; c < cin; c++)
        for (let o = 0; o < cout; o++) out[((o * cin + c) * kh + i) * kw + j] = src[((i * kw + j) * cin + c) * cout + o] ?? 0;
  return { dims: [cout, cin, kh, kw], values: out };
}

/** Depthwise [kh, kw, in, mult] → grouped [in·mult, 1, kh, kw]. */
export function depthwiseFilterToOihw(filter: TfjsConst): { dims: number[]; values: Float32Array } {
  const [kh, kw, cin, mult] = filter.shape as [number, number, number, number];
  const src = filter.values;
  const out = new Float32Array(src.length);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let c = 0; c < cin; c++)
        for (let m = 0; m < mult; m++) out[((c * mult + m) * kh + i) * kw + j] = src[((i * kw + j) * cin + c) * mult + m] ?? 0;
  return { dims: [cin * mult, 1, kh, kw], values: out };
}

function int(name: string, i: number): onnxProto.onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i };
}
function ints(name: string, values: number[]): onnxProto.onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: values };
}
function str(name: string, s: string): onnxProto.onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(s) };
}

/** SAME (TF) pads the extra pixel at the end, which is ONNX's SAME_UPPER. */
function paddingAttrs(node: TfjsNode, rank2Kernel: number[]): onnxProto.onnx.IAttributeProto[] {
  const padding = attrString(node, 'padding');
  if (padding === 'SAME') return [str('auto_pad', 'SAME_UPPER')];
  if (padding === 'VALID') return [ints('pads', [0, 0, 0, 0])];
  return unsupported(node, `padding ${padding ?? 'missing'} for kernel ${rank2Kernel.join('x')}`);
}

function nhwcPairs(node: TfjsNode, key: string): number[] {
  const values = attrInts(node, key);
  if (!values || values.length !== 4) return [1, 1];
  if (values[0] !== 1 || values[3] !== 1) unsupported(node, `${key} over batch or channels`);
  return [values[1] ?? 1, values[2] ?? 1];
}

export function convertTfjsGraphToOnnx(graph: TfjsGraph, options: ConvertOptions = {}): Uint8Array {
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const initializers: onnxProto.onnx.ITensorProto[] = [];
  const inputs: onnxProto.onnx.IValueInfoProto[] = [];
  const outputs: onnxProto.onnx.IValueInfoProto[] = [];
  const layout = new Map<string, Layout>();
  let serial = 0;
  const fresh = (base: string): string => `${base}__${serial++}`;

  const constOf = (node: TfjsNode, index: number): TfjsConst => {
    const ref = node.inputs[index];
    const value = ref === undefined ? undefined : graph.consts.get(tensorName(ref));
    if (!value) return unsupported(node, `input ${index} must be a constant`);
    return value;
  };
  const activation = (node: TfjsNode, index: number): string => {
    const ref = node.inputs[index];
    if (ref === undefined) return unsupported(node, `missing input ${index}`);
    const name = tensorName(ref);
    if (graph.consts.has(name)) return unsupported(node, `constant input ${index}`);
    if (!layout.has(name)) return unsupported(node, `input ${index} is produced by an unconverted node`);
    return name;
  };
  const addFloatInit = (base: string, dims: number[], values: Float32Array): string => {
    const name = fresh(base);
    initializers.push(floatTensor(name, dims, values));
    return name;
  };
  const applyActivation = (node: TfjsNode, input: string, fused: string | undefined): void => {
    if (fused === undefined) {
      nodes.push({ opType: 'Identity', input: [input], output: [node.name], name: fresh(node.name) });
    } else if (fused === 'Relu') {
      nodes.push({ opType: 'Relu', input: [input], output: [node.name], name: fresh(node.name) });
    } else if (fused === 'Relu6') {
      const lo = addFloatInit(`${node.name}/min`, [], new Float32Array([0]));
      const hi = addFloatInit(`${node.name}/max`, [], new Float32Array([6]));
      nodes.push({ opType: 'Clip', input: [input, lo, hi], output: [node.name], name: fresh(node.name) });
    } else {
      unsupported(node, `fused activation ${fused}`);
    }
  };

  for (const node of graph.nodes) {
    switch (node.op) {
      case 'Const':
        break;
      case 'Placeholder': {
        const shape = placeholderShape(node);
        if (shape.length !== 4) unsupported(node, 'a 4-D NHWC input');
        inputs.push({
          name: node.name,
          type: { tensorType: { elemType: FLOAT, shape: { dim: shape.map((d, i) => (i === 0 || !(d > 0) ? { dimParam: i === 0 ? 'batch' : `d${i}` } : { dimValue: d })) } } },
        });
        nodes.push({ opType: 'Transpose', input: [node.name], output: [`${node.name}__nchw`], attribute: [ints('perm', [0, 3, 1, 2])], name: fresh('input_to_nchw') });
        // Consumers refer to the placeholder by name; alias the NCHW copy under a map.
        layout.set(node.name, 'nchw');
        break;
      }
      case '_FusedConv2D':
      case 'Conv2D':
      case 'DepthwiseConv2dNative': {
        if (attrString(node, 'data_format') !== undefined && attrString(node, 'data_format') !== 'NHWC') unsupported(node, 'NHWC data');
        const x = activation(node, 0);
        const filter = constOf(node, 1);
        const depthwise = node.op === 'DepthwiseConv2dNative';
        const { dims, values } = depthwise ? depthwiseFilterToOihw(filter) : convFilterToOihw(filter);
        const convInputs = [inputName(x), addFloatInit(`${node.name}/W`, dims, values)];
        const fusedOps = node.op === '_FusedConv2D' ? attrStrings(node, 'fused_ops') : [];
        const rest = fusedOps.filter((op) => op !== 'BiasAdd');
        if (fusedOps.includes('BiasAdd')) {
          const bias = constOf(node, 2);
          if (bias.dtype !== 'float32') unsupported(node, 'float bias');
          convInputs.push(addFloatInit(`${node.name}/B`, [bias.shape[0] ?? 0], bias.values as Float32Array));
        }
        if (rest.length > 1) unsupported(node, `fused ops ${fusedOps.join('+')}`);
        const kernel = [filter.shape[0] ?? 1, filter.shape[1] ?? 1];
        const convOut = fresh(`${node.name}/conv`);
        nodes.push({
          opType: 'Conv',
          input: convInputs,
          output: [convOut],
          name: fresh(node.name),
          attribute: [
            ints('kernel_shape', kernel),
            ints('strides', nhwcPairs(node, 'strides')),
            ints('dilations', nhwcPairs(node, 'dilations')),
            int('group', depthwise ? (filter.shape[2] ?? 1) : 1),
            ...paddingAttrs(node, kernel),
          ],
        });
        applyActivation(node, convOut, rest[0]);
        layout.set(node.name, 'nchw');
        break;
      }
      case 'AddV2':
      case 'Add': {
        const a = activation(node, 0);
        const b = activation(node, 1);
        if (layout.get(a) !== layout.get(b)) unsupported(node, 'inputs of the same layout');
        nodes.push({ opType: 'Add', input: [inputName(a), inputName(b)], output: [node.name], name: fresh(node.name) });
        layout.set(node.name, layout.get(a) ?? 'nchw');
        break;
      }
      case 'Relu':
      case 'Relu6': {
        const x = activation(node, 0);
        applyActivation(node, inputName(x), node.op);
        layout.set(node.name, layout.get(x) ?? 'nchw');
        break;
      }
      case 'MaxPool': {
        const x = activation(node, 0);
        const kernel = nhwcPairs(node, 'ksize');
        nodes.push({
          opType: 'MaxPool',
          input: [inputName(x)],
          output: [node.name],
          name: fresh(node.name),
          attribute: [ints('kernel_shape', kernel), ints('strides', nhwcPairs(node, 'strides')), ...paddingAttrs(node, kernel)],
        });
        layout.set(node.name, 'nchw');
        break;
      }
      case 'Pad': {
        const x = activation(node, 0);
        const paddings = constOf(node, 1);
        if (paddings.shape.join(',') !== '4,2') unsupported(node, 'paddings of shape [4,2]');
        const p = Array.from(paddings.values);
        // NHWC [[n0,n1],[h0,h1],[w0,w1],[c0,c1]] → ONNX NCHW [n0,c0,h0,w0,n1,c1,h1,w1].
        const pads = [p[0], p[6], p[2], p[4], p[1], p[7], p[3], p[5]].map((v) => v ?? 0);
        const padsName = fresh(`${node.name}/pads`);
        initializers.push(int64Tensor(padsName, pads));
        nodes.push({ opType: 'Pad', input: [inputName(x), padsName], output: [node.name], name: fresh(node.name), attribute: [str('mode', 'constant')] });
        layout.set(node.name, 'nchw');
        break;
      }
      case 'Reshape': {
        const x = activation(node, 0);
        const shape = Array.from(constOf(node, 1).values);
        // A batch of 1 in the target shape becomes -1 so that tiles can be batched.
        if (shape[0] === 1 && !shape.includes(-1)) shape[0] = -1;
        let source = inputName(x);
        if (layout.get(x) === 'nchw') {
          source = fresh(`${node.name}/nhwc`);
          nodes.push({ opType: 'Transpose', input: [inputName(x)], output: [source], attribute: [ints('perm', [0, 2, 3, 1])], name: fresh(node.name) });
        }
        const shapeName = fresh(`${node.name}/shape`);
        initializers.push(int64Tensor(shapeName, shape));
        nodes.push({ opType: 'Reshape', input: [source, shapeName], output: [node.name], name: fresh(node.name) });
        layout.set(node.name, 'plain');
        break;
      }
      case 'Identity': {
        const x = activation(node, 0);
        nodes.push({ opType: 'Identity', input: [inputName(x)], output: [node.name], name: fresh(node.name) });
        layout.set(node.name, layout.get(x) ?? 'plain');
        break;
      }
      default:
        unsupported(node, 'op not supported by the converter');
    }
  }

  // Graph outputs: Identity nodes that nothing consumes (tfjs' signature outputs).
  const consumed = new Set(graph.nodes.flatMap((n) => n.inputs.map(tensorName)));
  for (const node of graph.nodes) {
    if (node.op === 'Identity' && !consumed.has(node.name)) {
      if (layout.get(node.name) !== 'plain') unsupported(node, 'outputs produced by a Reshape');
      outputs.push({ name: node.name, type: { tensorType: { elemType: FLOAT } } });
    }
  }
  if (inputs.length !== 1 || outputs.length === 0) throw new VeilError('MODEL_INVALID', 'expected one input and at least one output');

  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'veil convert-tfjs',
    producerVersion: options.producerVersion ?? '1',
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: { name: 'converted', node: nodes, initializer: initializers, input: inputs, output: outputs },
  });
  return onnx.ModelProto.encode(model).finish();

  /** The placeholder itself is NHWC; its NCHW copy is what convolutions read. */
  function inputName(name: string): string {
    return inputs.some((i) => i.name === name) ? `${name}__nchw` : name;
  }
}

/** Reads the metadata written by `convertTfjsGraphToOnnx` back from model bytes. */
export function readOnnxMetadata(bytes: Uint8Array): Record<string, string> {
  const model = onnx.ModelProto.decode(bytes);
  const out: Record<string, string> = {};
  for (const entry of model.metadataProps) if (entry.key) out[entry.key] = entry.value ?? '';
  return out;
}
