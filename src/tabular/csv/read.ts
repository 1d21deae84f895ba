import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { parse } from 'fast-csv';
import { VeilError } from '../../errors.js';
import { ColumnBuilder, tableFromColumns, type Table } from '../table.js';
import { detectDelimiter, type Delimiter } from './delimiter.js';
import { locateQuoteError } from './locate.js';

export interface CsvReadResult {
  table: Table;
  delimiter: Delimiter;
}

export interface CsvReadOptions {
  /** Force a delimiter instead of detecting it from the header line. */
  delimiter?: Delimiter;
  /** Called every 50,000 rows with the byte position read so far. */
  onProgress?: (bytesRead: number) => void;
}

/**
 * Streams a CSV file into a dictionary-encoded Table. Accepts `,` `;` or tab (detected from the
 * header line), RFC 4180 quotes, CRLF or LF, a UTF-8 BOM; cells are trimmed of surrounding
 * white space. A row whose field count differs from the header's is an error naming its line.
 */
export async function readCsv(file: string, options: CsvReadOptions = {}): Promise<CsvReadResult> {
  const delimiter = options.delimiter ?? detectDelimiter(await readHeaderLine(file));
  let builders: ColumnBuilder[] | undefined;
  let header: string[] = [];
  let rowIndex = 0;

  const source = createReadStream(file);
  const parser = parse({ delimiter, headers: false, ignoreEmpty: true, trim: true });

  await new Promise<void>((resolve, reject) => {
    const fail = (error: Error) => {
      source.destroy();
      parser.destroy();
      reject(error);
    };
    source.on('error', () => fail(new VeilError('FILE_NOT_FOUND', 'cannot read the CSV file', { file })));
    parser.on('error', () => {
      source.destroy();
      // The parser fails ahead of the rows it has handed over: find the line from the file itself.
      void locateQuoteError(file, delimiter)
        .catch(() => undefined)
        .then((line) => fail(new VeilError('CSV_INVALID', line ? 'malformed CSV: unbalanced or misplaced quote' : 'malformed CSV (bad quoting or encoding)', line ? { file, line } : { file })));
    });
    parser.on('data', (row: string[]) => {
      if (!builders) {
        header = row;
        const problem = headerProblem(header);
        if (problem) return fail(new VeilError('CSV_INVALID', problem, { file, line: 1 }));
        builders = header.map((name) => new ColumnBuilder(name, 4096));
        return;
      }
      rowIndex++;
      if (row.length !== builders.length) {
        return fail(
          new VeilError('CSV_INVALID', `row has ${row.length} fields, expected ${builders.length} as in the header`, { file, line: rowIndex + 1 }),
        );
      }
      for (let c = 0; c < builders.length; c++) builders[c].push(row[c]);
      if (options.onProgress && rowIndex % 50_000 === 0) options.onProgress(source.bytesRead);
    });
    parser.on('end', () => resolve());
    source.pipe(new StripBom()).pipe(parser);
  });

  if (!builders) throw new VeilError('CSV_INVALID', 'the file is empty (no header line)', { file });
  return { table: tableFromColumns(builders.map((b) => b.build())), delimiter };
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
  } catch {
    throw new VeilError('FILE_NOT_FOUND', 'cannot read the CSV file', { file });
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

/** Drops a UTF-8 byte order mark at the start of the stream. */
class StripBom extends Transform {
  private first = true;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.first) {
      this.first = false;
      if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
    }
    callback(null, chunk);
  }
}
