/**
 * The frequency-of-frequencies of a sample: how many equivalence classes have each size.
 * Every uniqueness model in this folder reads only this (f_1 = classes of size 1, f_2 = …).
 */
export interface SizeHistogram {
  /** Distinct class sizes, ascending. */
  readonly sizes: readonly number[];
  /** counts[i]: number of classes of size sizes[i]. */
  readonly counts: readonly number[];
  /** Number of classes (u). */
  readonly classes: number;
  /** Number of records in the classes (n). */
  readonly records: number;
}

export function sizeHistogram(classSizes: ArrayLike<number>): SizeHistogram {
  const bySize = new Map<number, number>();
  let records = 0;
  let classes = 0;
  for (let i = 0; i < classSizes.length; i++) {
    const size = classSizes[i];
    if (size <= 0) continue;
    bySize.set(size, (bySize.get(size) ?? 0) + 1);
    records += size;
    classes++;
  }
  const sizes = [...bySize.keys()].sort((a, b) => a - b);
  return { sizes, counts: sizes.map((s) => bySize.get(s) ?? 0), classes, records };
}

/** f_j: number of classes of size j. */
export function classesOfSize(h: SizeHistogram, size: number): number {
  const i = h.sizes.indexOf(size);
  return i < 0 ? 0 : h.counts[i];
}
