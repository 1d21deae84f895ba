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

  it('writes the bytes fast-csv wrote: quotes for a quote, the delimiter, a line break or |; NUL dropped', async () => {
    const rows = [['a"b', 'x;y', 'p|q', 'n\0ul'], ['cr\rx', ' kept ', '', 'é']];
    const comma = join(dir, 'bytes-comma.csv');
    await writeCsv(comma, tableFromRows(['h"1', 'h,2', 'h3', 'h4'], rows), ',');
    expect(readFileSync(comma, 'utf8')).toBe('"h""1","h,2",h3,h4\n"a""b",x;y,"p|q",nul\n"cr\rx", kept ,,é\n');
    const semicolon = join(dir, 'bytes-semicolon.csv');
    await writeCsv(semicolon, tableFromRows(['a', 'b', 'c', 'd'], rows), ';');
    expect(readFileSync(semicolon, 'utf8')).toBe('a;b;c;d\n"a""b";"x;y";"p|q";nul\n"cr\rx"; kept ;;é\n');
    const tab = join(dir, 'bytes-tab.csv');
    await writeCsv(tab, tableFromRows(['a', 'b'], [['t\tab', 'x,y']]), '\t');
    expect(readFileSync(tab, 'utf8')).toBe('a\tb\n"t\tab"\tx,y\n');
  });

  it('writes a table larger than one write batch whole and in order', async () => {
    const rows = Array.from({ length: 60_000 }, (_, i) => [String(i), `value ${i % 97}`, i % 3 === 0 ? 'a,b' : 'c']);
    const path = join(dir, 'large.csv');
    await writeCsv(path, tableFromRows(['i', 'v', 'w'], rows), ',');
    const text = readFileSync(path, 'utf8');
    expect(text.length).toBeGreaterThan(1 << 20);
    expect(tableToRows((await readCsv(path)).table)).toEqual(rows);
  });

  it('writes a header-only file for a table with no rows', async () => {
    const path = join(dir, 'empty.csv');
    await writeCsv(path, tableFromRows(['a', 'b'], []), ',');
    expect(readFileSync(path, 'utf8')).toBe('a,b\n');
  });

  it('leaves no temp file behind', async () => {
    await writeCsv(join(dir, 'clean.csv'), tableFromRows(['x'], [['1']]), ',');
    expect(readdirSync(dir).filter((f) => f.startsWith('.veil-tmp'))).toEqual([]);
  });
});
