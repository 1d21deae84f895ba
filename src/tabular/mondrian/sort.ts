/**
 * Reorders slices of a permutation array in place, with one reusable scratch buffer.
 * Codes are small dense integers, so a counting sort (O(size + range)) beats comparison sorts;
 * for sparse code ranges it falls back to sorting packed (code, row) keys in a Float64Array.
 */
export class SliceSorter {
  private readonly scratch: Int32Array;
  private readonly counts: Int32Array;

  constructor(private readonly perm: Int32Array, maxCardinality: number) {
    this.scratch = new Int32Array(perm.length);
    this.counts = new Int32Array(maxCardinality + 1);
  }

  sortByCode(codes: Int32Array, start: number, end: number): void {
    const perm = this.perm;
    const size = end - start;
    if (size < 2) return;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = start; i < end; i++) {
      const c = codes[perm[i]];
      if (c < lo) lo = c;
      if (c > hi) hi = c;
    }
    if (lo === hi) return;
    const range = hi - lo + 1;
    if (range <= 4 * size + 1024) {
      const counts = this.counts;
      counts.fill(0, 0, range + 1);
      for (let i = start; i < end; i++) counts[codes[perm[i]] - lo + 1]++;
      for (let v = 1; v <= range; v++) counts[v] += counts[v - 1];
      const scratch = this.scratch;
      for (let i = start; i < end; i++) {
        const row = perm[i];
        scratch[counts[codes[row] - lo]++] = row;
      }
      perm.set(scratch.subarray(0, size), start);
      return;
    }
    const n = perm.length;
    const keys = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      const row = perm[start + i];
      keys[i] = (codes[row] - lo) * n + row;
    }
    keys.sort();
    for (let i = 0; i < size; i++) perm[start + i] = keys[i] % n;
  }

  /** Rewrites perm[start …] as the concatenation of the given [from, to) ranges (which tile the slice). */
  concatenate(start: number, ranges: readonly (readonly [number, number])[]): void {
    let cursor = 0;
    for (const [from, to] of ranges) {
      this.scratch.set(this.perm.subarray(from, to), cursor);
      cursor += to - from;
    }
    this.perm.set(this.scratch.subarray(0, cursor), start);
  }
}
