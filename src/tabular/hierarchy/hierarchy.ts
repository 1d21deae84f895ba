import { VeilError, type ErrorLocation } from '../../errors.js';

/**
 * A generalization hierarchy as a tree whose leaves are numbered in depth-first order, so that
 * every node covers a contiguous range of leaf indices [leafStart, leafEnd). Mondrian then
 * splits a node by splitting an integer range, and "the lowest node covering a class" is the
 * lowest common ancestor of its leaves.
 */
export interface Hierarchy {
  readonly labels: readonly string[];
  /** Parent node of each node; -1 for the root. */
  readonly parent: Int32Array;
  readonly children: readonly (readonly number[])[];
  readonly leafStart: Int32Array;
  readonly leafEnd: Int32Array;
  /** Generalization level of each node: 0 for leaves, `height` for the root. */
  readonly level: Int32Array;
  /** Node id of each leaf index. */
  readonly leafNodes: Int32Array;
  /** Leaf value → leaf index. */
  readonly leafIndex: ReadonlyMap<string, number>;
  readonly root: number;
  readonly height: number;
  readonly leafCount: number;
}

/**
 * Builds a hierarchy from one path per leaf: [leaf, level 1, …, top] — the ARX CSV layout.
 * `lineOf(i)` names the source line of path i in errors (values are never quoted).
 */
export function hierarchyFromPaths(
  paths: readonly (readonly string[])[],
  where: ErrorLocation,
  lineOf: (index: number) => number = (i) => i + 1,
): Hierarchy {
  if (paths.length === 0) throw new VeilError('HIERARCHY_INVALID', 'the hierarchy has no rows', where);
  const depth = paths[0].length;
  for (let i = 0; i < paths.length; i++) {
    if (paths[i].length !== depth) {
      throw new VeilError('HIERARCHY_INVALID', `row has ${paths[i].length} levels, expected ${depth} as in the first row`, { ...where, line: lineOf(i) });
    }
  }
  const tops = new Set(paths.map((p) => p[depth - 1]));
  // A single shared top level is the root; otherwise add one ('*') above the tops.
  const full = tops.size === 1 && depth > 1 ? paths : paths.map((p) => [...p, '*']);
  const height = full[0].length - 1;

  const labels: string[] = [];
  const levels: number[] = [];
  const parents: number[] = [];
  const children: number[][] = [];
  const nodeKey = new Map<string, number>(); // `${level}\u0000${label}` → node
  const firstLine = new Map<number, number>();

  const addNode = (label: string, level: number, parent: number): number => {
    const id = labels.length;
    labels.push(label);
    levels.push(level);
    parents.push(parent);
    children.push([]);
    if (parent >= 0) children[parent].push(id);
    return id;
  };

  const root = addNode(full[0][height], height, -1);
  nodeKey.set(`${height}\u0000${full[0][height]}`, root);
  for (let i = 0; i < full.length; i++) {
    const path = full[i];
    let parent = root;
    for (let level = height - 1; level >= 0; level--) {
      const key = `${level}\u0000${path[level]}`;
      const existing = nodeKey.get(key);
      if (existing !== undefined) {
        if (parents[existing] !== parent) {
          const message = level === 0
            ? `a value appears twice (first at line ${firstLine.get(existing)})`
            : `level ${level} of this row generalizes to a different parent than at line ${firstLine.get(existing)}: not a tree`;
          throw new VeilError('HIERARCHY_INVALID', message, { ...where, line: lineOf(i) });
        }
        if (level === 0) throw new VeilError('HIERARCHY_INVALID', `a value appears twice (first at line ${firstLine.get(existing)})`, { ...where, line: lineOf(i) });
        parent = existing;
      } else {
        const id = addNode(path[level], level, parent);
        nodeKey.set(key, id);
        firstLine.set(id, lineOf(i));
        parent = id;
      }
    }
  }
  return finish(labels, levels, parents, children, root, height);
}

function finish(labels: string[], levels: number[], parents: number[], children: number[][], root: number, height: number): Hierarchy {
  const count = labels.length;
  const leafStart = new Int32Array(count);
  const leafEnd = new Int32Array(count);
  const leafNodes: number[] = [];
  const leafIndex = new Map<string, number>();
  // Iterative DFS: leaves get indices in visiting order.
  const stack: [number, number][] = [[root, 0]];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [node, next] = top;
    if (next === 0) leafStart[node] = leafNodes.length;
    if (children[node].length === 0) {
      leafIndex.set(labels[node], leafNodes.length);
      leafNodes.push(node);
      leafEnd[node] = leafNodes.length;
      stack.pop();
    } else if (next < children[node].length) {
      top[1] = next + 1;
      stack.push([children[node][next], 0]);
    } else {
      leafEnd[node] = leafNodes.length;
      stack.pop();
    }
  }
  return {
    labels,
    parent: Int32Array.from(parents),
    children,
    leafStart,
    leafEnd,
    level: Int32Array.from(levels),
    leafNodes: Int32Array.from(leafNodes),
    leafIndex,
    root,
    height,
    leafCount: leafNodes.length,
  };
}

/** Lowest node whose leaf range covers [lo, hi] (leaf indices, inclusive). */
export function lowestCoveringNode(h: Hierarchy, lo: number, hi: number): number {
  let node = h.leafNodes[lo];
  while (h.leafEnd[node] <= hi) node = h.parent[node];
  return node;
}

/**
 * The hierarchy seen from `minLevel` up: nodes at that level become the leaves, so no value is
 * ever published below it (e.g. dates at least to the year). `leafOf` maps an original leaf
 * index to the new leaf index.
 */
export function truncateHierarchy(h: Hierarchy, minLevel: number): { hierarchy: Hierarchy; leafOf: (leaf: number) => number; leafWeights: Int32Array } {
  const ancestorAt = (node: number): number => {
    let current = node;
    while (h.level[current] < minLevel && h.parent[current] >= 0) current = h.parent[current];
    return current;
  };
  const paths: string[][] = [];
  const seen = new Set<number>();
  for (let leaf = 0; leaf < h.leafCount; leaf++) {
    const top = ancestorAt(h.leafNodes[leaf]);
    if (seen.has(top)) continue;
    seen.add(top);
    const path: string[] = [];
    for (let node = top; node >= 0; node = h.parent[node]) path.push(h.labels[node]);
    paths.push(path);
  }
  const hierarchy = hierarchyFromPaths(paths, {});
  const map = Int32Array.from({ length: h.leafCount }, (_, leaf) => hierarchy.leafIndex.get(h.labels[ancestorAt(h.leafNodes[leaf])]) ?? -1);
  // How many original leaves each new leaf stands for (for loss metrics on the full domain).
  const leafWeights = new Int32Array(hierarchy.leafCount);
  for (let leaf = 0; leaf < h.leafCount; leaf++) if (map[leaf] >= 0) leafWeights[map[leaf]]++;
  return { hierarchy, leafOf: (leaf) => map[leaf], leafWeights };
}
