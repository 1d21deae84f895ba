/**
 * A columnar, dictionary-encoded table: every column is an Int32Array of codes into a
 * dictionary of distinct texts. Memory grows with distinct values, not with row count times
 * text length, and grouping or sorting works on integers. Tables are immutable once built.
 */
export interface Column {
  readonly name: string;
  /** codes[row] indexes `dictionary`. */
  readonly codes: Int32Array;
  readonly dictionary: readonly string[];
}

export interface Table {
  readonly columns: readonly Column[];
  readonly rowCount: number;
}

/** Distinct values a column holds before its builder indexes them in a Map. */
const SMALL_DICTIONARY = 16;

/** Builds one dictionary-encoded column incrementally (streaming readers use this). */
export class ColumnBuilder {
  private codes: Int32Array;
  private length = 0;
  /** Code of each text, made once the dictionary outgrows a linear search. */
  private index: Map<string, number> | undefined;
  private readonly dictionary: string[] = [];

  /** Capacity starts small and doubles, so a table of many short columns costs what it holds. */
  constructor(readonly name: string, initialCapacity = 16) {
    this.codes = new Int32Array(Math.max(16, initialCapacity));
  }

  /** Codes the builder has room for (tests check a wide table stays near its size). */
  get capacity(): number {
    return this.codes.length;
  }

  push(value: string): void {
    let code = this.codeOf(value);
    if (code === undefined) {
      code = this.dictionary.length;
      this.dictionary.push(value);
      if (this.index) this.index.set(value, code);
      else if (code === SMALL_DICTIONARY) this.index = new Map(this.dictionary.map((text, c) => [text, c]));
    }
    if (this.length === this.codes.length) {
      const grown = new Int32Array(this.codes.length * 2);
      grown.set(this.codes);
      this.codes = grown;
    }
    this.codes[this.length++] = code;
  }

  private codeOf(value: string): number | undefined {
    if (this.index) return this.index.get(value);
    // A few distinct values are found faster by a scan than by hashing, and cost no Map per column.
    const dictionary = this.dictionary;
    for (let c = 0; c < dictionary.length; c++) if (dictionary[c] === value) return c;
    return undefined;
  }

  /** Rows pushed so far. */
  get size(): number {
    return this.length;
  }

  build(): Column {
    return { name: this.name, codes: this.codes.slice(0, this.length), dictionary: this.dictionary };
  }

  /** Like build(), with the codes copied into `target` (a view the caller owns) instead of a buffer of their own. */
  buildInto(target: Int32Array): Column {
    target.set(this.codes.subarray(0, this.length));
    return { name: this.name, codes: target, dictionary: this.dictionary };
  }
}

/**
 * Builds every column with its codes in one shared buffer: a table of many short columns then
 * costs one allocation, not one small buffer (and its bookkeeping) per column.
 */
export function buildColumns(builders: readonly ColumnBuilder[]): Column[] {
  const rows = builders.length > 0 ? builders[0].size : 0;
  const all = new Int32Array(rows * builders.length);
  return builders.map((b, c) => {
    if (b.size !== rows) throw new Error(`column ${b.name} has ${b.size} rows, expected ${rows}`);
    return b.buildInto(all.subarray(c * rows, (c + 1) * rows));
  });
}

export function tableFromColumns(columns: Column[]): Table {
  const rowCount = columns.length > 0 ? columns[0].codes.length : 0;
  for (const column of columns) {
    if (column.codes.length !== rowCount) throw new Error(`column ${column.name} has ${column.codes.length} rows, expected ${rowCount}`);
  }
  return { columns, rowCount };
}

/** Builds a table from row arrays (small inputs, tests, the DICOM cohort). '' is a missing value. */
export function tableFromRows(columnNames: readonly string[], rows: readonly (readonly string[])[]): Table {
  const builders = columnNames.map((name) => new ColumnBuilder(name, rows.length));
  rows.forEach((row, index) => {
    if (row.length !== columnNames.length) throw new Error(`row ${index + 1} has ${row.length} values, expected ${columnNames.length}`);
    for (let c = 0; c < builders.length; c++) builders[c].push(row[c]);
  });
  return tableFromColumns(builders.map((b) => b.build()));
}

export function tableToRows(table: Table): string[][] {
  const rows: string[][] = [];
  for (let r = 0; r < table.rowCount; r++) rows.push(table.columns.map((c) => c.dictionary[c.codes[r]]));
  return rows;
}

export function columnNames(table: Table): string[] {
  return table.columns.map((c) => c.name);
}

