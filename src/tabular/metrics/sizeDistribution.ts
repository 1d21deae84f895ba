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
