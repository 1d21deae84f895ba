import { GraphIndex, otherInput } from './graphIndex.js';

/** Whether a tensor is a squeeze-excite gate: computed from a GlobalAveragePool, so N×C×1×1. */
function isPooledGate(g: GraphIndex, name: string): boolean {
  let current = name;
  for (let depth = 0; depth < 8; depth++) {
    const node = g.producer(current);
    if (!node) return false;
    if (node.opType === 'GlobalAveragePool') return true;
    if (!['HardSigmoid', 'Sigmoid', 'Relu', 'Conv', 'Add', 'Mul'].includes(node.opType ?? '')) return false;
    const next = (node.input ?? []).find((i) => g.floatConst(i) === undefined);
    if (next === undefined) return false;
    current = next;
  }
  return false;
}

/**
 * x + x·gate ⇒ x·(gate + 1), gate a squeeze-excite scale of one value per channel: the
 * addition moves from the feature map to the C gate values.
 */
export function foldResidualIntoGate(g: GraphIndex): number {
  let folded = 0;
  for (const add of g.all('Add')) {
    const inputs = add.input ?? [];
    if (inputs.length !== 2) continue;
    for (const [x, product] of [[inputs[0], inputs[1]], [inputs[1], inputs[0]]]) {
      const mul = g.producer(product);
      if (mul?.opType !== 'Mul' || g.onlyConsumer(product) !== add) continue;
      const gate = otherInput(mul, x);
      if (gate === undefined || !isPooledGate(g, gate)) continue;
      const one = g.addConst(`${gate}.one`, [1], Float32Array.of(1), mul);
      const raised = g.freshName(`${gate}.plusOne`);
      g.insert({ opType: 'Add', input: [gate, one], output: [raised] }, mul);
      mul.input = [x, raised];
      mul.output = add.output;
      g.produce(add.output?.[0] ?? '', mul);
      g.removed.add(add);
      folded++;
      break;
    }
  }
  return folded;
}
