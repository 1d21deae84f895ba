export interface SizeBucket {
  size: string;
  classes: number;
  records: number;
}

/**
 * How many classes (and records) have each class size, for the report's histogram; sizes above
 * 50 are grouped by tens ("51-59", "60-69", …). One pass over the class sizes, buckets in
 * ascending order. (A plain count rather than a dataframe library: loading one cost more than a
 * whole Adult run spends here, on every `veil tabular` call.)
 */
export function sizeDistribution(sizes: Int32Array): SizeBucket[] {
  const buckets = new Map<number, SizeBucket>();
  for (const size of sizes) {
    // a bucket is known by its smallest size: 50 alone, then 51–59, 60–69, …
    const first = size <= 50 ? size : Math.max(51, Math.floor(size / 10) * 10);
    const bucket = buckets.get(first);
    if (bucket) {
      bucket.classes++;
      bucket.records += size;
    } else {
      buckets.set(first, { size: size <= 50 ? String(size) : `${first}-${Math.floor(size / 10) * 10 + 9}`, classes: 1, records: size });
    }
  }
  return [...buckets.entries()].sort(([a], [b]) => a - b).map(([, bucket]) => bucket);
}

/** Classes whose size is in [from, to] (inclusive), and their records. */
export interface SizeBin {
  from: number;
  to: number;
  classes: number;
  records: number;
}

/**
 * Class sizes in bins relative to k that double in width: k … 2k−1, 2k … 4k−1, 4k … 8k−1, …
 * (sizes below k, possible when k counts people, get the same doubling bins below k). A table of
 * any size gives a handful of bins — Adult at k = 10 has 60 distinct sizes but 7 bins — and on a
 * log axis every bin is as wide as the next, so the chart reads where one bar per size smeared
 * its labels together.
 */
export function sizeBins(sizes: Int32Array, k: number): SizeBin[] {
  const base = Math.max(1, Math.floor(k));
  const bins = new Map<number, SizeBin>();
  for (const size of sizes) {
    const [from, to] = binOf(size, base);
    const bin = bins.get(from);
    if (bin) {
      bin.classes++;
      bin.records += size;
    } else {
      bins.set(from, { from, to, classes: 1, records: size });
    }
  }
  return [...bins.values()].sort((a, b) => a.from - b.from);
}

function binOf(size: number, k: number): [number, number] {
  if (size >= k) {
    let from = k;
    while (size >= 2 * from) from *= 2;
    return [from, 2 * from - 1];
  }
  // below k: ⌈k/2⌉ … k−1, ⌈k/4⌉ … ⌈k/2⌉−1, …
  let to = k - 1;
  let from = Math.max(1, Math.ceil(k / 2));
  while (size < from) {
    to = from - 1;
    from = Math.max(1, Math.ceil(from / 2));
  }
  return [from, to];
}
