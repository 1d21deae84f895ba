import * as aq from 'arquero';

export interface SizeBucket {
  size: string;
  classes: number;
  records: number;
}

/**
 * How many classes (and records) have each class size, for the report's histogram; sizes above
 * 50 are grouped by tens. A group-by/rollup, so it is written with arquero.
 */
export function sizeDistribution(sizes: Int32Array): SizeBucket[] {
  if (sizes.length === 0) return [];
  const rows = aq
    .table({ size: sizes })
    .derive({ bucket: (d: { size: number }) => (d.size <= 50 ? d.size : aq.op.floor(d.size / 10) * 10) })
    .groupby('bucket')
    .rollup({ classes: aq.op.count(), records: aq.op.sum('size') })
    .orderby('bucket')
    .objects() as { bucket: number; classes: number; records: number }[];
  return rows.map((r) => ({ size: r.bucket <= 50 ? String(r.bucket) : `${r.bucket}-${r.bucket + 9}`, classes: r.classes, records: r.records }));
}
