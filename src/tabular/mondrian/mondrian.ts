import type { Dimension, HierarchicalDimension } from '../dimensions.js';
import type { ClassStats, SensitiveAttribute } from '../models/model.js';
import { RowStore } from './rows.js';

/**
 * Strict multidimensional Mondrian (LeFevre, DeWitt, Ramakrishnan, "Mondrian Multidimensional
 * k-Anonymity", ICDE 2006), top-down:
 * - a partition is a slice of one permutation array of row indices (no per-row objects);
 * - dimensions are tried by decreasing normalized width (distinct values, or numeric range,
 *   relative to the whole column — the same normalization as NCP);
 * - numeric and ordinal dimensions are cut at the median; when the median cut is not allowed,
 *   the nearest other value boundaries are tried;
 * - hierarchical dimensions split along the children of the partition's hierarchy node; children
 *   that would break a privacy model are kept together in one remainder part (labelled with
 *   their common ancestor), so the others can still be specialized;
 * - a split is made only when every part satisfies every privacy model (`accepts`).
 * Rows are stored row-major and moved with their partition (RowStore), and sorting a slice is a
 * counting sort on the dimension's codes, so each level costs O(n) sequential work and the whole
 * run about O(n log n).
 */
export interface MondrianInput {
  rowCount: number;
  dimensions: readonly Dimension[];
  sensitive: readonly SensitiveAttribute[];
  accepts: (stats: ClassStats) => boolean;
  /**
   * The person of every row, when k counts people. The dimensions' codes must then be equal
   * for all rows of a person (see representativeDimension), so that no cut separates them
   * and a part's people add up: subtracting a part's count from the whole stays exact.
   */
  entities?: { codes: Int32Array; count: number };
  /** Rows to partition (default: all rows). */
  rows?: Int32Array;
  /**
   * Leave a partition of at most this many rows uncut (default: cut while allowed). The
   * distributed planner makes only the top cuts this way; workers make the rest.
   */
  stopAtRows?: number;
  onProgress?: (rowsPlaced: number) => void;
}

export interface Partitioning {
  /** Row indices grouped by class. */
  perm: Int32Array;
  /** Class c is perm[bounds[c] … bounds[c+1]). */
  bounds: Int32Array;
  /**
   * regions[c][d]: for a hierarchical dimension, the hierarchy nodes class c's part of the
   * domain is made of (a remainder part is several siblings); null for other dimensions, where
   * the class's own value range is its part. Parts never overlap, whereas labels can: a
   * remainder is labelled with its siblings' common ancestor.
   */
  regions?: (readonly number[] | null)[][];
}

interface Partition {
  start: number;
  end: number;
  /** For hierarchical dimensions, the hierarchy nodes the partition may still cover; else null. */
  regions: (number[] | null)[];
}

const MAX_CUT_TRIES = 6;

export function mondrian(input: MondrianInput): Partitioning {
  const run = new MondrianRun(input);
  return run.execute();
}

class MondrianRun {
  private readonly rows: RowStore;
  private readonly stamps: Int32Array[];
  private stamp = 0;
  /** Number of dimensions; sensitive codes follow them in each stored row. */
  private readonly dimensionCount: number;
  /** Per dimension: the code of a missing number, or -1. */
  private readonly missingCode: Int32Array;
  /** Scratch for widths(), reused by every partition (no allocation in the hot loop). */
  private readonly scratchLo: Int32Array;
  private readonly scratchHi: Int32Array;
  private readonly scratchDistinct: Int32Array;
  private readonly scratchMissing: Uint8Array;
  private readonly scratchWidths: Float64Array;
  private readonly counted: Uint8Array;
  /** Stored column of the entity codes (after the sensitive ones), or -1. */
  private readonly entityColumn: number;
  private readonly entitySeen: Int32Array;
  private entityStamp = 0;
  private readonly finals: number[] = [];
  private readonly finalRegions = new Map<number, (number[] | null)[]>();
  private placed = 0;

  constructor(private readonly input: MondrianInput) {
    const dims = input.dimensions;
    this.dimensionCount = dims.length;
    const maxCode = Math.max(1, ...dims.map((d) => d.cardinality), ...input.sensitive.map((s) => s.cardinality));
    const entityCodes = input.entities ? [input.entities.codes] : [];
    this.rows = new RowStore([...dims.map((d) => d.codes), ...input.sensitive.map((s) => s.codes), ...entityCodes], input.rowCount, maxCode, input.rows);
    this.entityColumn = input.entities ? dims.length + input.sensitive.length : -1;
    this.entitySeen = new Int32Array(input.entities?.count ?? 0);
    this.stamps = dims.map((d) => new Int32Array(d.cardinality));
    this.missingCode = Int32Array.from(dims, (dim) => (dim.kind === 'numeric' && Number.isNaN(dim.values[dim.values.length - 1]) ? dim.values.length - 1 : -1));
    const D = this.dimensionCount;
    this.scratchLo = new Int32Array(D);
    this.scratchHi = new Int32Array(D);
    this.scratchDistinct = new Int32Array(D);
    this.scratchMissing = new Uint8Array(D);
    this.scratchWidths = new Float64Array(D);
    this.counted = Uint8Array.from(dims, (dim) => (dim.kind === 'numeric' ? 0 : 1));
  }

  execute(): Partitioning {
    const dims = this.input.dimensions;
    const stack: Partition[] = [{ start: 0, end: this.rows.size, regions: dims.map((d) => (d.kind === 'hierarchical' ? [d.hierarchy.root] : null)) }];
    while (stack.length > 0) {
      const partition = stack.pop() as Partition;
      const small = this.input.stopAtRows !== undefined && partition.end - partition.start <= this.input.stopAtRows;
      const parts = small ? undefined : this.split(partition);
      if (parts) {
        for (const part of parts) stack.push(part);
      } else {
        this.finals.push(partition.start, partition.end);
        this.finalRegions.set(partition.start, partition.regions);
        this.placed += partition.end - partition.start;
        this.input.onProgress?.(this.placed);
      }
    }
    const bounds = this.bounds();
    const regions = Array.from(bounds.subarray(0, bounds.length - 1), (start) => this.finalRegions.get(start) ?? []);
    return { perm: this.rows.ids, bounds, regions };
  }

  /** Final partitions tile the permutation; their starts in order are the class bounds. */
  private bounds(): Int32Array {
    const starts: number[] = [];
    for (let i = 0; i < this.finals.length; i += 2) starts.push(this.finals[i]);
    starts.sort((a, b) => a - b);
    const bounds = new Int32Array(starts.length + 1);
    bounds.set(starts);
    bounds[starts.length] = this.rows.size;
    return bounds;
  }

  /** The first allowed split along the widest dimensions, or undefined when none is allowed. */
  private split(p: Partition): Partition[] | undefined {
    const dims = this.input.dimensions;
    const widths = this.widths(p);
    const order = dims.map((_, i) => i).filter((i) => widths[i] > 0).sort((a, b) => widths[b] - widths[a]);
    for (const d of order) {
      const dim = dims[d];
      const parts = dim.kind === 'hierarchical' ? this.splitHierarchical(dim, d, p) : this.splitOrdered(d, p);
      if (parts) return parts;
    }
    return undefined;
  }

  /**
   * Normalized width of a partition on every dimension, one pass per dimension: numeric
   * range / column range; otherwise (distinct values − 1) / (distinct in column − 1) — the same
   * normalization as NCP.
   */
  private widths(p: Partition): Float64Array {
    const dims = this.input.dimensions;
    const D = this.dimensionCount;
    const stride = this.rows.stride;
    const data = this.rows.data;
    const lo = this.scratchLo.fill(0x7fffffff);
    const hi = this.scratchHi.fill(-1);
    const distinct = this.scratchDistinct.fill(0);
    const missing = this.scratchMissing.fill(0);
    const missingCode = this.missingCode;
    const stamps = this.stamps;
    const stamp = ++this.stamp;
    const counted = this.counted;
    // One tight loop per dimension down the partition's block (row-major, so a stride apart):
    // fewer branches per cell than one loop over the rows with every dimension inside.
    const from = p.start * stride;
    const to = p.end * stride;
    for (let d = 0; d < D; d++) {
      const absent = missingCode[d];
      if (counted[d] === 1) {
        // a column of one value has width 0 wherever it is cut
        if (dims[d].domainDistinct < 2) continue;
        const seen = stamps[d];
        let count = 0;
        for (let i = from + d; i < to; i += stride) {
          const code = data[i];
          if (code === absent) {
            missing[d] = 1;
            continue;
          }
          if (seen[code] !== stamp) {
            seen[code] = stamp;
            count++;
          }
        }
        distinct[d] = count;
      } else {
        let low = 0x7fffffff;
        let high = -1;
        for (let i = from + d; i < to; i += stride) {
          const code = data[i];
          if (code === absent) {
            missing[d] = 1;
            continue;
          }
          if (code < low) low = code;
          if (code > high) high = code;
        }
        lo[d] = low;
        hi[d] = high;
      }
    }
    const widths = this.scratchWidths;
    dims.forEach((dim, d) => {
      if (dim.kind === 'numeric') {
        const present = hi[d] >= lo[d];
        const span = dim.domainMax > dim.domainMin && present ? (dim.values[hi[d]] - dim.values[lo[d]]) / (dim.domainMax - dim.domainMin) : 0;
        widths[d] = span + (missing[d] && present ? 1 / Math.max(2, dim.domainDistinct) : 0);
      } else {
        widths[d] = dim.domainDistinct < 2 ? 0 : (distinct[d] - 1) / (dim.domainDistinct - 1);
      }
    });
    return widths;
  }

  /** Median cut on a numeric or ordinal dimension. */
  private splitOrdered(d: number, p: Partition): Partition[] | undefined {
    const { start, end } = p;
    this.rows.sortBy(d, start, end);
    const stride = this.rows.stride;
    const data = this.rows.data;
    const middle = start + ((end - start) >> 1);
    // Value boundaries nearest to the median position, alternating outward.
    const cuts: number[] = [];
    let left = middle;
    let right = middle + 1;
    while (cuts.length < MAX_CUT_TRIES && (left > start || right < end)) {
      while (left > start && data[(left - 1) * stride + d] === data[left * stride + d]) left--;
      if (left > start) {
        cuts.push(left);
        left--;
      }
      while (right < end && data[(right - 1) * stride + d] === data[right * stride + d]) right++;
      if (right < end && cuts.length < MAX_CUT_TRIES) {
        cuts.push(right);
        right++;
      }
    }
    cuts.sort((a, b) => Math.abs(a - middle) - Math.abs(b - middle));
    const total = this.stats(start, end);
    for (const cut of cuts) {
      const leftStats = this.stats(start, cut);
      if (!this.input.accepts(leftStats)) continue;
      if (!this.input.accepts(subtract(total, leftStats))) continue;
      return [
        { start, end: cut, regions: p.regions.slice() },
        { start: cut, end, regions: p.regions.slice() },
      ];
    }
    return undefined;
  }

  /** Split along hierarchy children; parts that cannot stand alone form one remainder. */
  private splitHierarchical(dim: HierarchicalDimension, index: number, p: Partition): Partition[] | undefined {
    const h = dim.hierarchy;
    const { start, end } = p;
    this.rows.sortBy(index, start, end);
    let region = p.regions[index] as number[];
    let groups: { node: number; from: number; to: number }[];
    for (;;) {
      const nodes = region.length === 1 ? h.children[region[0]] : region;
      if (nodes.length === 0) return undefined;
      groups = [];
      for (const node of nodes) {
        const from = this.lowerBound(index, start, end, h.leafStart[node]);
        const to = this.lowerBound(index, from, end, h.leafEnd[node]);
        if (to > from) groups.push({ node, from, to });
      }
      if (groups.length !== 1) break;
      // All rows lie under one node: tighten the region and look one level down.
      region = [groups[0].node];
      p.regions[index] = region;
    }
    const stats = groups.map((g) => this.stats(g.from, g.to));
    const valid: number[] = [];
    const rest: number[] = [];
    groups.forEach((_, g) => (this.input.accepts(stats[g]) ? valid : rest).push(g));
    let restStats = sumStats(rest.map((g) => stats[g]), this.input.sensitive);
    while (rest.length > 0 && !this.input.accepts(restStats)) {
      if (valid.length === 0) return undefined;
      // Give the remainder the smallest part that could stand alone.
      let smallest = 0;
      for (let i = 1; i < valid.length; i++) if (stats[valid[i]].size < stats[valid[smallest]].size) smallest = i;
      const moved = valid.splice(smallest, 1)[0];
      rest.push(moved);
      restStats = addStats(restStats, stats[moved]);
    }
    if (valid.length === 0 || (valid.length === 1 && rest.length === 0)) return undefined;

    // Lay the parts out contiguously: valid groups first, then the remainder.
    const ranges = [...valid, ...rest.sort((a, b) => groups[a].from - groups[b].from)].map((g) => groups[g]);
    this.rows.concatenate(start, ranges.map((g) => [g.from, g.to] as [number, number]));
    const parts: Partition[] = [];
    let cursor = start;
    for (const g of valid) {
      const size = groups[g].to - groups[g].from;
      const regions = p.regions.slice();
      regions[index] = [groups[g].node];
      parts.push({ start: cursor, end: cursor + size, regions });
      cursor += size;
    }
    if (rest.length > 0) {
      const regions = p.regions.slice();
      regions[index] = rest.map((g) => groups[g].node);
      parts.push({ start: cursor, end, regions });
    }
    return parts;
  }

  /** First position in the code-sorted slice [from, to) whose code is ≥ value. */
  private lowerBound(d: number, from: number, to: number, value: number): number {
    let lo = from;
    let hi = to;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.rows.code(mid, d) < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private stats(from: number, to: number): ClassStats {
    const sensitive = this.input.sensitive;
    const counts = sensitive.map((s) => new Int32Array(s.cardinality));
    const { data, stride } = this.rows;
    for (let s = 0; s < sensitive.length; s++) {
      const column = this.dimensionCount + s;
      const c = counts[s];
      for (let i = from; i < to; i++) c[data[i * stride + column]]++;
    }
    if (this.entityColumn < 0) return { size: to - from, counts };
    return { size: to - from, counts, entities: this.distinctEntities(from, to) };
  }

  private distinctEntities(from: number, to: number): number {
    const { data, stride } = this.rows;
    const column = this.entityColumn;
    const seen = this.entitySeen;
    const stamp = ++this.entityStamp;
    let distinct = 0;
    for (let i = from; i < to; i++) {
      const e = data[i * stride + column];
      if (seen[e] === stamp) continue;
      seen[e] = stamp;
      distinct++;
    }
    return distinct;
  }
}

// People add up like records: the dimensions never separate one person's rows.
function subtract(total: ClassStats, part: ClassStats): ClassStats {
  return {
    size: total.size - part.size,
    ...(total.entities !== undefined ? { entities: total.entities - (part.entities ?? 0) } : {}),
    counts: total.counts.map((c, s) => {
      const out = new Int32Array(c.length);
      for (let i = 0; i < c.length; i++) out[i] = c[i] - part.counts[s][i];
      return out;
    }),
  };
}

function addStats(a: ClassStats, b: ClassStats): ClassStats {
  return {
    size: a.size + b.size,
    ...(a.entities !== undefined || b.entities !== undefined ? { entities: (a.entities ?? 0) + (b.entities ?? 0) } : {}),
    counts: a.counts.map((c, s) => {
      const out = new Int32Array(c.length);
      for (let i = 0; i < c.length; i++) out[i] = c[i] + b.counts[s][i];
      return out;
    }),
  };
}

function sumStats(parts: ClassStats[], sensitive: readonly SensitiveAttribute[]): ClassStats {
  let total: ClassStats = { size: 0, counts: sensitive.map((s) => new Int32Array(s.cardinality)) };
  for (const part of parts) total = addStats(total, part);
  return total;
}
