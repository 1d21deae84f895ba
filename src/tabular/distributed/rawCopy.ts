import { open } from 'node:fs/promises';
import { once } from 'node:events';
import type { Writable } from 'node:stream';

/**
 * The planner's second pass without parsing: every data record's bytes, as read, appended to
 * its partition's sink. The partition step parses them with the same reader, so the cells it
 * sees are the ones the first pass saw (the reader trims cells and skips blank records; the
 * bytes keep whatever it trims). Parsing and re-quoting every cell cost most of the planner's
 * time; finding line ends is a memchr.
 *
 * A record is a line only when no cell is quoted (a quoted cell may hold a line break) and
 * lines end in LF or CRLF (the reader also takes a lone CR): a file with a quote character or a
 * lone CR is not copied this way, and the answer is `false` — the caller then parses (the
 * sinks may have received part of the table: start them again). Also `false` when the count
 * of records differs from `partOf`'s (the file changed since the first pass).
 */
export async function copyRecordsRaw(input: string, delimiter: string, partOf: Uint32Array, sinks: readonly Writable[]): Promise<boolean> {
  const count = sinks.length;
  const sep = delimiter.charCodeAt(0);
  // Bounded memory however many partitions: 64 MiB of pending bytes in all, 16–256 KiB each.
  // Records are copied into a buffer per partition (a slice would keep its whole read alive).
  const flushBytes = Math.max(16 * 1024, Math.min(256 * 1024, Math.floor((64 * 1024 * 1024) / count)));
  const buffers: (Buffer | undefined)[] = new Array<Buffer | undefined>(count);
  const filled = new Array<number>(count).fill(0);
  const flush = (p: number): void => {
    const buffer = buffers[p];
    if (!buffer || filled[p] === 0) return;
    // The stream keeps the buffer until written: the next record gets a new one.
    sinks[p].write(buffer.subarray(0, filled[p]));
    buffers[p] = undefined;
    filled[p] = 0;
  };
  const add = (p: number, bytes: Buffer): void => {
    if (filled[p] + bytes.length > flushBytes) flush(p);
    if (bytes.length >= flushBytes) {
      sinks[p].write(Buffer.from(bytes));
      return;
    }
    const buffer = (buffers[p] ??= Buffer.allocUnsafe(flushBytes));
    filled[p] += bytes.copy(buffer, filled[p]);
  };

  const handle = await open(input, 'r');
  try {
    let carry: Buffer = Buffer.alloc(0);
    let headerSeen = false;
    let row = 0;
    let eof = false;
    let lastWasCR = false;
    while (!eof) {
      const buffer = Buffer.allocUnsafe(carry.length + READ_BYTES);
      carry.copy(buffer, 0);
      const { bytesRead } = await handle.read(buffer, carry.length, READ_BYTES, null);
      eof = bytesRead === 0;
      const chunk = buffer.subarray(0, carry.length + bytesRead);
      const fresh = chunk.subarray(carry.length);
      if (fresh.includes(QUOTE)) return false;
      // Every CR must be the first half of a CRLF (a CR ending the previous read is checked here).
      if (lastWasCR && (eof || fresh[0] !== LF)) return false;
      for (let at = fresh.indexOf(CR); at !== -1; at = fresh.indexOf(CR, at + 1)) {
        if (at + 1 < fresh.length && fresh[at + 1] !== LF) return false;
      }
      lastWasCR = fresh.length > 0 && fresh[fresh.length - 1] === CR;

      let start = 0;
      for (;;) {
        let end = chunk.indexOf(LF, start);
        if (end === -1) {
          if (!eof || start === chunk.length) break;
          end = chunk.length; // the last record, without a line end
        }
        const line = end === chunk.length ? Buffer.concat([chunk.subarray(start), NEWLINE]) : chunk.subarray(start, end + 1);
        if (!isBlank(chunk, start, end, sep)) {
          if (!headerSeen) headerSeen = true;
          else {
            if (row >= partOf.length) return false;
            add(partOf[row++], line);
          }
        }
        start = end + 1;
        if (start >= chunk.length) break;
      }
      carry = start < chunk.length ? chunk.subarray(start) : Buffer.alloc(0);
      // Wait for the disk when a file's buffer is full, so memory stays bounded.
      for (const sink of sinks) if (sink.writableNeedDrain) await once(sink, 'drain');
    }
    if (row !== partOf.length) return false;
    for (let p = 0; p < count; p++) flush(p);
    return true;
  } finally {
    await handle.close();
  }
}

const READ_BYTES = 1 << 20;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const NEWLINE = Buffer.from('\n');

/**
 * Whether the reader would skip line [start, end) as blank: only delimiters and white space
 * (the reader's: ASCII space, tab, VT, FF, and what \s matches from U+00A0 on, the BOM too).
 */
function isBlank(chunk: Buffer, start: number, end: number, sep: number): boolean {
  let i = start;
  while (i < end) {
    const c = chunk[i];
    if (c === sep || c === 32 || c === 9 || c === 11 || c === 12 || c === CR) i++;
    else if (c < 0x80) return false;
    else break; // a non-ASCII character: decide on the decoded text
  }
  if (i === end) return true;
  const text = chunk.toString('utf8', i, end);
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c === sep || c === 32 || c === 9 || c === 11 || c === 12 || c === CR) continue;
    if (c >= 0xa0 && /\s/.test(text[k])) continue;
    return false;
  }
  return true;
}
