import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { VeilError } from '../../errors.js';
import { readProblem } from '../../io/readProblem.js';
import { buildColumns, ColumnBuilder, tableFromColumns, type Table } from '../table.js';
import { detectDelimiter, type Delimiter } from './delimiter.js';
import { DEFAULT_MAX_CELL_BYTES } from './limits.js';
import { CsvParser, CsvSyntaxError, type CsvParseStats } from './parse.js';


export interface CsvReadResult {
  table: Table;
  delimiter: Delimiter;
  /** The parser's work counts (linear in the input; see CsvParseStats). */
  stats: CsvParseStats;
}

export interface CsvReadOptions {
  /** Force a delimiter instead of detecting it from the header line. */
  delimiter?: Delimiter;
  /** Called every 50,000 rows with the byte position read so far. */
  onProgress?: (bytesRead: number) => void;
  /** Largest cell in UTF-8 bytes (default DEFAULT_MAX_CELL_BYTES); a larger one is refused. */
  maxCellBytes?: number;
}

/**
 * Streams a CSV file into a dictionary-encoded Table. Accepts `,` `;` or tab (detected from the
 * header line), RFC 4180 quotes, CRLF or LF, a UTF-8 BOM; cells are trimmed of surrounding
 * white space and blank lines skipped. A record whose field count differs from the header's,
 * a misplaced quote and a cell over `maxCellBytes` are errors naming their line.
 */
export async function readCsv(file: string, options: CsvReadOptions = {}): Promise<CsvReadResult> {
  let builders: ColumnBuilder[] = [];
  const { delimiter, stats } = await streamCsv(file, options, {
    // Columns start small and double: a wide table costs its bytes, not columns × a guess.
    onHeader: (header) => {
      builders = header.map((name) => new ColumnBuilder(name));
    },
    onRow: (cells) => {
      for (let c = 0; c < builders.length; c++) builders[c].push(cells[c]);
    },
  });
  return { table: tableFromColumns(buildColumns(builders)), delimiter, stats };
}

export interface CsvRowHandlers {
  /** The header's column names (checked: none empty, none twice). */
  onHeader: (header: readonly string[]) => void;
  /** One record: `cells[0, header.length)` (the array is reused and may be longer: copy what you keep). */
  onRow: (cells: readonly string[], line: number) => void;
  /** Awaited after each chunk of the file is parsed: a caller that writes what it reads waits for its writes here. */
  afterChunk?: () => Promise<void>;
}

/**
 * The reader of readCsv, one record at a time, for callers that keep only part of a table
 * (the distributed planner keeps the quasi-identifier columns). Same rules and errors.
 */
export async function streamCsv(file: string, options: CsvReadOptions, handlers: CsvRowHandlers): Promise<{ delimiter: Delimiter; stats: CsvParseStats; rows: number; header: readonly string[] }> {
  const delimiter = options.delimiter ?? detectDelimiter(await readHeaderLine(file));
  const maxCellBytes = options.maxCellBytes ?? DEFAULT_MAX_CELL_BYTES;
  let header: string[] | undefined;
  let rowCount = 0;
  const source = createReadStream(file, { highWaterMark: 64 * 1024 });

  const parser = new CsvParser({
    delimiter,
    maxCellBytes,
    onRecord: (cells, count, line) => {
      if (!header) {
        header = cells.slice(0, count);
        const problem = headerProblem(header);
        if (problem) throw new VeilError('CSV_INVALID', problem, { file, line });
        handlers.onHeader(header);
        return;
      }
      if (count !== header.length) {
        throw new VeilError('CSV_INVALID', `row has ${count} fields, expected ${header.length} as in the header`, { file, line });
      }
      handlers.onRow(cells, line);
      rowCount++;
      if (options.onProgress && rowCount % 50_000 === 0) options.onProgress(source.bytesRead);
    },
  });

  const decoder = new StringDecoder('utf8');
  let first = true;
  try {
    for await (const chunk of source) {
      let text = decoder.write(chunk as Buffer);
      if (first && text.length > 0) {
        first = false;
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      parser.write(text);
      if (handlers.afterChunk) await handlers.afterChunk();
    }
    parser.write(decoder.end());
    parser.end();
  } catch (error) {
    source.destroy();
    throw readError(error, file, header ?? [], maxCellBytes);
  }

  if (!header) throw new VeilError('CSV_INVALID', 'the file is empty (no header line)', { file });
  return { delimiter, stats: parser.stats, rows: rowCount, header };
}

/** A parser or stream failure as the VeilError a user sees: file, line and column, never a value. */
function readError(error: unknown, file: string, header: readonly string[], maxCellBytes: number): unknown {
  if (error instanceof VeilError) return error;
  if (error instanceof CsvSyntaxError) {
    if (error.kind === 'cell-too-large') {
      const where = header.length > 0 ? `a cell of column "${header[error.fieldIndex] ?? error.fieldIndex + 1}"` : `header field ${error.fieldIndex + 1}`;
      return new VeilError('CSV_CELL_TOO_LARGE', `${where} is larger than the limit of ${maxCellBytes} bytes per cell (CLI: --max-cell-bytes)`, { file, line: error.line });
    }
    return new VeilError('CSV_INVALID', 'malformed CSV: unbalanced or misplaced quote', { file, line: error.line });
  }
  return new VeilError('FILE_NOT_FOUND', `cannot read the CSV file: ${readProblem(error)}`, { file });
}

function headerProblem(header: string[]): string | undefined {
  const seen = new Set<string>();
  for (let i = 0; i < header.length; i++) {
    if (header[i] === '') return `header field ${i + 1} is empty: every column needs a name`;
    if (seen.has(header[i])) return `column "${header[i]}" appears twice in the header`;
    seen.add(header[i]);
  }
  return undefined;
}

async function readHeaderLine(file: string): Promise<string> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new VeilError('FILE_NOT_FOUND', `cannot read the CSV file: ${readProblem(error)}`, { file });
  }
  try {
    if ((await handle.stat()).isDirectory()) throw new VeilError('FILE_NOT_FOUND', 'is a folder; expected a CSV file', { file });
    const buffer = Buffer.alloc(65536);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const text = buffer.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, '');
    const end = text.search(/\r?\n/);
    return end === -1 ? text : text.slice(0, end);
  } finally {
    await handle.close();
  }
}
