import type { SensitiveAttribute } from './model.js';

/**
 * Earth Mover's Distance between a class's sensitive distribution P and the table's Q, as used by
 * t-closeness (Li, Li, Venkatasubramanian 2007):
 * - equal ground distance (categorical): ½ Σ |p_i − q_i|;
 * - ordered distance (numeric, values sorted): 1/(m−1) · Σ_i |Σ_{j≤i} (p_j − q_j)|;
 * - hierarchical distance: Σ over inner nodes N of level(N)/H · min(positive, negative extra of N's children).
 */
export function emd(counts: Int32Array, size: number, global: Float64Array, attribute: SensitiveAttribute): number {
  const distance = attribute.distance;
  if (distance.kind === 'equal') {
    let sum = 0;
    for (let i = 0; i < global.length; i++) sum += Math.abs(counts[i] / size - global[i]);
    return sum / 2;
  }
  if (distance.kind === 'ordered') {
    const m = global.length;
    if (m < 2) return 0;
    let cumulative = 0;
    let total = 0;
    for (let i = 0; i < m; i++) {
      cumulative += counts[i] / size - global[i];
      total += Math.abs(cumulative);
    }
    return total / (m - 1);
  }
  return hierarchicalEmd(counts, size, global, distance);
}

function hierarchicalEmd(
  counts: Int32Array,
  size: number,
  global: Float64Array,
  tree: { parent: Int32Array; level: Int32Array; leafNodes: Int32Array; height: number; nodeCount: number },
): number {
  const positive = new Float64Array(tree.nodeCount);
  const negative = new Float64Array(tree.nodeCount);
  for (let leaf = 0; leaf < global.length; leaf++) {
    const extra = counts[leaf] / size - global[leaf];
    const node = tree.leafNodes[leaf];
    if (extra > 0) positive[node] = extra;
    else negative[node] = -extra;
  }
  // Nodes by level, leaves first: each node's children are settled before it.
  let cost = 0;
  for (let level = 1; level <= tree.height; level++) {
    const childPositive = new Map<number, number>();
    const childNegative = new Map<number, number>();
    for (let node = 0; node < tree.nodeCount; node++) {
      if (tree.level[node] !== level - 1 || tree.parent[node] < 0) continue;
      const parent = tree.parent[node];
      childPositive.set(parent, (childPositive.get(parent) ?? 0) + positive[node]);
      childNegative.set(parent, (childNegative.get(parent) ?? 0) + negative[node]);
    }
    for (const [node, pos] of childPositive) {
      const neg = childNegative.get(node) ?? 0;
      cost += (level / tree.height) * Math.min(pos, neg);
      positive[node] += Math.max(pos - neg, 0);
      negative[node] += Math.max(neg - pos, 0);
    }
  }
  return cost;
}
