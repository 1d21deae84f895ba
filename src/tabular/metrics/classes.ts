import type { Table } from '../table.js';

/**
 * Equivalence classes measured on a table: rows with identical texts in all the given columns
 * form a class. Rows flagged in `skip` (suppressed) belong to no class (class -1).
 */
export interface ClassIndex {
  classOf: Int32Array;
  sizes: Int32Array;
  count: number;
}

export function equivalenceClasses(table: Table, columnIndices: readonly number[], skip?: Uint8Array): ClassIndex {
  const n = table.rowCount;
  let group = new Int32Array(n);
  let groups = 1;
  // Refine the grouping one column at a time: (group, code) pairs → new dense group ids.
  for (const index of columnIndices) {
    const column = table.columns[index];
    const ids = new Map<number, number>();
    const next = new Int32Array(n);
    const width = column.dictionary.length;
    for (let r = 0; r < n; r++) {
      const key = group[r] * width + column.codes[r];
      let id = ids.get(key);
      if (id === undefined) {
        id = ids.size;
        ids.set(key, id);
      }
      next[r] = id;
    }
    group = next;
    groups = ids.size;
  }
  const remap = new Int32Array(groups).fill(-1);
  const classOf = new Int32Array(n);
  const sizes: number[] = [];
  for (let r = 0; r < n; r++) {
    if (skip && skip[r]) {
      classOf[r] = -1;
      continue;
    }
    let id = remap[group[r]];
    if (id < 0) {
      id = sizes.length;
      remap[group[r]] = id;
      sizes.push(0);
    }
    classOf[r] = id;
    sizes[id]++;
  }
  return { classOf, sizes: Int32Array.from(sizes), count: sizes.length };
}
