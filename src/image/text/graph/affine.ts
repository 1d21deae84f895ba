import { GraphIndex, isPointwiseUnpadded, otherInput, pointwiseAttributes, type Node } from './graphIndex.js';

/** Conv → Mul(s) → Add(b) (either optional): y = s·conv(x) + b = conv'(x). */
export function foldAffineIntoConv(g: GraphIndex): number {
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

/** Mul(s) → Add(b) (either optional) → 1×1 Conv, pads 0: conv(s·x + b) = conv'(x). */
export function foldAffineIntoNextConv(g: GraphIndex): number {
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

/**
 * Mul(s) → Add(b) (scalars) on a feature map ⇒ a 1×1 depthwise Conv of weight s, bias b.
 * The scale/shift before a padded convolution cannot be folded into it (the padded zeros
 * would be shifted too); as a Conv it stays in onnxruntime's blocked layout, where a
 * broadcast Mul and Add each cost a layout conversion there and back.
 */
export function affineAsDepthwiseConv(g: GraphIndex): number {
  let rewritten = 0;
  for (const mul of g.all('Mul')) {
    const source = (mul.input ?? []).find((i) => g.scalar(otherInput(mul, i)) !== undefined && g.scalar(i) === undefined);
    if (source === undefined) continue;
    const channels = g.channels(source);
    if (channels === undefined) continue;
    const scale = g.scalar(otherInput(mul, source)) ?? 1;
    // Only a scale followed by a shift: a lone Mul may be part of a pattern onnxruntime
    // fuses itself (x·sigmoid(1·x) → QuickGelu).
    const add = g.onlyConsumer(mul.output?.[0] ?? '');
    const shift = add?.opType === 'Add' ? g.scalar(otherInput(add, mul.output?.[0] ?? '')) : undefined;
    if (!add || shift === undefined) continue;
    g.removed.add(add);
    const output = add.output?.[0] ?? '';
    const weight = g.addConst(`${output}.scale`, [channels, 1, 1, 1], new Float32Array(channels).fill(scale), mul);
    const bias = g.addConst(`${output}.shift`, [channels], new Float32Array(channels).fill(shift), mul);
    mul.opType = 'Conv';
    mul.input = [source, weight, bias];
    mul.output = [output];
    mul.attribute = pointwiseAttributes(channels);
    g.produce(output, mul);
    rewritten++;
  }
  return rewritten;
}
