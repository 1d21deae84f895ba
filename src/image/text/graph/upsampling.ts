import type onnxProto from 'onnx-proto';
import { convAttr, GraphIndex, INT, intAttr, isPointwiseUnpadded, otherInput, pointwiseAttributes, STRING, stringAttr, type Node } from './graphIndex.js';

/** A per-channel constant (C values shaped to broadcast over N×C×H×W, or one scalar). */
function perChannel(g: GraphIndex, name: string | undefined, channels: number): Float32Array | undefined {
  const value = g.floatConst(name);
  if (!value) return undefined;
  if (value.values.length === 1) return new Float32Array(channels).fill(value.values[0]);
  const shaped = value.dims.length >= 3 && value.dims.slice(-2).every((d) => d === 1) && value.dims.slice(0, -3).every((d) => d === 1);
  return shaped && value.values.length === channels ? value.values : undefined;
}

/** Per-channel affine ops after a node (Add, Mul, BatchNormalization), folded into y = a·x + b. */
function followAffine(g: GraphIndex, start: string, channels: number, a: Float32Array, b: Float32Array): { output: string; absorbed: Node[] } {
  let output = start;
  const absorbed: Node[] = [];
  for (;;) {
    const next = g.onlyConsumer(output);
    if (next?.opType === 'Add' || next?.opType === 'Mul') {
      const value = perChannel(g, otherInput(next, output), channels);
      if (!value) break;
      for (let c = 0; c < channels; c++) {
        if (next.opType === 'Add') b[c] += value[c];
        else {
          a[c] *= value[c];
          b[c] *= value[c];
        }
      }
    } else if (next?.opType === 'BatchNormalization' && next.input?.[0] === output) {
      // BatchNormalization's parameters are 1-D, one value per channel by definition.
      const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => {
        const value = g.floatConst(next.input?.[i]);
        return value?.values.length === channels ? value.values : undefined;
      });
      if (!gamma || !beta || !mean || !variance) break;
      const epsilon = next.attribute?.find((at) => at.name === 'epsilon')?.f ?? 1e-5;
      for (let c = 0; c < channels; c++) {
        const k = gamma[c] / Math.sqrt(variance[c] + epsilon);
        a[c] *= k;
        b[c] = (b[c] - mean[c]) * k + beta[c];
      }
    } else break;
    absorbed.push(next);
    output = next.output?.[0] ?? '';
  }
  return { output, absorbed };
}

/**
 * ConvTranspose with a 2×2 kernel and stride 2 (then per-channel affine ops and a Relu or
 * Sigmoid) ⇒ 1×1 Conv to 4·C channels, the activation, DepthToSpace(2): each output pixel
 * comes from exactly one input pixel, so the transposed convolution is a per-pixel matrix
 * product followed by a rearrangement. onnxruntime's ConvTranspose runs outside the
 * blocked layout and the affine ops were full passes at the doubled resolution.
 */
export function upsamplingAsConv(g: GraphIndex): number {
  let rewritten = 0;
  for (const transpose of g.all('ConvTranspose')) {
    const weight = g.floatConst(transpose.input?.[1]);
    if (!weight || weight.dims.length !== 4 || weight.dims[2] !== 2 || weight.dims[3] !== 2) continue;
    const strides = convAttr(transpose, 'strides') ?? [1, 1];
    const pads = convAttr(transpose, 'pads') ?? [0, 0, 0, 0];
    const dilations = convAttr(transpose, 'dilations') ?? [1, 1];
    const extra = (convAttr(transpose, 'output_padding') ?? [0, 0]).some((p) => p !== 0) || convAttr(transpose, 'output_shape') !== undefined;
    if (strides.some((s) => s !== 2) || pads.some((p) => p !== 0) || dilations.some((d) => d !== 1) || extra) continue;
    if ((intAttr(transpose, 'group') ?? 1) !== 1 || (stringAttr(transpose, 'auto_pad') ?? 'NOTSET') !== 'NOTSET') continue;
    const [inChannels, outChannels] = weight.dims;
    const a = new Float32Array(outChannels).fill(1);
    const b = new Float32Array(outChannels);
    const bias = transpose.input?.[2] ? g.floatConst(transpose.input[2]) : undefined;
    if (transpose.input?.[2] && !bias) continue;
    if (bias) b.set(bias.values);
    const { output: affineOutput, absorbed } = followAffine(g, transpose.output?.[0] ?? '', outChannels, a, b);
    const activation = g.onlyConsumer(affineOutput);
    const activated = activation?.opType === 'Relu' || activation?.opType === 'Sigmoid' ? activation : undefined;
    const finalOutput = activated ? (activated.output?.[0] ?? '') : affineOutput;

    const pointwise = new Float32Array(outChannels * 4 * inChannels);
    const pointwiseBias = new Float32Array(outChannels * 4);
    for (let co = 0; co < outChannels; co++) {
      for (let k = 0; k < 4; k++) {
        pointwiseBias[co * 4 + k] = b[co];
        for (let ci = 0; ci < inChannels; ci++) pointwise[(co * 4 + k) * inChannels + ci] = a[co] * weight.values[(ci * outChannels + co) * 4 + k];
      }
    }
    const w = g.addConst(`${finalOutput}.pointwise`, [outChannels * 4, inChannels, 1, 1], pointwise, transpose);
    const wb = g.addConst(`${finalOutput}.pointwiseBias`, [outChannels * 4], pointwiseBias, transpose);
    const convOutput = g.freshName(`${finalOutput}.beforeDepthToSpace`);
    transpose.opType = 'Conv';
    transpose.input = [transpose.input?.[0] ?? '', w, wb];
    transpose.output = [convOutput];
    transpose.attribute = pointwiseAttributes();
    g.produce(convOutput, transpose);
    for (const node of absorbed) g.removed.add(node);
    let last = transpose;
    let spread = convOutput;
    if (activated) {
      spread = g.freshName(`${finalOutput}.activated`);
      g.removed.add(activated);
      last = { opType: activated.opType, input: [convOutput], output: [spread] };
      g.insertAfter(last, transpose);
    }
    g.insertAfter({ opType: 'DepthToSpace', input: [spread], output: [finalOutput], attribute: depthToSpaceAttributes(2) }, last);
    rewritten++;
  }
  return rewritten;
}

/**
 * DepthToSpace(b1) → 1×1 Conv → (Relu/Sigmoid) → DepthToSpace(b2) ⇒ 1×1 Conv → (act) →
 * DepthToSpace(b1·b2): the convolution acts on each of the b1² sub-pixels separately, so it
 * can run before the first rearrangement with a block-diagonal weight, and the two
 * rearrangements become one.
 */
export function mergeDepthToSpace(g: GraphIndex): number {
  let merged = 0;
  for (const first of g.all('DepthToSpace')) {
    if (g.removed.has(first) || (stringAttr(first, 'mode') ?? 'DCR') !== 'CRD') continue;
    const conv = g.onlyConsumer(first.output?.[0] ?? '');
    const weight = conv?.opType === 'Conv' ? g.floatConst(conv.input?.[1]) : undefined;
    if (!conv || !weight || !isPointwiseUnpadded(conv, weight) || (convAttr(conv, 'strides') ?? [1, 1]).some((s) => s !== 1)) continue;
    let tail = conv.output?.[0] ?? '';
    let activation = g.onlyConsumer(tail);
    if (activation?.opType === 'Relu' || activation?.opType === 'Sigmoid') tail = activation.output?.[0] ?? '';
    else activation = undefined;
    const second = g.onlyConsumer(tail);
    if (second?.opType !== 'DepthToSpace' || (stringAttr(second, 'mode') ?? 'DCR') !== 'CRD') continue;
    const b1 = intAttr(first, 'blocksize') ?? 0;
    const b2 = intAttr(second, 'blocksize') ?? 0;
    const [outChannels, inChannels] = weight.dims;
    if (b1 < 1 || b2 < 1 || outChannels % (b2 * b2) !== 0) continue;
    const block = b1 * b2;
    const finalChannels = outChannels / (b2 * b2);
    const bias = conv.input?.[2] ? g.floatConst(conv.input[2]) : undefined;
    if (conv.input?.[2] && !bias) continue;
    const newIn = inChannels * b1 * b1;
    const newOut = finalChannels * block * block;
    const newWeight = new Float32Array(newOut * newIn);
    const newBias = new Float32Array(newOut);
    for (let f = 0; f < finalChannels; f++) {
      for (let di = 0; di < b1; di++) {
        for (let dj = 0; dj < b1; dj++) {
          for (let ei = 0; ei < b2; ei++) {
            for (let ej = 0; ej < b2; ej++) {
              const to = f * block * block + (b2 * di + ei) * block + (b2 * dj + ej);
              const from = f * b2 * b2 + ei * b2 + ej;
              newBias[to] = bias ? bias.values[from] : 0;
              for (let c = 0; c < inChannels; c++) newWeight[to * newIn + c * b1 * b1 + di * b1 + dj] = weight.values[from * inChannels + c];
            }
          }
        }
      }
    }
    const w = g.addConst(`${conv.input?.[1] ?? 'w'}.merged`, [newOut, newIn, 1, 1], newWeight, conv);
    const wb = g.addConst(`${conv.input?.[2] ?? 'b'}.merged`, [newOut], newBias, conv);
    conv.input = [first.input?.[0] ?? '', w, wb];
    g.removed.add(first);
    second.attribute = depthToSpaceAttributes(block);
    merged++;
  }
  return merged;
}

/** DepthToSpace in CRD order (channel c·b² + i·b + j → pixel offset (i, j) of channel c). */
function depthToSpaceAttributes(block: number): onnxProto.onnx.IAttributeProto[] {
  return [
    { name: 'blocksize', type: INT, i: block },
    { name: 'mode', type: STRING, s: new TextEncoder().encode('CRD') },
  ];
}
