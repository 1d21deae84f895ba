import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isVeilError } from '../../../src/errors.js';
import { readCsv } from '../../../src/tabular/csv/read.js';
import { writeCsv } from '../../../src/tabular/csv/write.js';
import { tableToRows } from '../../../src/tabular/table.js';
import { adultDir, tempDir } from '../../helpers.js';

const dir = tempDir();

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function readError(path: string) {
  try {
    await readCsv(path);
  } catch (error) {
    if (isVeilError(error)) return error;
    throw error;
  }
  throw new Error('expected an error');
}

describe('readCsv', () => {
  it('detects comma, semicolon and tab delimiters', async () => {
    for (const [name, d] of [['c.csv', ','], ['s.csv', ';'], ['t.tsv', '\t']] as const) {
      const { table, delimiter } = await readCsv(file(name, `a${d}b${d}c\n1${d}2${d}3\n4${d}5${d}6\n`));
      expect(delimiter).toBe(d);
      expect(tableToRows(table)).toEqual([['1', '2', '3'], ['4', '5', '6']]);
    }
  });

  it('handles quotes, embedded delimiters and newlines, CRLF and a BOM', async () => {
    const content = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('name,note\r\n"Doe, Jane","said ""hi""\r\nthen left"\r\nx,y\r\n')]);
    const { table } = await readCsv(file('q.csv', content));
    expect(table.columns.map((c) => c.name)).toEqual(['name', 'note']);
    expect(tableToRows(table)).toEqual([['Doe, Jane', 'said "hi"\r\nthen left'], ['x', 'y']]);
  });

  it('reads UTF-8 text unchanged', async () => {
    const { table } = await readCsv(file('u.csv', 'city;n\nZürich;1\n東京;2\n'));
    expect(tableToRows(table)).toEqual([['Zürich', '1'], ['東京', '2']]);
  });

  it('names the line of a ragged row', async () => {
    const error = await readError(file('ragged.csv', 'a,b\n1,2\n3,4,5\n6,7\n'));
    expect(error.code).toBe('CSV_INVALID');
    expect(error.location.line).toBe(3);
    expect(error.toLine()).toContain('ragged.csv:3');
  });

  it('names the line where the quoting breaks: a stray quote mid-file, or a quote left open', async () => {
    const rows = ['age,zip', ...Array.from({ length: 40 }, (_, i) => `${30 + i},${10000 + i}`)];
    rows[20] = '40,"12"3';
    const stray = await readError(file('stray.csv', `${rows.join('\n')}\n`));
    expect([stray.code, stray.location.line]).toEqual(['CSV_INVALID', 21]);
    // Escaped quotes and quoted line breaks before it do not throw the count off.
    const open = await readError(file('open.csv', 'name,note\r\nann,"say ""hi""\r\nthere"\r\nbob,ok\r\ncid,"never closed\r\ndan,x\r\n'));
    expect([open.code, open.location.line]).toEqual(['CSV_INVALID', 5]);
  });

  it('rejects an empty file, duplicate and empty header names', async () => {
    expect((await readError(file('empty.csv', ''))).code).toBe('CSV_INVALID');
    expect((await readError(file('dup.csv', 'a,a\n1,2\n'))).message).toContain('appears twice');
    expect((await readError(file('blank.csv', 'a,,c\n1,2,3\n'))).message).toContain('empty');
  });

  it('reports a missing file as FILE_NOT_FOUND', async () => {
    expect((await readError(join(dir, 'nope.csv'))).code).toBe('FILE_NOT_FOUND');
  });

  it('reads a cell of several MB exactly, looking at each character once (fast-csv re-read the pending record at every chunk)', async () => {
    const cell = 'Zürich "quoted", two\r\nlines; 東京\t'.repeat(120_000).trim();
    const quoted = `"${cell.replaceAll('"', '""')}"`;
    const text = `id;note;n\r\n1;${quoted};2\r\n3;short;4\r\n`;
    const { table, stats } = await readCsv(file('bigcell.csv', text), { maxCellBytes: 8 * 1024 * 1024 });
    expect(Buffer.byteLength(cell)).toBeGreaterThan(4_000_000);
    expect(tableToRows(table)).toEqual([['1', cell, '2'], ['3', 'short', '4']]);
    expect(stats.chunks).toBeGreaterThan(60);
    expect(stats.charsScanned).toBe(text.length);
    expect(stats.charsCarried).toBeLessThanOrEqual(quoted.length);
  });

  it('refuses a cell over the limit (1 MiB by default) naming the file, its line and column, never the value', async () => {
    const before = 'id,note\n1,"two\nlines"\n2,ok\n';
    const limit = 1024 * 1024;
    const atLimit = await readCsv(file('at-limit.csv', `${before}3,${'y'.repeat(limit)}\n`));
    expect(atLimit.table.rowCount).toBe(3);
    const over = await readError(file('over-limit.csv', `${before}3,"${'y'.repeat(limit - 1)}é"\n4,x\n`));
    expect(over.code).toBe('CSV_CELL_TOO_LARGE');
    expect(over.location.line).toBe(5);
    expect(over.message).toContain('column "note"');
    expect(over.toLine()).toContain('over-limit.csv:5');
    expect(over.message).not.toMatch(/yyy/);
    // the limit is the caller's to set
    const small = await readCsv(file('small-limit.csv', 'id,note\n1,abcdef\n'), { maxCellBytes: 5 }).catch((error: unknown) => error);
    expect(isVeilError(small) && [small.code, small.location.line]).toEqual(['CSV_CELL_TOO_LARGE', 2]);
  });

  it('reads the Adult data (30,162 rows, CRLF, ;) and writes it back identically', async () => {
    const { table, delimiter } = await readCsv(join(adultDir, 'adult.csv'));
    expect(delimiter).toBe(';');
    expect(table.rowCount).toBe(30162);
    expect(table.columns).toHaveLength(9);
    const out = join(dir, 'adult-copy.csv');
    await writeCsv(out, table, delimiter);
    const again = await readCsv(out);
    expect(tableToRows(again.table)).toEqual(tableToRows(table));
  });
});
