import { readFile } from 'node:fs/promises';
import { VeilError } from '../../errors.js';
import type { TabularPolicy } from '../../policy/sections/tabular.js';
import { streamCsv } from '../csv/read.js';
import type { Column, Table } from '../table.js';
import { rowsPath, type Plan } from './layout.js';

/** Partition of every input row, as the planner wrote it (rows.bin). */
export async function readRowPartitions(workDir: string, plan: Plan): Promise<Uint32Array> {
  const file = rowsPath(workDir);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch {
    throw new VeilError('FILE_NOT_FOUND', 'the plan\'s row index is missing: make the plan again', { file });
  }
  if (bytes.length !== plan.rows * 4) throw new VeilError('USAGE', 'the row index does not match the plan: make the plan again', { file });
  const partOf = new Uint32Array(plan.rows);
  new Uint8Array(partOf.buffer).set(bytes);
  for (let r = 0; r < partOf.length; r++) {
    if (partOf[r] >= plan.partitions.length) throw new VeilError('USAGE', 'the row index does not match the plan: make the plan again', { file });
  }
  return partOf;
}

/**
 * The input columns the whole-table check and the report read, by header position: the
 * quasi-identifiers, sensitive and entity columns (classes, l, t, people, risk, utility), and
 * the columns published from their input values, which Safe Harbor scans on the output (the
 * identifiers other than `remove`d ones, and the other columns when `otherColumns: keep`). A
 * removed identifier and a dropped column publish empty cells whatever they held, and Safe
 * Harbor skips empty cells, so neither is read.
 */
export function columnsTheReportReads(header: readonly string[], policy: TabularPolicy): Set<number> {
  const wanted = new Set<number>();
  const add = (name: string | undefined) => {
    const index = name === undefined ? -1 : header.indexOf(name);
    if (index >= 0) wanted.add(index);
  };
  for (const q of policy.quasiIdentifiers) add(q.column);
  for (const s of policy.sensitive) add(s.column);
  add(policy.entity);
  const identifiers = new Map(policy.identifiers.map((id) => [id.column, id]));
  header.forEach((name, index) => {
    const id = identifiers.get(name);
    if (id ? id.action !== 'remove' : policy.otherColumns === 'keep') wanted.add(index);
  });
  return wanted;
}

/** Row positions of each partition: rowsOf[starts[p] + i] is the input row of local row i of partition p. */
export interface PartitionRows {
  starts: Int32Array;
  rowsOf: Int32Array;
}

export function partitionRows(plan: Plan, partOf: Uint32Array): PartitionRows {
  const starts = new Int32Array(plan.partitions.length + 1);
  for (let r = 0; r < plan.rows; r++) starts[partOf[r] + 1]++;
  for (let p = 0; p < plan.partitions.length; p++) starts[p + 1] += starts[p];
  const cursor = starts.slice(0, plan.partitions.length);
  const rowsOf = new Int32Array(plan.rows);
  for (let r = 0; r < plan.rows; r++) rowsOf[cursor[partOf[r]]++] = r;
  return { starts, rowsOf };
}

/**
 * One table in input row order from per-partition CSVs (the partitions, or their outputs),
 * holding only the columns in `keep`: each partition is streamed and its cells of those columns
 * coded straight into the whole table's dictionaries, at their input positions. Codes are then
 * renumbered by first appearance, so a kept column is the one readCsv would build from a single
 * file. A column not kept has the same name and one empty value in every row (all such columns
 * share one array of zeros), so the table keeps the input's width and header for the report.
 * Every file is checked to hold the plan's header and its partition's row count.
 */
export async function gatherTable(plan: Plan, rows: PartitionRows, fileOf: (index: number) => string, keep: ReadonlySet<number>, maxCellBytes?: number): Promise<Table> {
  const n = plan.rows;
  const width = plan.header.length;
  const kept = plan.header.map((_, c) => c).filter((c) => keep.has(c));
  const codes = kept.map(() => new Int32Array(n));
  const dictionaries = kept.map(() => [] as string[]);
  const indexes = kept.map(() => new Map<string, number>());
  const { starts, rowsOf } = rows;
  for (let p = 0; p < plan.partitions.length; p++) {
    const file = fileOf(p);
    const first = starts[p];
    const expected = starts[p + 1] - first;
    let local = 0;
    const mismatch = () => new VeilError('USAGE', `partition ${p} does not have the rows and columns of the plan: run its step again`, { file });
    const read = await streamCsv(file, { delimiter: plan.delimiter, maxCellBytes }, {
      onHeader: (header) => {
        if (header.length !== width || header.some((name, c) => name !== plan.header[c])) throw mismatch();
      },
      onRow: (cells) => {
        if (local >= expected) throw mismatch();
        const row = rowsOf[first + local++];
        for (let k = 0; k < kept.length; k++) {
          const text = cells[kept[k]];
          const index = indexes[k];
          let code = index.get(text);
          if (code === undefined) {
            code = dictionaries[k].length;
            dictionaries[k].push(text);
            index.set(text, code);
          }
          codes[k][row] = code;
        }
      },
    });
    if (read.rows !== expected) throw mismatch();
  }
  indexes.length = 0;
  const blank = new Int32Array(n);
  const columns: Column[] = plan.header.map((name, c) => {
    const k = kept.indexOf(c);
    return k >= 0 ? inFirstAppearanceOrder(name, codes[k], dictionaries[k]) : { name, codes: blank, dictionary: [''] };
  });
  return { columns, rowCount: n };
}

function inFirstAppearanceOrder(name: string, codes: Int32Array, dictionary: readonly string[]): Column {
  const renumbered = new Int32Array(dictionary.length).fill(-1);
  const ordered: string[] = [];
  for (let r = 0; r < codes.length; r++) {
    let code = renumbered[codes[r]];
    if (code < 0) {
      code = ordered.length;
      renumbered[codes[r]] = code;
      ordered.push(dictionary[codes[r]]);
    }
    codes[r] = code;
  }
  return { name, codes, dictionary: ordered };
}
