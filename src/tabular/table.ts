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

/** Builds one dictionary-encoded column incrementally (streaming readers use this). */
export class ColumnBuilder {
  private codes: Int32Array;
  private length = 0;
  private readonly index = new Map<string, number>();
  private readonly dictionary: string[] = [];

  constructor(readonly name: string, initialCapacity = 1024) {
    this.codes = new Int32Array(Math.max(16, initialCapacity));
  }

  push(value: string): void {
    let code = this.index.get(value);
    if (code === undefined) {
      code = this.dictionary.length;
      this.dictionary.push(value);
      this.index.set(value, code);
    }
    if (this.length === this.codes.length) {
      const grown = new Int32Array(this.codes.length * 2);
      grown.set(this.codes);
      this.codes = grown;
    }
    this.codes[this.length++] = code;
  }

  build(): Column {
    return { name: this.name, codes: this.codes.slice(0, this.length), dictionary: this.dictionary };
  }
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

