import { readFile } from 'node:fs/promises';
import { VeilError } from '../../errors.js';
import { readCsv } from '../csv/read.js';
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
 * One table in input row order from per-partition CSVs (the partitions, or their outputs):
 * read one partition at a time, each row scattered to its input position. Codes are then
 * renumbered by first appearance, so the table is the one readCsv would build from a single file.
 */
export async function gatherTable(plan: Plan, partOf: Uint32Array, fileOf: (index: number) => string, maxCellBytes?: number): Promise<Table> {
  const n = plan.rows;
  const width = plan.header.length;
  // Input rows of each partition, in order: rowsOf[starts[p] + i] is local row i of partition p.
  const starts = new Int32Array(plan.partitions.length + 1);
  for (let r = 0; r < n; r++) starts[partOf[r] + 1]++;
  for (let p = 0; p < plan.partitions.length; p++) starts[p + 1] += starts[p];
  const cursor = starts.slice(0, plan.partitions.length);
  const rowsOf = new Int32Array(n);
  for (let r = 0; r < n; r++) rowsOf[cursor[partOf[r]]++] = r;

  const all = new Int32Array(n * width);
  const codes = Array.from({ length: width }, (_, c) => all.subarray(c * n, (c + 1) * n));
  const dictionaries = Array.from({ length: width }, () => [] as string[]);
  const indexes = Array.from({ length: width }, () => new Map<string, number>());
  for (let p = 0; p < plan.partitions.length; p++) {
    const file = fileOf(p);
    const { table } = await readCsv(file, { delimiter: plan.delimiter, maxCellBytes });
    if (table.rowCount !== starts[p + 1] - starts[p] || table.columns.length !== width || table.columns.some((column, c) => column.name !== plan.header[c])) {
      throw new VeilError('USAGE', `partition ${p} does not have the rows and columns of the plan: run its step again`, { file });
    }
    table.columns.forEach((column, c) => {
      const index = indexes[c];
      const dictionary = dictionaries[c];
      const global = Int32Array.from(column.dictionary, (text) => {
        let code = index.get(text);
        if (code === undefined) {
          code = dictionary.length;
          dictionary.push(text);
          index.set(text, code);
        }
        return code;
      });
      const target = codes[c];
      for (let i = 0; i < table.rowCount; i++) target[rowsOf[starts[p] + i]] = global[column.codes[i]];
    });
  }
  const columns: Column[] = plan.header.map((name, c) => inFirstAppearanceOrder(name, codes[c], dictionaries[c]));
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
