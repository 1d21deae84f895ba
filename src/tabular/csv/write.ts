import { openAtomicStream } from '../../io/atomic.js';
import type { Table } from '../table.js';
import type { Delimiter } from './delimiter.js';

/** Characters of output gathered before one write: few, large writes instead of one per row. */
const BATCH_CHARS = 1 << 20;

/**
 * Writes a table as CSV atomically (temp file, then rename): a reader never sees half a file,
 * and a failure leaves no output. Every record, the header included, ends with `\n`.
 *
 * A table is dictionary-encoded, so each distinct text is formatted once (see `csvField`) and a
 * row is the concatenation of ready-made fields: no per-cell escaping, no per-row array.
 */
export async function writeCsv(file: string, table: Table, delimiter: Delimiter = ','): Promise<void> {
  const target = await openAtomicStream(file);
  try {
    const stream = target.stream;
    const failed = new Promise<never>((_, reject) => stream.once('error', reject));
    failed.catch(() => undefined);
    const write = async (text: string) => {
      if (!stream.write(text)) await Promise.race([new Promise<void>((r) => stream.once('drain', r)), failed]);
    };
    const columns = table.columns;
    const fields = columns.map((column) => column.dictionary.map((text) => csvField(text, delimiter)));
    const codes = columns.map((column) => column.codes);
    const width = columns.length;
    let chunk = `${columns.map((column) => csvField(column.name, delimiter)).join(delimiter)}\n`;
    for (let r = 0; r < table.rowCount && width > 0; r++) {
      let line = fields[0][codes[0][r]];
      for (let c = 1; c < width; c++) line += delimiter + fields[c][codes[c][r]];
      chunk += `${line}\n`;
      if (chunk.length >= BATCH_CHARS) {
        await write(chunk);
        chunk = '';
      }
    }
    if (chunk.length > 0) await write(chunk);
    await Promise.race([target.commit(), failed]);
  } catch (error) {
    await target.abort();
    throw error;
  }
}

/**
 * One cell as written. Byte for byte what the fast-csv formatter Veil used before wrote, so
 * outputs stay identical across versions: NUL characters are dropped; a cell holding a quote is
 * quoted with the quote doubled; a cell holding the delimiter, a line break or `|` (fast-csv's
 * pattern had it) is quoted; any other cell is written as it is.
 */
export function csvField(text: string, delimiter: Delimiter): string {
  const cell = text.includes('\0') ? text.replaceAll('\0', '') : text;
  if (cell.includes('"')) return `"${cell.replaceAll('"', '""')}"`;
  if (cell.includes(delimiter) || cell.includes('\n') || cell.includes('\r') || cell.includes('|')) return `"${cell}"`;
  return cell;
}
