import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { adultDir } from '../../helpers.js';

/** Class sizes of UCI Adult (ARX version) on its 8 usual quasi-identifiers, unanonymized. */
export const ADULT_QIS = ['sex', 'age', 'race', 'marital-status', 'education', 'native-country', 'workclass', 'occupation'];

export function adultInputClassSizes(): number[] {
  const lines = readFileSync(join(adultDir, 'adult.csv'), 'utf8').trim().split(/\r?\n/);
  const header = lines[0].split(';');
  const at = ADULT_QIS.map((q) => header.indexOf(q));
  const counts = new Map<string, number>();
  for (const line of lines.slice(1)) {
    const cells = line.split(';');
    const key = at.map((i) => cells[i]).join('\u0000');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.values()];
}
