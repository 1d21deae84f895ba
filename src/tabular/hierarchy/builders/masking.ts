/**
 * Masking hierarchy for codes such as ZIP: 02139 → 0213* → 021** → … → ***** → *.
 * Level j masks j characters from the chosen end.
 */
export interface MaskingSpec {
  char: string;
  from: 'right' | 'left';
}

export function maskingPaths(values: readonly string[], spec: MaskingSpec): string[][] {
  const longest = Math.max(0, ...values.map((v) => v.length));
  return values.map((value) => {
    const path = [value];
    for (let level = 1; level <= longest; level++) path.push(mask(value, Math.min(level, value.length), spec));
    path.push('*');
    return path;
  });
}

function mask(value: string, count: number, spec: MaskingSpec): string {
  const masked = spec.char.repeat(count);
  return spec.from === 'right' ? value.slice(0, value.length - count) + masked : masked + value.slice(count);
}
