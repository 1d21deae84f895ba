import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../../../src/policy/load.js';
import { readCsv } from '../../../src/tabular/csv/read.js';
import { anonymizeCsvFile } from '../../../src/tabular/file.js';
import { ColumnBuilder } from '../../../src/tabular/table.js';
import { tempDir } from '../../helpers.js';

/**
 * Issue 13 item 8: 100,000 columns × 20 rows (4.7 MB) took 1.96 GB, because every column
 * started with room for 4,096 rows in a buffer of its own. Memory must follow the bytes.
 */
const dir = tempDir();
const COLUMNS = 20_000;
const ROWS = 20;
const names = Array.from({ length: COLUMNS }, (_, c) => `c${c}`);
const rows = Array.from({ length: ROWS }, (_, r) => names.map((_, c) => String((c * 7 + r) % 13)));
const input = join(dir, 'wide.csv');
writeFileSync(input, `${[names, ...rows].map((row) => row.join(',')).join('\n')}\n`);

describe('a wide table (20,000 columns × 20 rows)', () => {
  it('holds its codes in one buffer of exactly rows × columns codes, not a preallocated buffer per column', async () => {
    const { table } = await readCsv(input);
    expect([table.columns.length, table.rowCount]).toEqual([COLUMNS, ROWS]);
    const buffer = table.columns[0].codes.buffer;
    expect(buffer.byteLength).toBe(COLUMNS * ROWS * Int32Array.BYTES_PER_ELEMENT);
    expect(table.columns.every((column) => column.codes.buffer === buffer && column.codes.length === ROWS)).toBe(true);
    expect(table.columns[COLUMNS - 1].dictionary[table.columns[COLUMNS - 1].codes[ROWS - 1]]).toBe(rows[ROWS - 1][COLUMNS - 1]);
    // a builder grows with what it holds
    const builder = new ColumnBuilder('c');
    expect(builder.capacity).toBeLessThanOrEqual(16);
    const values = Array.from({ length: 100 }, (_, r) => String((r * 7) % 40));
    for (const value of values) builder.push(value);
    expect(builder.capacity).toBeLessThan(2 * 100);
    // a scan finds the first few distinct values, a Map the rest: the codes decode alike
    const column = builder.build();
    expect(column.dictionary).toHaveLength(40);
    expect(Array.from(column.codes, (code) => column.dictionary[code])).toEqual(values);
  });

  it('anonymizes with every column kept, in order, the others unchanged', async () => {
    const policyFile = join(dir, 'wide.yaml');
    writeFileSync(policyFile, 'name: wide\nversion: 1\ntabular:\n  quasiIdentifiers:\n    - { column: c0, type: numeric }\n    - { column: c1, type: numeric }\n  privacy:\n    k: 2\n');
    const output = join(dir, 'wide.out.csv');
    const report = await anonymizeCsvFile({ policy: await loadPolicy(policyFile), input, output });
    expect(report.input).toEqual({ rows: ROWS, columns: COLUMNS });
    const lines = readFileSync(output, 'utf8').trimEnd().split('\n').map((line) => line.split(','));
    expect(lines[0]).toEqual(names);
    expect(lines).toHaveLength(ROWS + 1);
    for (let r = 0; r < ROWS; r++) expect(lines[r + 1].slice(2)).toEqual(rows[r].slice(2));
  });
});
