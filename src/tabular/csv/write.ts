import { format } from 'fast-csv';
import { openAtomicStream } from '../../io/atomic.js';
import type { Table } from '../table.js';
import type { Delimiter } from './delimiter.js';

/**
 * Writes a table as CSV atomically (temp file, then rename): a reader never sees half a file,
 * and a failure leaves no output. Quotes only the cells that need it.
 */
export async function writeCsv(file: string, table: Table, delimiter: Delimiter = ','): Promise<void> {
  const target = await openAtomicStream(file);
  try {
    const formatter = format<string[], string[]>({ delimiter, quote: '"', escape: '"', includeEndRowDelimiter: true });
    const done = new Promise<void>((resolve, reject) => {
      formatter.on('error', reject);
      target.stream.on('error', reject);
      target.stream.on('finish', resolve);
    });
    formatter.pipe(target.stream);
    const columns = table.columns;
    const write = (row: string[]) => (formatter.write(row) ? Promise.resolve() : new Promise<void>((r) => formatter.once('drain', r)));
    await write(columns.map((c) => c.name));
    for (let r = 0; r < table.rowCount; r++) {
      const row = new Array<string>(columns.length);
      for (let c = 0; c < columns.length; c++) row[c] = columns[c].dictionary[columns[c].codes[r]];
      await write(row);
    }
    formatter.end();
    await done;
    await target.commit();
  } catch (error) {
    await target.abort();
    throw error;
  }
}
