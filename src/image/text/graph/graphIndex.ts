import onnxProto from 'onnx-proto';

export type Model = onnxProto.onnx.ModelProto;
export type Node = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;

export interface FloatConst {
  dims: number[];
  values: Float32Array;
}

/** Nodes, their consumers and constant values; removed nodes are only marked. */
export class GraphIndex {
  readonly removed = new Set<Node>();
  private readonly consumers = new Map<string, Node[]>();
  private readonly producers = new Map<string, Node>();
  private readonly constants = new Map<string, TensorProto>();
  private fresh = 0;

  constructor(
    private readonly nodes: Node[],
    private readonly graphOutputs: string[],
  ) {
    for (const node of nodes) {
      for (const input of node.input ?? []) {
        const list = this.consumers.get(input) ?? [];
        list.push(node);
        this.consumers.set(input, list);
      }
      for (const output of node.output ?? []) this.producers.set(output, node);
      const tensor = node.opType === 'Constant' ? node.attribute?.find((a) => a.name === 'value')?.t : undefined;
      if (tensor && node.output?.[0]) this.constants.set(node.output[0], tensor);
    }
  }

  all(opType: string): Node[] {
    return this.nodes.filter((n) => n.opType === opType && !this.removed.has(n));
  }

  /** The single live consumer of a tensor that is not a graph output, else undefined. */
  onlyConsumer(name: string): Node | undefined {
    if (this.graphOutputs.includes(name)) return undefined;
    const list = (this.consumers.get(name) ?? []).filter((n) => !this.removed.has(n));
    return list.length === 1 ? list[0] : undefined;
  }

  floatConst(name: string | undefined): FloatConst | undefined {
    const tensor = name === undefined ? undefined : this.constants.get(name);
    if (!tensor || tensor.dataType !== onnxProto.onnx.TensorProto.DataType.FLOAT) return undefined;
    const dims = (tensor.dims ?? []).map(Number);
    if (tensor.rawData && tensor.rawData.length > 0) {
      const raw = tensor.rawData;
      const copy = new Uint8Array(raw.length);
      copy.set(raw);
      return { dims, values: new Float32Array(copy.buffer) };
    }
    return { dims, values: Float32Array.from(tensor.floatData ?? []) };
  }

  /** A scalar constant (any rank, one element). */
  scalar(name: string | undefined): number | undefined {
    const value = this.floatConst(name);
    return value && value.values.length === 1 ? value.values[0] : undefined;
  }

  /** Adds a Constant node placed before `before` and returns its output name. */
  addConst(base: string, dims: number[], values: Float32Array, before: Node): string {
    const name = `${base}.veil${this.fresh++}`;
    const tensor: TensorProto = {
      name,
      dims,
      dataType: onnxProto.onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)),
    };
    const node: Node = { opType: 'Constant', output: [name], attribute: [{ name: 'value', type: onnxProto.onnx.AttributeProto.AttributeType.TENSOR, t: tensor }] };
    this.nodes.splice(this.nodes.indexOf(before), 0, node);
    this.constants.set(name, tensor);
    return name;
  }

  /** Replaces every use of `from` by `to` (consumers of a removed node's output). */
  rename(from: string, to: string): void {
    for (const node of this.consumers.get(from) ?? []) {
      node.input = (node.input ?? []).map((i) => (i === from ? to : i));
      const list = this.consumers.get(to) ?? [];
      list.push(node);
      this.consumers.set(to, list);
    }
  }

  /** Inserts a node before `before`. */
  insert(node: Node, before: Node): void {
    this.insertAt(this.nodes.indexOf(before), node);
  }

  /** Inserts a node right after `after`. */
  insertAfter(node: Node, after: Node): void {
    this.insertAt(this.nodes.indexOf(after) + 1, node);
  }

  private insertAt(index: number, node: Node): void {
    this.nodes.splice(index, 0, node);
    for (const input of node.input ?? []) {
      const list = this.consumers.get(input) ?? [];
      list.push(node);
      this.consumers.set(input, list);
    }
    for (const output of node.output ?? []) this.producers.set(output, node);
  }

  /** A name no tensor of the graph has. */
  freshName(base: string): string {
    return `${base}.veil${this.fresh++}`;
  }

  /** Output channels of a 4-D feature map, followed up through per-element ops to its Conv. */
  channels(name: string, depth = 0): number | undefined {
    const node = this.producer(name);
    if (!node || depth > 8) return undefined;
    if (node.opType === 'Conv') {
      const weight = this.floatConst(node.input?.[1]);
      return weight?.dims.length === 4 ? weight.dims[0] : undefined;
    }
    if (!['Relu', 'Sigmoid', 'HardSigmoid', 'Mul', 'Add', 'BatchNormalization'].includes(node.opType ?? '')) return undefined;
    const source = (node.input ?? []).find((i) => this.floatConst(i) === undefined);
    return source === undefined ? undefined : this.channels(source, depth + 1);
  }

  producer(name: string): Node | undefined {
    const node = this.producers.get(name);
    return node && !this.removed.has(node) ? node : undefined;
  }

  /** Records that `node` now writes `name` (a fused node took over a removed one's output). */
  produce(name: string, node: Node): void {
    this.producers.set(name, node);
  }

  liveNodes(): Node[] {
    const live = this.nodes.filter((n) => !this.removed.has(n));
    // Constants nothing reads any more (old weights) are dropped.
    const used = new Set(live.flatMap((n) => n.input ?? []));
    return live.filter((n) => n.opType !== 'Constant' || (n.output ?? []).some((o) => used.has(o) || this.graphOutputs.includes(o)));
  }
}

export function convAttr(node: Node, name: string): number[] | undefined {
  return node.attribute?.find((a) => a.name === name)?.ints?.map(Number);
}

export function isPointwiseUnpadded(conv: Node, weight: FloatConst): boolean {
  const pads = convAttr(conv, 'pads') ?? [0, 0, 0, 0];
  const group = Number(conv.attribute?.find((a) => a.name === 'group')?.i ?? 1);
  const autoPad = conv.attribute?.find((a) => a.name === 'auto_pad')?.s;
  const autoPadText = autoPad ? new TextDecoder().decode(autoPad) : 'NOTSET';
  return weight.dims.length === 4 && weight.dims[2] === 1 && weight.dims[3] === 1 && group === 1 && pads.every((p) => p === 0) && (autoPadText === 'NOTSET' || autoPadText === 'VALID');
}

/** The other input of a binary node, when `input` is one of its two inputs. */
export function otherInput(node: Node, input: string): string | undefined {
  const inputs = node.input ?? [];
  if (inputs.length !== 2) return undefined;
  if (inputs[0] === input) return inputs[1];
  if (inputs[1] === input) return inputs[0];
  return undefined;
}

export const INTS = onnxProto.onnx.AttributeProto.AttributeType.INTS;
export const INT = onnxProto.onnx.AttributeProto.AttributeType.INT;
export const STRING = onnxProto.onnx.AttributeProto.AttributeType.STRING;

export function intAttr(node: Node, name: string): number | undefined {
  const value = node.attribute?.find((a) => a.name === name)?.i;
  return value === undefined || value === null ? undefined : Number(value);
}

export function stringAttr(node: Node, name: string): string | undefined {
  const value = node.attribute?.find((a) => a.name === name)?.s;
  return value ? new TextDecoder().decode(value) : undefined;
}

export function pointwiseAttributes(group = 1): onnxProto.onnx.IAttributeProto[] {
  return [
    { name: 'kernel_shape', type: INTS, ints: [1, 1] },
    { name: 'group', type: INT, i: group },
  ];
}
