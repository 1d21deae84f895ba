/**
 * Numeric interval hierarchy: level 1 groups values into intervals of `width` starting at
 * `start`; each next level merges `fanout` intervals; the top is `*`. Integer data with an
 * integer width gets closed labels `[0-4]`, other data half-open ones `[0-2.5)`.
 */
export interface IntervalSpec {
  width: number;
  start?: number;
  fanout: number;
  levels: number;
}

export function intervalPaths(values: readonly string[], numbers: readonly number[], spec: IntervalSpec): string[][] {
  const min = Math.min(...numbers);
  const start = spec.start ?? Math.floor(min / spec.width) * spec.width;
  const integral = Number.isInteger(spec.width) && Number.isInteger(start) && numbers.every(Number.isInteger);
  return values.map((text, i) => {
    const x = numbers[i];
    const path = [text];
    let width = spec.width;
    for (let level = 1; level <= spec.levels; level++) {
      const lo = start + Math.floor((x - start) / width) * width;
      path.push(integral ? `[${lo}-${lo + width - 1}]` : `[${round(lo)}-${round(lo + width)})`);
      width *= spec.fanout;
    }
    path.push('*');
    return path;
  });
}

function round(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}
