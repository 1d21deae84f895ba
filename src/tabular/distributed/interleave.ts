import { once } from 'node:events';
import { open, type FileHandle } from 'node:fs/promises';
import { VeilError } from '../../errors.js';
import { openAtomicStream } from '../../io/atomic.js';
import type { Delimiter } from '../csv/delimiter.js';
import { csvField } from '../csv/write.js';

/*
 * The merged CSV without parsing: every partition's output (written by writeCsv, in the
 * partition's row order) is read as a stream of records, and the merge emits, for each input
 * row, the next record of that row's partition (rows.bin). The record's bytes are copied as
 * written, so the merged file is what writeCsv would write from the whole output table, without
 * holding it: memory is one read buffer per partition and one write buffer.
 */

const QUOTE = 0x22;
const LF = 0x0a;
/** One write to the output per this many bytes. */
const WRITE_BYTES = 1 << 20;

/**
 * The records of one CSV file written by writeCsv: a record ends at a line feed outside quotes
 * (a quoted cell may hold a line break; writeCsv doubles a quote inside a quoted cell, so
 * counting quotes tells inside from outside).
 */
class RecordReader {
  private buffer: Buffer;
  private start = 0;
  private end = 0;
  private eof = false;
  /** Position of the next quote at or after `start` in [0, end), -1 for none: searched once per fill, not per record. */
  private nextQuote = -1;

  private constructor(private readonly handle: FileHandle, readonly file: string, bytes: number) {
    this.buffer = Buffer.allocUnsafe(bytes);
  }

  static async open(file: string, bytes: number): Promise<RecordReader> {
    return new RecordReader(await open(file, 'r'), file, bytes);
  }

  /** The next record with its line end, or undefined when it is not all in the buffer (call `fill`) or the file ended (`done`). */
  next(): Buffer | undefined {
    const { buffer, start, end } = this;
    if (start >= end) return undefined;
    let at: number;
    if (this.nextQuote !== -1 && this.nextQuote < start) this.nextQuote = buffer.subarray(0, end).indexOf(QUOTE, start);
    const lf = buffer.subarray(0, end).indexOf(LF, start);
    if (lf === -1) return undefined;
    if (this.nextQuote === -1 || this.nextQuote > lf) {
      at = lf;
    } else {
      at = -1;
      let quoted = false;
      for (let i = start; i < end; i++) {
        const c = buffer[i];
        if (c === QUOTE) quoted = !quoted;
        else if (c === LF && !quoted) {
          at = i;
          break;
        }
      }
      if (at === -1) return undefined;
    }
    this.start = at + 1;
    return buffer.subarray(start, at + 1);
  }

  get done(): boolean {
    return this.eof && this.start >= this.end;
  }

  /** Reads more of the file behind what is left (growing the buffer for a record longer than it). False at the end of the file. */
  async fill(): Promise<boolean> {
    if (this.eof) return false;
    const left = this.end - this.start;
    if (left >= this.buffer.length / 2) {
      const grown = Buffer.allocUnsafe(this.buffer.length * 2);
      this.buffer.copy(grown, 0, this.start, this.end);
      this.buffer = grown;
    } else {
      this.buffer.copy(this.buffer, 0, this.start, this.end);
    }
    this.start = 0;
    this.end = left;
    const { bytesRead } = await this.handle.read(this.buffer, left, this.buffer.length - left, null);
    this.end += bytesRead;
    if (bytesRead === 0) this.eof = true;
    this.nextQuote = this.buffer.subarray(0, this.end).indexOf(QUOTE, 0);
    return bytesRead > 0;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** The header line writeCsv writes for these column names. */
export function headerLine(header: readonly string[], delimiter: Delimiter): Buffer {
  return Buffer.from(`${header.map((name) => csvField(name, delimiter)).join(delimiter)}\n`);
}

export interface InterleaveOptions {
  /** The merged CSV, written atomically. */
  out: string;
  header: readonly string[];
  delimiter: Delimiter;
  /** Partition of every input row. */
  partOf: Uint32Array;
  /** Each partition's output file, in the partition's row order. */
  files: readonly string[];
}

/**
 * Writes the merged CSV: the header, then each input row's record from its partition's output.
 * Every file must hold the header and exactly its partition's records (else USAGE, naming the
 * file: its step is run again); on any failure no output is left.
 */
export async function writeInterleaved(options: InterleaveOptions): Promise<void> {
  const { partOf, files } = options;
  const header = headerLine(options.header, options.delimiter);
  // Bounded however many partitions: 64 MiB of read buffers in all, 64 KiB–1 MiB each.
  const readBytes = Math.max(64 * 1024, Math.min(1 << 20, Math.floor((64 * 1024 * 1024) / Math.max(1, files.length))));
  const readers: RecordReader[] = [];
  const target = await openAtomicStream(options.out);
  try {
    for (const file of files) readers.push(await RecordReader.open(file, readBytes));
    const broken = (reader: RecordReader) => new VeilError('USAGE', 'a partition output does not have the header and rows of the plan: run its step again', { file: reader.file });
    const record = async (reader: RecordReader): Promise<Buffer> => {
      for (;;) {
        const bytes = reader.next();
        if (bytes) return bytes;
        if (!(await reader.fill())) throw broken(reader);
      }
    };
    for (const reader of readers) if (!(await record(reader)).equals(header)) throw broken(reader);

    const stream = target.stream;
    const failed = new Promise<never>((_, reject) => stream.once('error', reject));
    failed.catch(() => undefined);
    let out = Buffer.allocUnsafe(WRITE_BYTES);
    let used = header.copy(out, 0);
    const flush = async () => {
      if (used === 0) return;
      // The stream keeps the buffer until written: the next bytes go to a new one.
      const full = !stream.write(out.subarray(0, used));
      out = Buffer.allocUnsafe(WRITE_BYTES);
      used = 0;
      if (full) await Promise.race([once(stream, 'drain'), failed]);
    };
    for (let r = 0; r < partOf.length; r++) {
      const reader = readers[partOf[r]];
      const bytes = reader.next() ?? (await record(reader));
      if (used + bytes.length > out.length) {
        await flush();
        if (bytes.length > out.length) out = Buffer.allocUnsafe(bytes.length);
      }
      used += bytes.copy(out, used);
    }
    await flush();
    for (const reader of readers) {
      if (reader.next() !== undefined || (await reader.fill()) || !reader.done) throw broken(reader);
    }
    await Promise.race([target.commit(), failed]);
  } catch (error) {
    await target.abort();
    throw error;
  } finally {
    await Promise.all(readers.map((reader) => reader.close()));
  }
}
