import onnxProto from 'onnx-proto';
import { GraphIndex, otherInput, type Node } from './graphIndex.js';

/** Add(x, 3) → Clip(·, 0, 6) → Mul(x, ·) → Div(·, 6)  ⇒  Mul(x, HardSigmoid(x; 1/6, 1/2)). */
export function fuseHardSwish(g: GraphIndex): number {
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
