import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCsv } from '../../../src/tabular/csv/read.js';
import { writeCsv } from '../../../src/tabular/csv/write.js';
import { tableFromRows, tableToRows } from '../../../src/tabular/table.js';
import { tempDir } from '../../helpers.js';

const dir = tempDir();

describe('writeCsv', () => {
  it('quotes only cells that need it and round-trips', async () => {
    const rows = [['plain', 'with,comma'], ['with "quote"', 'multi\nline']];
    const path = join(dir, 'out.csv');
    await writeCsv(path, tableFromRows(['a', 'b'], rows), ',');
    const text = readFileSync(path, 'utf8');
    expect(text.startsWith('a,b\nplain,"with,comma"\n')).toBe(true);
    expect(tableToRows((await readCsv(path)).table)).toEqual(rows);
  });

  it('leaves no temp file behind', async () => {
    await writeCsv(join(dir, 'clean.csv'), tableFromRows(['x'], [['1']]), ',');
    expect(readdirSync(dir).filter((f) => f.startsWith('.veil-tmp'))).toEqual([]);
  });
});
