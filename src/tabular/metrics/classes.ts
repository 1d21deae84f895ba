import type { Table } from '../table.js';

/**
 * Equivalence classes measured on a table: rows with identical texts in all the given columns
 * form a class. Rows flagged in `skip` (suppressed) belong to no class (class -1).
 */
export interface ClassIndex {
  classOf: Int32Array;
  sizes: Int32Array;
  count: number;
  /** Rows grouped by class: class c is order[starts[c] … starts[c+1]). */
  order: Int32Array;
  starts: Int32Array;
}

export function equivalenceClasses(table: Table, columnIndices: readonly number[], skip?: Uint8Array): ClassIndex {
  const n = table.rowCount;
  let group = new Int32Array(n);
  let groups = 1;
  // Refine the grouping one column at a time: (group, code) pairs → new dense group ids.
  for (const index of columnIndices) {
    const column = table.columns[index];
    const next = new Int32Array(n);
    const width = column.dictionary.length;
    let created = 0;
    if (groups * width <= 1 << 23) {
      // dense lookup table: no hashing on the common path
      const table = new Int32Array(groups * width).fill(-1);
      for (let r = 0; r < n; r++) {
        const key = group[r] * width + column.codes[r];
        let id = table[key];
        if (id < 0) {
          id = created++;
          table[key] = id;
        }
        next[r] = id;
      }
    } else {
      created = refineWithHash(group, column.codes, next);
    }
    group = next;
    groups = created;
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
  const count = sizes.length;
  const starts = new Int32Array(count + 1);
  for (let c = 0; c < count; c++) starts[c + 1] = starts[c] + sizes[c];
  const cursor = starts.slice(0, count);
  const order = new Int32Array(starts[count]);
  for (let r = 0; r < n; r++) if (classOf[r] >= 0) order[cursor[classOf[r]]++] = r;
  return { classOf, sizes: Int32Array.from(sizes), count, order, starts };
}

/**
 * Dense ids for the distinct (group[r], codes[r]) pairs, with an open-addressing hash table on
 * typed arrays (a Map of numbers is several times slower at a million rows).
 */
function refineWithHash(group: Int32Array, codes: Int32Array, out: Int32Array): number {
  const n = group.length;
  let capacity = 1024;
  while (capacity < n * 2) capacity *= 2;
  const mask = capacity - 1;
  const keyA = new Int32Array(capacity);
  const keyB = new Int32Array(capacity);
  const ids = new Int32Array(capacity).fill(-1);
  let created = 0;
  for (let r = 0; r < n; r++) {
    const a = group[r];
    const b = codes[r];
    let slot = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77)) & mask;
    for (;;) {
      const id = ids[slot];
      if (id < 0) {
        keyA[slot] = a;
        keyB[slot] = b;
        ids[slot] = created;
        out[r] = created++;
        break;
      }
      if (keyA[slot] === a && keyB[slot] === b) {
        out[r] = id;
        break;
      }
      slot = (slot + 1) & mask;
    }
  }
  return created;
}
