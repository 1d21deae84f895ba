import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isVeilError } from '../../../src/errors.js';
import { loadPolicy } from '../../../src/policy/load.js';
import type { TabularReport } from '../../../src/report/tabularReport.js';
import { anonymizeCsvDistributed } from '../../../src/tabular/distributed/index.js';
import { anonymizeCsvFile } from '../../../src/tabular/file.js';
import { writeCsv } from '../../../src/tabular/csv/write.js';
import { columnsTheReportReads } from '../../../src/tabular/distributed/gather.js';
import { writeInterleaved } from '../../../src/tabular/distributed/interleave.js';
import { tableFromRows } from '../../../src/tabular/table.js';
import { tempDir } from '../../helpers.js';

/**
 * The merge in bounded memory: the merged CSV is copied record by record from the partitions'
 * outputs in rows.bin order (never parsed, never held), and only the columns the check and the
 * report read are gathered.
 */
const dir = tempDir('veil-distributed-merge-');
const HEADER = ['id', 'age', 'note'];

/** Row r of the whole table: cells writeCsv must quote (delimiter, quote, line breaks, `|`), and a few records longer than a read buffer (1 MiB). */
function row(r: number): string[] {
  const notes = [`plain ${r}`, `a, b ${r}`, `say "hi" ${r}`, `two\nlines ${r}`, `crlf\r\n${r}`, `pipe|${r}`, ''];
  return [`P${r}`, String(20 + (r % 40)), r % 700 === 13 ? `"${'x'.repeat(1_500_000)}\n${r}` : notes[r % notes.length]];
}

async function partitioned(name: string, n: number, parts: number, delimiter: ',' | ';'): Promise<{ partOf: Uint32Array; files: string[]; whole: string }> {
  // Rows dealt to partitions unevenly (runs and strides), as Mondrian's cuts would.
  const partOf = Uint32Array.from({ length: n }, (_, r) => (r % 11 < 3 ? 0 : (r * 7) % parts));
  const files: string[] = [];
  for (let p = 0; p < parts; p++) {
    const rows: string[][] = [];
    for (let r = 0; r < n; r++) if (partOf[r] === p) rows.push(row(r));
    files.push(join(dir, `${name}-${p}.csv`));
    await writeCsv(files[p], tableFromRows(HEADER, rows), delimiter);
  }
  const whole = join(dir, `${name}-whole.csv`);
  await writeCsv(whole, tableFromRows(HEADER, Array.from({ length: n }, (_, r) => row(r))), delimiter);
  return { partOf, files, whole };
}

async function usage(run: Promise<unknown>): Promise<void> {
  const error = await run.then(() => undefined, (e: unknown) => e);
  expect(isVeilError(error) && error.code).toBe('USAGE');
}

describe('writeInterleaved', () => {
  for (const delimiter of [',', ';'] as const) {
    it(`writes the bytes writeCsv writes for the whole table (delimiter ${delimiter})`, async () => {
      const { partOf, files, whole } = await partitioned(`d${delimiter === ',' ? 'comma' : 'semi'}`, 2000, 5, delimiter);
      const out = join(dir, `merged-${delimiter === ',' ? 'comma' : 'semi'}.csv`);
      await writeInterleaved({ out, header: HEADER, delimiter, partOf, files });
      expect(readFileSync(out).equals(readFileSync(whole))).toBe(true);
    });
  }

  it('refuses a partition output with a record missing, one too many, or another header, and writes nothing', async () => {
    const { partOf, files } = await partitioned('broken', 300, 3, ',');
    const out = join(dir, 'broken.csv');
    const original = readFileSync(files[1], 'utf8');
    const lines = original.split('\n');
    writeFileSync(files[1], `${lines.slice(0, -2).join('\n')}\n`); // the last record gone
    await usage(writeInterleaved({ out, header: HEADER, delimiter: ',', partOf, files }));
    writeFileSync(files[1], `${original}P9,20,extra\n`);
    await usage(writeInterleaved({ out, header: HEADER, delimiter: ',', partOf, files }));
    writeFileSync(files[1], original.slice(0, -1)); // the last line end cut
    await usage(writeInterleaved({ out, header: HEADER, delimiter: ',', partOf, files }));
    writeFileSync(files[1], original.replace('id,age,note', 'id,age,notes'));
    await usage(writeInterleaved({ out, header: HEADER, delimiter: ',', partOf, files }));
    expect(existsSync(out)).toBe(false);
    writeFileSync(files[1], original);
    await writeInterleaved({ out, header: HEADER, delimiter: ',', partOf, files });
    expect(existsSync(out)).toBe(true);
  });
});

describe('columnsTheReportReads', () => {
  it('reads the quasi-identifiers, sensitive and entity columns and what is published from the input; not removed or dropped columns', async () => {
    const file = join(dir, 'roles.yaml');
    const policy = (other: string) => `name: roles
version: 1
tabular:
  identifiers:
    - { column: pid, action: pseudonymize }
    - { column: name, action: remove }
    - { column: phone, action: mask, keep: 2 }
  entity: pid
  quasiIdentifiers:
    - { column: age, type: numeric }
  sensitive:
    - { column: diagnosis }
  privacy: { k: 2, suppressionLimit: 0 }
  otherColumns: ${other}
`;
    const header = ['pid', 'name', 'phone', 'age', 'comment', 'diagnosis'];
    writeFileSync(file, policy('keep'));
    const keep = (await loadPolicy(file)).tabular;
    writeFileSync(file, policy('remove'));
    const drop = (await loadPolicy(file)).tabular;
    if (!keep || !drop) throw new Error('no tabular section');
    expect([...columnsTheReportReads(header, keep)].sort()).toEqual([0, 2, 3, 4, 5]);
    expect([...columnsTheReportReads(header, drop)].sort()).toEqual([0, 2, 3, 5]);
  });
});

/** A report without what differs between runs (clocks, the date) and what only a distributed run has (the split and its notes). */
function comparable(report: TabularReport): Omit<TabularReport, 'timingMs' | 'createdAt' | 'distribution' | 'notes'> & { notes: string[] } {
  const { timingMs: _timing, createdAt: _created, distribution: _split, notes, ...rest } = report;
  return { ...rest, notes: notes.filter((note) => !note.startsWith('Distributed run:')) };
}

describe('mergePartitions', () => {
  it('writes one process\'s bytes and report for a table with quoted, multi-line cells, kept, masked, pseudonymized and removed columns', async () => {
    // Mondrian's numeric ranges and categories given in full: a partition builds the subtree one process builds.
    const lines = ['pid,name,phone,age,sex,note,diagnosis'];
    const notes = ['plain', 'a, b', 'say "hi"', 'two\nlines', 'pipe|x', ''];
    for (let r = 0; r < 3000; r++) {
      const note = `${notes[r % notes.length]} ${r % 13}`;
      const cell = /[",\n|]/.test(note) ? `"${note.replaceAll('"', '""')}"` : note;
      lines.push(`id${r},name ${r % 97},555-01${String(r % 100).padStart(2, '0')},${18 + ((r * 37) % 70)},${r % 3 === 0 ? 'F' : 'M'},${cell},d${(r * 7) % 5}`);
    }
    const input = join(dir, 'quoted.csv');
    writeFileSync(input, `${lines.join('\n')}\n`);
    const policyFile = join(dir, 'quoted.yaml');
    writeFileSync(policyFile, `name: quoted
version: 1
tabular:
  identifiers:
    - { column: pid, action: pseudonymize }
    - { column: name, action: remove }
    - { column: phone, action: mask, keep: 2 }
  quasiIdentifiers:
    - { column: age, type: numeric }
    - { column: sex, hierarchy: { tree: { '*': [F, M] } } }
  sensitive:
    - { column: diagnosis }
  privacy: { k: 5, l: { variant: distinct, l: 2 }, suppressionLimit: 0.02 }
  otherColumns: keep
`);
    const policy = await loadPolicy(policyFile);
    const secret = Buffer.alloc(32, 9);
    const single = await anonymizeCsvFile({ policy, input, output: join(dir, 'quoted-single.csv'), secret });
    const out = join(dir, 'quoted-distributed.csv');
    const report = await anonymizeCsvDistributed({ policy, input, out, maxPartitionRows: 700, workDir: join(dir, 'quoted-work'), secret });
    expect(report.distribution?.partitions).toBeGreaterThan(2);
    expect(readFileSync(out).equals(readFileSync(join(dir, 'quoted-single.csv')))).toBe(true);
    expect(comparable(report)).toEqual(comparable(single));
  });
});
