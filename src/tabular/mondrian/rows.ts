/**
 * The rows Mondrian partitions, stored row-major and physically reordered as partitions are
 * cut: position p holds row `ids[p]` with its codes at data[p·stride …]. A partition is then a
 * contiguous block of memory, so scanning or sorting it reads sequentially — at a million rows
 * this avoids a cache miss per row and per dimension that an index permutation would cost.
 * Sorting is a counting sort on small dense codes (O(size + range)), with a packed-key sort for
 * sparse code ranges.
 */
export class RowStore {
  readonly data: Int32Array;
  readonly ids: Int32Array;
  readonly stride: number;
  private readonly scratchData: Int32Array;
  private readonly scratchIds: Int32Array;
  private readonly counts: Int32Array;

  /** `columns[c][row]` = code of column c; `rows` = which rows to store (default all). */
  constructor(columns: readonly Int32Array[], rowCount: number, maxCode: number, rows?: Int32Array) {
    this.stride = columns.length;
    this.ids = rows ? Int32Array.from(rows) : Int32Array.from({ length: rowCount }, (_, i) => i);
    const n = this.ids.length;
    this.data = new Int32Array(n * this.stride);
    for (let c = 0; c < columns.length; c++) {
      const column = columns[c];
      for (let p = 0; p < n; p++) this.data[p * this.stride + c] = column[this.ids[p]];
    }
    this.scratchData = new Int32Array(this.data.length);
    this.scratchIds = new Int32Array(n);
    this.counts = new Int32Array(maxCode + 2);
  }

  get size(): number {
    return this.ids.length;
  }

  code(position: number, column: number): number {
    return this.data[position * this.stride + column];
  }

  /** Sorts the rows at positions [start, end) by one column's code (stable). */
  sortBy(column: number, start: number, end: number): void {
    const size = end - start;
    if (size < 2) return;
    const { data, stride } = this;
    let lo = 0x7fffffff;
    let hi = -1;
    let sorted = true;
    let previous = -1;
    for (let p = start; p < end; p++) {
      const c = data[p * stride + column];
      if (c < lo) lo = c;
      if (c > hi) hi = c;
      if (c < previous) sorted = false;
      previous = c;
    }
    // often the case: a part cut on this column, or a slice with one value
    if (sorted) return;
    const range = hi - lo + 1;
    if (range <= 4 * size + 1024) {
      const counts = this.counts;
      counts.fill(0, 0, range + 1);
      for (let p = start; p < end; p++) counts[data[p * stride + column] - lo + 1]++;
      for (let v = 1; v <= range; v++) counts[v] += counts[v - 1];
      for (let p = start; p < end; p++) {
        const target = counts[data[p * stride + column] - lo]++;
        this.moveToScratch(p, target);
      }
    } else {
      const keys = new Float64Array(size);
      for (let i = 0; i < size; i++) keys[i] = (data[(start + i) * stride + column] - lo) * size + i;
      keys.sort();
      for (let i = 0; i < size; i++) this.moveToScratch(start + (keys[i] % size), i);
    }
    this.copyBack(start, size);
  }

  /** Rewrites positions start… as the concatenation of the given [from, to) ranges (which tile the slice). */
  concatenate(start: number, ranges: readonly (readonly [number, number])[]): void {
    let inPlace = true;
    let expected = start;
    for (const [from, to] of ranges) {
      if (from !== expected) inPlace = false;
      expected = to;
    }
    if (inPlace) return;
    let cursor = 0;
    for (const [from, to] of ranges) {
      for (let p = from; p < to; p++) this.moveToScratch(p, cursor++);
    }
    this.copyBack(start, cursor);
  }

  /** Copies the row at `position` to scratch slot `slot` (relative to the slice being rebuilt). */
  private moveToScratch(position: number, slot: number): void {
    const stride = this.stride;
    const from = position * stride;
    const to = slot * stride;
    for (let c = 0; c < stride; c++) this.scratchData[to + c] = this.data[from + c];
    this.scratchIds[slot] = this.ids[position];
  }

  private copyBack(start: number, size: number): void {
    this.data.set(this.scratchData.subarray(0, size * this.stride), start * this.stride);
    this.ids.set(this.scratchIds.subarray(0, size), start);
  }
}
