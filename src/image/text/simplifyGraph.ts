import onnxProto from 'onnx-proto';

type Model = onnxProto.onnx.ModelProto;
type Node = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;

/**
 * Exact algebraic rewrites of the PaddleOCR ONNX exports (paddle2onnx writes every
 * HardSwish as Add, Clip, Mul, Div and every learnable scale/shift as a separate Mul and
 * Add). onnxruntime fuses none of these, so each costs full passes over the feature maps:
 * on the PP-OCRv4 detector they took a third of the time. Rewritten here:
 * - Conv → Mul(scalar) → Add(scalar): scale and shift folded into the Conv's weights/bias;
 * - Add(3) → Clip(0, 6) → Mul(x) → Div(6): x · HardSigmoid(x) (the same function, 2 ops);
 * - Mul(scalar) → Add(scalar) → 1×1 Conv without padding: folded into that Conv (exact
 *   because no padded zero passes through the shift).
 * The result computes the same function up to float rounding; tests compare outputs.
 */
export interface SimplifyStats {
  affineIntoConv: number;
  hardSwish: number;
  affineIntoNextConv: number;
}

interface FloatConst {
  dims: number[];
  values: Float32Array;
}

export function simplifyGraph(bytes: Uint8Array): { bytes: Uint8Array; stats: SimplifyStats } {
  const model = onnxProto.onnx.ModelProto.decode(bytes);
  const stats = simplifyModel(model);
  return { bytes: onnxProto.onnx.ModelProto.encode(model).finish(), stats };
}

export function simplifyModel(model: Model): SimplifyStats {
  const graph = model.graph;
  if (!graph?.node) return { affineIntoConv: 0, hardSwish: 0, affineIntoNextConv: 0 };
  const g = new GraphIndex(graph.node, (graph.output ?? []).map((o) => o.name ?? ''));
  const stats: SimplifyStats = {
    affineIntoConv: foldAffineIntoConv(g),
    hardSwish: fuseHardSwish(g),
    affineIntoNextConv: foldAffineIntoNextConv(g),
  };
  graph.node = g.liveNodes();
  return stats;
}

/** Nodes, their consumers and constant values; removed nodes are only marked. */
class GraphIndex {
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

function convAttr(node: Node, name: string): number[] | undefined {
  return node.attribute?.find((a) => a.name === name)?.ints?.map(Number);
}

function isPointwiseUnpadded(conv: Node, weight: FloatConst): boolean {
  const pads = convAttr(conv, 'pads') ?? [0, 0, 0, 0];
  const group = Number(conv.attribute?.find((a) => a.name === 'group')?.i ?? 1);
  const autoPad = conv.attribute?.find((a) => a.name === 'auto_pad')?.s;
  const autoPadText = autoPad ? new TextDecoder().decode(autoPad) : 'NOTSET';
  return weight.dims.length === 4 && weight.dims[2] === 1 && weight.dims[3] === 1 && group === 1 && pads.every((p) => p === 0) && (autoPadText === 'NOTSET' || autoPadText === 'VALID');
}

/** The other input of a binary node, when `input` is one of its two inputs. */
function otherInput(node: Node, input: string): string | undefined {
  const inputs = node.input ?? [];
  if (inputs.length !== 2) return undefined;
  if (inputs[0] === input) return inputs[1];
  if (inputs[1] === input) return inputs[0];
  return undefined;
}

/** Conv → Mul(s) → Add(b) (either optional): y = s·conv(x) + b = conv'(x). */
function foldAffineIntoConv(g: GraphIndex): number {
  let folded = 0;
  for (const conv of g.all('Conv')) {
    const weight = g.floatConst(conv.input?.[1]);
    if (!weight || weight.dims.length !== 4) continue;
    const outChannels = weight.dims[0];
    let output = conv.output?.[0] ?? '';
    let scale = 1;
    let shift = 0;
    const absorbed: Node[] = [];
    let next = g.onlyConsumer(output);
    if (next?.opType === 'Mul') {
      const s = g.scalar(otherInput(next, output));
      if (s !== undefined) {
        scale = s;
        absorbed.push(next);
        output = next.output?.[0] ?? '';
        next = g.onlyConsumer(output);
      }
    }
    if (next?.opType === 'Add') {
      const b = g.scalar(otherInput(next, output));
      if (b !== undefined) {
        shift = b;
        absorbed.push(next);
        output = next.output?.[0] ?? '';
      }
    }
    if (absorbed.length === 0) continue;
    const bias = g.floatConst(conv.input?.[2]);
    const newWeight = weight.values.map((w) => w * scale);
    const newBias = new Float32Array(outChannels);
    for (let o = 0; o < outChannels; o++) newBias[o] = (bias ? bias.values[o] : 0) * scale + shift;
    const w = g.addConst(conv.input?.[1] ?? 'w', weight.dims, newWeight, conv);
    const b = g.addConst(conv.input?.[2] ?? 'b', [outChannels], newBias, conv);
    conv.input = [conv.input?.[0] ?? '', w, b];
    for (const node of absorbed) g.removed.add(node);
    // The conv now writes the last absorbed node's output name directly.
    conv.output = [output];
    g.produce(output, conv);
    folded++;
  }
  return folded;
}

/** Add(x, 3) → Clip(·, 0, 6) → Mul(x, ·) → Div(·, 6)  ⇒  Mul(x, HardSigmoid(x; 1/6, 1/2)). */
function fuseHardSwish(g: GraphIndex): number {
  let fused = 0;
  for (const add of g.all('Add')) {
    const x = (add.input ?? []).find((i) => g.scalar(otherInput(add, i)) === 3);
    if (x === undefined) continue;
    const clip = g.onlyConsumer(add.output?.[0] ?? '');
    if (clip?.opType !== 'Clip') continue;
    const [low, high] = clipBounds(g, clip);
    if (low !== 0 || high !== 6) continue;
    const mul = g.onlyConsumer(clip.output?.[0] ?? '');
    if (mul?.opType !== 'Mul' || otherInput(mul, clip.output?.[0] ?? '') !== x) continue;
    const div = g.onlyConsumer(mul.output?.[0] ?? '');
    if (div?.opType !== 'Div' || div.input?.[0] !== mul.output?.[0] || g.scalar(div.input?.[1]) !== 6) continue;
    const gate = `${div.output?.[0] ?? 'hardswish'}.gate`;
    add.opType = 'HardSigmoid';
    add.input = [x];
    add.output = [gate];
    add.attribute = [
      { name: 'alpha', type: onnxProto.onnx.AttributeProto.AttributeType.FLOAT, f: 1 / 6 },
      { name: 'beta', type: onnxProto.onnx.AttributeProto.AttributeType.FLOAT, f: 0.5 },
    ];
    mul.input = [x, gate];
    mul.output = div.output;
    g.produce(div.output?.[0] ?? '', mul);
    g.removed.add(clip);
    g.removed.add(div);
    fused++;
  }
  return fused;
}

/** Clip's bounds: inputs from opset 11 on, attributes before (opset 6–10). */
function clipBounds(g: GraphIndex, clip: Node): [number | undefined, number | undefined] {
  if ((clip.input ?? []).length > 1) return [g.scalar(clip.input?.[1]), g.scalar(clip.input?.[2])];
  const attribute = (name: string): number | undefined => clip.attribute?.find((a) => a.name === name)?.f ?? undefined;
  return [attribute('min'), attribute('max')];
}

/** Mul(s) → Add(b) (either optional) → 1×1 Conv, pads 0: conv(s·x + b) = conv'(x). */
function foldAffineIntoNextConv(g: GraphIndex): number {
  let folded = 0;
  for (const conv of g.all('Conv')) {
    const weight = g.floatConst(conv.input?.[1]);
    if (!weight || !isPointwiseUnpadded(conv, weight)) continue;
    let input = conv.input?.[0] ?? '';
    let scale = 1;
    let shift = 0;
    const absorbed: Node[] = [];
    let producer = g.producer(input);
    if (producer?.opType === 'Add' && g.onlyConsumer(input) === conv) {
      const source = (producer.input ?? []).find((i) => g.scalar(otherInput(producer as Node, i)) !== undefined && g.scalar(i) === undefined);
      if (source !== undefined) {
        shift = g.scalar(otherInput(producer, source)) ?? 0;
        absorbed.push(producer);
        input = source;
        producer = g.producer(input);
      }
    }
    if (producer?.opType === 'Mul' && g.onlyConsumer(input) === (absorbed[0] ?? conv)) {
      const source = (producer.input ?? []).find((i) => g.scalar(otherInput(producer as Node, i)) !== undefined && g.scalar(i) === undefined);
      if (source !== undefined) {
        scale = g.scalar(otherInput(producer, source)) ?? 1;
        absorbed.push(producer);
        input = source;
      }
    }
    if (absorbed.length === 0) continue;
    const [outChannels, inChannels] = weight.dims;
    const bias = g.floatConst(conv.input?.[2]);
    const newWeight = weight.values.map((w) => w * scale);
    const newBias = new Float32Array(outChannels);
    for (let o = 0; o < outChannels; o++) {
      let sum = 0;
      for (let i = 0; i < inChannels; i++) sum += weight.values[o * inChannels + i];
      newBias[o] = (bias ? bias.values[o] : 0) + shift * sum;
    }
    const w = g.addConst(conv.input?.[1] ?? 'w', weight.dims, newWeight, conv);
    const b = g.addConst(conv.input?.[2] ?? 'b', [outChannels], newBias, conv);
    conv.input = [input, w, b];
    for (const node of absorbed) g.removed.add(node);
    folded++;
  }
  return folded;
}
