import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writevSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/**
 * The listener's receipt log: one append-only file shared by every association, in which each
 * received instance is a record (its segment, its key, its Part-10 bytes, checksums). Records are
 * written with positional writes; one `fdatasync` makes every record written before it durable,
 * and writers whose record was written while a sync ran share the next one (group commit). So a
 * C-STORE is answered once the sync covering its record is done, and one flush serves many
 * instances. The log is the durable copy of an instance until the batch holding it is finished;
 * then a `done` record for its segment is appended, and a log file is removed once none of its
 * records is needed.
 *
 *   log/<n>.log   records: instance (segment, key, bytes), done (segment), drop (segment, key)
 *
 * A record: magic "VSL1", CRC-32 of the rest of the header, CRC-32 of the payload, type, lengths,
 * segment and key (ASCII), payload. On start the files are scanned: a record whose checksums do
 * not match (a torn tail, a write that failed) is skipped, and the scan looks for the next magic.
 */
/** An instance record of an earlier run: where its bytes are (read with `SegmentLog.payloads`). */
export interface LoggedInstance {
  segment: string;
  key: string;
  file: string;
  start: number;
  end: number;
}

/** What the logs of earlier runs hold: the instances still needed, and the segments finished. */
export interface LogRecovery {
  /** Instance records whose segment is not finished and that were not dropped, in log order. */
  needed: LoggedInstance[];
  /** Segments whose batch was finished (their `done` record is durable). */
  done: Set<string>;
  /** Instance records dropped at de-identification (quarantined), by segment, then key. */
  dropped: Map<string, Set<string>>;
}

const MAGIC = Buffer.from('VSL1', 'latin1');
const MAGIC_WORD = MAGIC.readUInt32LE(0);
/** magic 4, header CRC 4, payload CRC 4, type 1, spare 1, segment length 2, key length 2, spare 2, payload length 4 */
const HEADER_BYTES = 24;
const INSTANCE = 1;
const DONE = 2;
const DROP = 3;
/** A new log file once the current one holds this much: a finished file can be removed sooner. */
const DEFAULT_ROTATE_BYTES = 64 * 1024 * 1024;

interface LogFile {
  name: string;
  path: string;
  /** Open while records are appended (this run's files). */
  handle?: FileHandle;
  size: number;
  /** Appends not yet durable (or failed). */
  inFlight: number;
  /** Segments with an instance or drop record here: the file is needed until they are finished. */
  segments: Set<string>;
  /** Segments with a done record here: needed while another file holds records of them. */
  dones: Set<string>;
  sync?: GroupSync;
  /** No new record goes in: full, of an earlier run, failed, or being removed. */
  sealed: boolean;
}

export class SegmentLog {
  private readonly files = new Map<string, LogFile>();
  /** Segments finished (done record durable, batch removed) that some file still mentions. */
  private readonly done = new Set<string>();
  private current: Promise<LogFile> | undefined;
  private nextNumber = 1;
  private collecting: Promise<void> = Promise.resolve();
  /** Log files removed by this run (for tests and the report). */
  removedFiles = 0;
  /** fdatasyncs of log files by this run: with group commit, fewer than the records. */
  syncs = 0;

  constructor(
    readonly dir: string,
    private readonly rotateBytes = DEFAULT_ROTATE_BYTES,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  /**
   * Reads the log files left by earlier runs (synchronously, at start, before anything is
   * received), one at a time, keeping where each needed record is, not its bytes. Files of
   * earlier runs are only read, never appended to: this run writes new files.
   */
  recover(): LogRecovery {
    const needed = new Map<string, LoggedInstance>();
    const done = new Set<string>();
    const dropped = new Map<string, Set<string>>();
    for (const name of logNames(this.dir)) {
      const path = join(this.dir, name);
      const file: LogFile = { name, path, size: 0, inFlight: 0, segments: new Set(), dones: new Set(), sealed: true };
      const bytes = readFileSync(path);
      file.size = bytes.length;
      for (const record of scanRecords(bytes)) {
        if (record.type === DONE) {
          done.add(record.segment);
          file.dones.add(record.segment);
          continue;
        }
        file.segments.add(record.segment);
        const id = `${record.segment}/${record.key}`;
        if (record.type === DROP) {
          needed.delete(id);
          let keys = dropped.get(record.segment);
          if (!keys) dropped.set(record.segment, (keys = new Set()));
          keys.add(record.key);
        } else if (record.type === INSTANCE) {
          // a later record of the same instance (sent again) replaces the earlier one
          needed.delete(id);
          const start = record.end - record.payload.length;
          needed.set(id, { segment: record.segment, key: record.key, file: path, start, end: record.end });
        }
      }
      this.files.set(name, file);
      this.nextNumber = Math.max(this.nextNumber, numberOf(name) + 1);
    }
    for (const segment of done) this.done.add(segment);
    return { needed: [...needed.values()].filter((r) => !done.has(r.segment)), done, dropped };
  }

  /**
   * The bytes of recovered records, one log file read at a time (a large backlog is never in
   * memory at once); each buffer is valid until the next is yielded.
   */
  *payloads(records: readonly LoggedInstance[]): Generator<{ record: LoggedInstance; bytes: Buffer }> {
    const byFile = new Map<string, LoggedInstance[]>();
    for (const record of records) {
      let list = byFile.get(record.file);
      if (!list) byFile.set(record.file, (list = []));
      list.push(record);
    }
    for (const [file, list] of byFile) {
      const bytes = readFileSync(file);
      for (const record of list) yield { record, bytes: bytes.subarray(record.start, record.end) };
    }
  }

  /**
   * Removes, synchronously, the files of earlier runs none of whose records is needed (call
   * once the batches of done segments are removed and their folder synced).
   */
  removeUnneededNow(): void {
    // in passes: a file of done records can go once the files of those segments' records are gone
    for (;;) {
      const removable = [...this.files.values()].filter((f) => this.removable(f));
      if (removable.length === 0) return;
      for (const file of removable) unlinkSync(file.path);
      fsyncFolderSync(this.dir);
      for (const file of removable) this.forget(file);
    }
  }

  /** Appends an instance record; resolves once it is durable (group-committed). */
  append(segment: string, key: string, chunks: readonly Uint8Array[]): Promise<void> {
    return this.write(INSTANCE, segment, key, chunks);
  }

  /** Records that an instance of a segment was quarantined at de-identification: never re-made. */
  drop(segment: string, key: string): Promise<void> {
    return this.write(DROP, segment, key, []);
  }

  /** Records that a segment's batch is finished (every instance delivered or quarantined); durable once resolved. */
  finish(segment: string): Promise<void> {
    return this.write(DONE, segment, '', []);
  }

  /**
   * The finished segment's batch is gone from the spool: files that no longer hold a needed
   * record are removed (in the background; `settled()` waits). `beforeRemoval` makes the
   * batches' removal durable first, so that a removed log never leaves a half-deleted batch
   * behind as the only copy.
   */
  settle(segment: string, beforeRemoval: () => Promise<void>): void {
    this.done.add(segment);
    this.collecting = this.collecting.then(() => this.removeUnneeded(beforeRemoval)).catch(() => undefined);
  }

  /** Waits until the removals asked for so far are done. */
  settled(): Promise<void> {
    return this.collecting;
  }

  /** Log files this run still keeps. */
  fileCount(): number {
    return this.files.size;
  }

  async close(): Promise<void> {
    await this.collecting;
    for (const file of this.files.values()) await file.handle?.close().catch(() => undefined);
  }

  private async write(type: number, segment: string, key: string, chunks: readonly Uint8Array[]): Promise<void> {
    const header = recordHeader(type, segment, key, chunks);
    let file: LogFile;
    for (;;) {
      const pending = this.writable();
      file = await pending;
      if (!file.sealed) break;
      // full, failed or being removed: the next writer opens a new file
      if (this.current === pending) this.current = undefined;
    }
    // synchronous from the check above to the reservation: a file is never sealed in between
    const at = file.size;
    let length = header.length;
    for (const chunk of chunks) length += chunk.length;
    file.size += length;
    file.inFlight++;
    if (type === DONE) file.dones.add(segment);
    else file.segments.add(segment);
    // the next record goes to a new file once this one is large enough
    if (file.size >= this.rotateBytes) file.sealed = true;
    const { handle, sync } = file;
    try {
      if (!handle || !sync) throw new Error('a log file of an earlier run is not written to');
      // written on the calling thread: a copy into the page cache (≈ 0.1 ms for 513 KB), cheaper
      // than a trip through libuv's four fs threads, which the syncs and the batches' files keep busy
      const written = writevSync(handle.fd, [header, ...chunks], at);
      if (written !== length) throw new Error('a record of the spool log was written in part');
      await sync.request();
    } catch (error) {
      // a file whose write or sync failed gets no more records (after a failed fsync the kernel
      // may have dropped its pages); the failed record is skipped by the scan at restart
      file.sealed = true;
      throw error;
    } finally {
      file.inFlight--;
    }
  }

  private writable(): Promise<LogFile> {
    this.current ??= this.openNext().catch((error: unknown) => {
      this.current = undefined;
      throw error;
    });
    return this.current;
  }

  private async openNext(): Promise<LogFile> {
    const name = `${String(this.nextNumber++).padStart(12, '0')}.log`;
    const path = join(this.dir, name);
    const handle = await open(path, 'wx');
    // the file's name is durable before any record in it is acknowledged
    await fsyncFolder(this.dir);
    const file: LogFile = { name, path, handle, size: 0, inFlight: 0, segments: new Set(), dones: new Set(), sealed: false };
    file.sync = new GroupSync(async () => {
      this.syncs++;
      await handle.datasync();
    });
    this.files.set(name, file);
    return file;
  }

  /**
   * Not needed any more: nothing is being written into it, every segment it holds records of
   * is finished, and the done records it holds are of segments no other file holds records of.
   */
  private removable(file: LogFile): boolean {
    if (file.inFlight > 0) return false;
    for (const segment of file.segments) if (!this.done.has(segment)) return false;
    for (const segment of file.dones) {
      for (const other of this.files.values()) if (other !== file && other.segments.has(segment)) return false;
    }
    return true;
  }

  private async removeUnneeded(beforeRemoval: () => Promise<void>): Promise<void> {
    // in passes: a file of done records can go once the files of those segments' records are
    // gone, durably (a done record is never removed before the records it covers)
    for (let pass = 0; await this.removePass(pass === 0 ? beforeRemoval : undefined); pass++);
  }

  private async removePass(beforeRemoval: (() => Promise<void>) | undefined): Promise<boolean> {
    const removable = [...this.files.values()].filter((f) => this.removable(f));
    if (removable.length === 0) return false;
    // decided now, before any await: no writer takes these files any more
    for (const file of removable) file.sealed = true;
    await beforeRemoval?.();
    for (const file of removable) {
      await unlink(file.path);
      await file.handle?.close().catch(() => undefined);
    }
    await fsyncFolder(this.dir);
    for (const file of removable) this.forget(file);
    return true;
  }

  private forget(file: LogFile): void {
    this.files.delete(file.name);
    this.removedFiles++;
    // a done segment no file mentions any more needs no memory of it
    for (const segment of [...file.segments, ...file.dones]) {
      let mentioned = false;
      for (const other of this.files.values()) if (other.segments.has(segment) || other.dones.has(segment)) mentioned = true;
      if (!mentioned) this.done.delete(segment);
    }
  }
}

/**
 * Group commit: a caller gets a promise of a sync that started after its call. A caller arriving
 * while a sync runs waits for the next one; callers arriving meanwhile share that next one.
 */
export class GroupSync {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  constructor(private readonly run: () => Promise<void>) {}

  request(): Promise<void> {
    if (this.next) return this.next;
    if (!this.running) {
      this.running = this.run().finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    this.next = this.running
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        return this.request();
      });
    return this.next;
  }
}

export interface ScannedRecord {
  type: number;
  segment: string;
  key: string;
  payload: Buffer;
  /** Where the record starts and ends in the file. */
  start: number;
  end: number;
}

/** The intact records of a log file's bytes, in order; damaged ones (torn, failed writes) are skipped. */
export function* scanRecords(bytes: Buffer): Generator<ScannedRecord> {
  let at = 0;
  while (at + HEADER_BYTES <= bytes.length) {
    if (bytes.readUInt32LE(at) === MAGIC_WORD) {
      const record = recordAt(bytes, at);
      if (record) {
        yield record;
        at = record.end;
        continue;
      }
    }
    const next = bytes.indexOf(MAGIC, at + 1);
    if (next < 0) return;
    at = next;
  }
}

function recordAt(bytes: Buffer, at: number): ScannedRecord | undefined {
  const type = bytes[at + 12];
  const segmentLength = bytes.readUInt16LE(at + 14);
  const keyLength = bytes.readUInt16LE(at + 16);
  const payloadLength = bytes.readUInt32LE(at + 20);
  const headerEnd = at + HEADER_BYTES + segmentLength + keyLength;
  const end = headerEnd + payloadLength;
  if (end > bytes.length) return undefined;
  if (crc32(bytes.subarray(at + 8, headerEnd)) !== bytes.readUInt32LE(at + 4)) return undefined;
  const payload = bytes.subarray(headerEnd, end);
  if (crc32(payload) !== bytes.readUInt32LE(at + 8)) return undefined;
  if (type !== INSTANCE && type !== DONE && type !== DROP) return undefined;
  const segment = bytes.toString('latin1', at + HEADER_BYTES, at + HEADER_BYTES + segmentLength);
  const key = bytes.toString('latin1', at + HEADER_BYTES + segmentLength, headerEnd);
  return { type, segment, key, payload, start: at, end };
}

function recordHeader(type: number, segment: string, key: string, chunks: readonly Uint8Array[]): Buffer {
  const segmentBytes = Buffer.from(segment, 'latin1');
  const keyBytes = Buffer.from(key, 'latin1');
  let payloadLength = 0;
  let payloadCrc = 0;
  for (const chunk of chunks) {
    payloadLength += chunk.length;
    payloadCrc = crc32(chunk, payloadCrc);
  }
  const header = Buffer.alloc(HEADER_BYTES + segmentBytes.length + keyBytes.length);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(payloadCrc >>> 0, 8);
  header[12] = type;
  header.writeUInt16LE(segmentBytes.length, 14);
  header.writeUInt16LE(keyBytes.length, 16);
  header.writeUInt32LE(payloadLength, 20);
  segmentBytes.copy(header, HEADER_BYTES);
  keyBytes.copy(header, HEADER_BYTES + segmentBytes.length);
  header.writeUInt32LE(crc32(header.subarray(8)) >>> 0, 4);
  return header;
}

function logNames(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => /^\d+\.log$/.test(n))
      .sort();
  } catch {
    return [];
  }
}

function numberOf(name: string): number {
  return Number(name.slice(0, -'.log'.length));
}

export async function fsyncFolder(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function fsyncFolderSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
