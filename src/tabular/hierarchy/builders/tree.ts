import { VeilError, type ErrorLocation } from '../../../errors.js';

/**
 * Inline tree from a policy: `{ "*": { Europe: [France, Germany], Asia: { East: [China] } } }`.
 * Leaves are list items (or keys mapped to nothing). Shallow branches are padded by repeating
 * the leaf, so every path has the same number of levels, as in ARX files.
 */
export function treePaths(tree: Readonly<Record<string, unknown>>, where: ErrorLocation): string[][] {
  const raw: string[][] = [];
  const walk = (node: unknown, trail: string[]) => {
    if (node === null || node === undefined) {
      raw.push(trail);
    } else if (Array.isArray(node)) {
      for (const item of node) {
        if (typeof item === 'string' || typeof item === 'number') raw.push([...trail, String(item)]);
        else if (item && typeof item === 'object') walk(item, trail);
        else throw new VeilError('HIERARCHY_INVALID', 'tree leaves must be texts or numbers', where);
      }
    } else if (typeof node === 'object') {
      for (const [key, child] of Object.entries(node as Record<string, unknown>)) walk(child, [...trail, key]);
    } else {
      raw.push([...trail, String(node)]);
    }
  };
  walk(tree, []);
  if (raw.length === 0) throw new VeilError('HIERARCHY_INVALID', 'the tree has no leaves', where);
  const depth = Math.max(...raw.map((p) => p.length));
  // raw paths go root → leaf; ARX paths go leaf → root.
  return raw.map((p) => {
    const padded = [...p];
    while (padded.length < depth) padded.push(padded[padded.length - 1]);
    return padded.reverse();
  });
}
