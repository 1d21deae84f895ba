import { closeSync, createReadStream, existsSync, fstatSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { crc32, createDeflateRaw, deflateRaw, deflateRawSync } from 'node:zlib';
import { Unzip, UnzipInflate, type UnzipFile } from 'fflate';
import { tempPathFor } from '../io/atomic.js';
import { ApiError } from './errors.js';

/** The file writes of an extraction; tests replace them to simulate a full disk. */
export interface ExtractWriter {
  open(path: string): number;
  write(fd: number, chunk: Uint8Array): void;
  close(fd: number): void;
}

const fileWriter: ExtractWriter = {
  open: (path) => openSync(path, 'wx'),
  write: (fd, chunk) => {
    writeSync(fd, chunk);
  },
  close: (fd) => closeSync(fd),
};

/** An error of the server's own file system (ENOSPC, EMFILE…): not the archive's fault. */
function isSystemError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && typeof (error as { syscall?: unknown }).syscall === 'string';
}

export interface ZipLimits {
  /** Most files one archive may hold. */
  maxEntries: number;
  /** Most bytes all entries may expand to, together. */
  maxTotalBytes: number;
  /** Largest expansion ratio of one entry past its first MiB (deflate tops out near 1032). */
  maxRatio: number;
}

/** True when a zip entry name would leave the extraction directory if used as a path. */
export function isUnsafeEntryName(name: string): boolean {
  if (name.includes('\\') || name.includes('\0')) return true;
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return true;
  return name.split('/').some((segment) => segment === '..');
}

function isSkippedEntry(name: string): boolean {
  const last = name.split('/').pop() ?? '';
  return name.endsWith('/') || name.startsWith('__MACOSX/') || last.startsWith('.');
}

/**
 * Extracts a zip upload into `destDir` as numbered files (`000001<suffix>`, in archive order):
 * entry names are checked for traversal and then ignored, never used as paths. Expansion is
 * counted as it happens, so a zip bomb stops at the limit whatever its headers declare.
 * Returns the written paths.
 */
export async function extractZipSafely(zipFile: string, destDir: string, limits: ZipLimits, suffix = '', writer: ExtractWriter = fileWriter): Promise<string[]> {
  await mkdir(destDir, { recursive: true });
  const written: string[] = [];
  let total = 0;
  let failure: ApiError | undefined;
  // a write that failed on the server's disk is rethrown as is (a full disk is DISK_FULL, 507)
  let systemFailure: unknown;
  const openFds = new Set<number>();

  const fail = (error: ApiError): void => {
    failure ??= error;
  };

  const unzip = new Unzip((file: UnzipFile) => {
    if (failure || systemFailure !== undefined) return;
    if (isUnsafeEntryName(file.name)) return fail(new ApiError(400, 'ZIP_UNSAFE', 'a zip entry name is absolute or contains ".."; the archive was refused', 'files'));
    if (isSkippedEntry(file.name)) return;
    if (written.length >= limits.maxEntries) return fail(new ApiError(413, 'PAYLOAD_TOO_LARGE', `the zip holds more than ${limits.maxEntries} files`, 'files'));
    if (file.originalSize !== undefined && total + file.originalSize > limits.maxTotalBytes) {
      return fail(new ApiError(413, 'PAYLOAD_TOO_LARGE', 'the zip expands beyond the upload limit of this server', 'files'));
    }
    const target = join(destDir, `${String(written.length + 1).padStart(6, '0')}${suffix}`);
    const fd = writer.open(target);
    openFds.add(fd);
    written.push(target);
    let entryBytes = 0;
    const compressed = file.size ?? 0;
    file.ondata = (error, chunk, final) => {
      if (failure || systemFailure !== undefined) return;
      // fflate's inflater hands back, as `error`, what our own write threw while it ran
      if (error && isSystemError(error)) {
        systemFailure ??= error;
        return;
      }
      if (error) return fail(new ApiError(400, 'ZIP_INVALID', 'the zip archive could not be read (corrupt, encrypted or an unsupported compression method)', 'files'));
      entryBytes += chunk.length;
      total += chunk.length;
      if (total > limits.maxTotalBytes) return fail(new ApiError(413, 'PAYLOAD_TOO_LARGE', 'the zip expands beyond the upload limit of this server', 'files'));
      if (entryBytes > 1 << 20 && compressed > 0 && entryBytes / compressed > limits.maxRatio) {
        return fail(new ApiError(413, 'PAYLOAD_TOO_LARGE', 'a zip entry expands suspiciously far (zip bomb?)', 'files'));
      }
      writer.write(fd, chunk);
      if (final) {
        writer.close(fd);
        openFds.delete(fd);
      }
    };
    try {
      file.start();
    } catch (error) {
      // start() may already deliver data, and so a failed write
      if (isSystemError(error)) systemFailure ??= error;
      else fail(new ApiError(400, 'ZIP_INVALID', 'the zip archive uses an unsupported compression method', 'files'));
    }
  });
  unzip.register(UnzipInflate);

  try {
    for await (const chunk of createReadStream(zipFile)) {
      unzip.push(chunk as Buffer);
      if (failure || systemFailure !== undefined) break;
    }
    if (!failure && systemFailure === undefined) unzip.push(new Uint8Array(0), true);
  } catch (error) {
    // fflate rethrows what our callbacks threw: a write that failed, or its own parse error
    if (isSystemError(error)) systemFailure ??= error;
    else fail(new ApiError(400, 'ZIP_INVALID', 'the zip archive could not be read', 'files'));
  } finally {
    for (const fd of openFds) writer.close(fd);
  }
  if (systemFailure !== undefined) {
    await rm(destDir, { recursive: true, force: true });
    throw systemFailure;
  }
  if (!failure && openFds.size > 0) fail(new ApiError(400, 'ZIP_INVALID', 'the zip archive is truncated', 'files'));
  if (failure) {
    await rm(destDir, { recursive: true, force: true });
    throw failure;
  }
  if (written.length === 0) throw new ApiError(400, 'ZIP_EMPTY', 'the zip archive holds no files', 'files');
  return written;
}


// ---------------------------------------------------------------------------------------------
// Writing. Veil's own zip writer: native zlib (deflate level 6), ZIP64 records wherever a size,
// an offset or the entry count needs them, and **segments**: the local entries of some files
// (headers + data) written on their own with their central-directory records beside them, so
// that many segments, written anywhere, concatenate into one archive without deflating again
// (the queue's chunks each write one; the merge copies their bytes and writes the directory).
// ---------------------------------------------------------------------------------------------

/** A file to put in an archive, under `name` ('/'-separated, relative). */
export interface ZipSource {
  path: string;
  name: string;
}

/** One entry's central-directory facts. */
export interface ZipEntryRecord {
  name: string;
  crc: number;
  /** 8 (deflate) or 0 (stored, when deflate would not make it smaller). */
  method: 0 | 8;
  compressedSize: number;
  size: number;
  /** MS-DOS date (high 16 bits) and time (low 16 bits) of the file's modification, local time. */
  dosDateTime: number;
  /** Where its local header starts: from the segment's first byte in a segment, from the archive's in an archive. */
  offset: number;
  /** Bytes of its local header and data together. */
  localSize: number;
}

/** A segment's index: its byte length and its entries in the order their bytes follow each other. */
export interface ZipSegmentIndex {
  bytes: number;
  entries: ZipEntryRecord[];
}

/** Entries of one segment that follow each other there, to be copied into an archive as one run of bytes. */
export interface ZipPart {
  segment: string;
  entries: readonly ZipEntryRecord[];
}

const SEGMENT_FORMAT = 'veil-zip-segment-1';
const LEVEL = 6;
/** Above this a file is deflated as a stream instead of in one buffer. */
const STREAM_ABOVE = 64 << 20;
/**
 * Up to this a file is read and deflated synchronously, on the calling thread: for small
 * files the promise and thread-pool round trips of open, stat, read, close and deflate
 * (≈ 0.25 ms of CPU) cost more than deflating them, and one blocks the event loop for well
 * under a millisecond. Larger files are deflated on libuv's threads, two at a time. Same
 * bytes either way (zlib at the same level).
 */
const SYNC_BELOW = 16 << 10;
/**
 * zlib's output buffer for a file deflated in one step: a little more than the file, not
 * Node's default 16 KiB chunk, whose allocation and collection cost more than deflating a tiny
 * file (70,000 files of 12–84 bytes: 3.2 → 1.6 CPU-s for the deflate calls). The output is the
 * same bytes whatever the buffer size (a larger output is gathered from several chunks).
 */
const outputChunkFor = (size: number): number => Math.min(SYNC_BELOW, size) + 64;
/** A streamed file this large gets ZIP64 sizes in its local header (deflate may grow data by a fraction of a percent). */
const ZIP64_LOCAL_FROM = 0xf000_0000;
const MAX32 = 0xffff_ffff;
const MAX16 = 0xffff;
const COPY_BUFFER = 4 << 20;

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_END64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const FLAG_UTF8 = 0x0800;
/** Made by Unix (3), spec version 4.5; files are extracted as rw-r--r--. */
const MADE_BY = (3 << 8) | 45;
const UNIX_FILE_ATTRS = (0o100644 << 16) >>> 0;

const deflateRawAsync = promisify(deflateRaw);

/** The DOS date and time of `date` (local time, as zip tools use), clamped to DOS's 1980–2107. */
export function dosDateTime(date: Date): number {
  const year = date.getFullYear();
  if (year < 1980) return (1 << 21) | (1 << 16);
  if (year > 2107) return ((127 << 25) | (12 << 21) | (31 << 16) | (23 << 11) | (59 << 5) | 29) >>> 0;
  return (((year - 1980) << 25) | ((date.getMonth() + 1) << 21) | (date.getDate() << 16) | (date.getHours() << 11) | (date.getMinutes() << 5) | (date.getSeconds() >> 1)) >>> 0;
}

function nameBytes(name: string): { bytes: Buffer; flags: number } {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length > MAX16) throw new Error('a zip entry name is longer than 65,535 bytes');
  // bit 11 says the name is UTF-8; without it readers take CP437
  return { bytes, flags: bytes.length === name.length ? 0 : FLAG_UTF8 };
}

/** A local file header; with `zip64`, the sizes live in a ZIP64 extra field (both of them, as the format requires). */
function localHeader(entry: Pick<ZipEntryRecord, 'name' | 'crc' | 'method' | 'compressedSize' | 'size' | 'dosDateTime'>, zip64: boolean): Buffer {
  const { bytes, flags } = nameBytes(entry.name);
  const header = Buffer.allocUnsafe(30 + bytes.length + (zip64 ? 20 : 0));
  header.writeUInt32LE(SIG_LOCAL, 0);
  header.writeUInt16LE(zip64 ? 45 : 20, 4);
  header.writeUInt16LE(flags, 6);
  header.writeUInt16LE(entry.method, 8);
  header.writeUInt32LE(entry.dosDateTime, 10);
  header.writeUInt32LE(entry.crc >>> 0, 14);
  header.writeUInt32LE(zip64 ? MAX32 : entry.compressedSize, 18);
  header.writeUInt32LE(zip64 ? MAX32 : entry.size, 22);
  header.writeUInt16LE(bytes.length, 26);
  header.writeUInt16LE(zip64 ? 20 : 0, 28);
  bytes.copy(header, 30);
  if (zip64) {
    const at = 30 + bytes.length;
    header.writeUInt16LE(0x0001, at);
    header.writeUInt16LE(16, at + 2);
    header.writeBigUInt64LE(BigInt(entry.size), at + 4);
    header.writeBigUInt64LE(BigInt(entry.compressedSize), at + 12);
  }
  return header;
}

/** A central-directory record; each of size, compressed size and offset that does not fit 32 bits goes to the ZIP64 extra field, in that order. */
export function centralRecord(entry: ZipEntryRecord): Buffer {
  const { bytes, flags } = nameBytes(entry.name);
  const wide = [entry.size >= MAX32 ? entry.size : undefined, entry.compressedSize >= MAX32 ? entry.compressedSize : undefined, entry.offset >= MAX32 ? entry.offset : undefined].filter(
    (value): value is number => value !== undefined,
  );
  const extra = wide.length > 0 ? 4 + 8 * wide.length : 0;
  const record = Buffer.alloc(46 + bytes.length + extra);
  record.writeUInt32LE(SIG_CENTRAL, 0);
  record.writeUInt16LE(MADE_BY, 4);
  record.writeUInt16LE(wide.length > 0 || entry.size >= ZIP64_LOCAL_FROM ? 45 : 20, 6);
  record.writeUInt16LE(flags, 8);
  record.writeUInt16LE(entry.method, 10);
  record.writeUInt32LE(entry.dosDateTime, 12);
  record.writeUInt32LE(entry.crc >>> 0, 16);
  record.writeUInt32LE(Math.min(entry.compressedSize, MAX32), 20);
  record.writeUInt32LE(Math.min(entry.size, MAX32), 24);
  record.writeUInt16LE(bytes.length, 28);
  record.writeUInt16LE(extra, 30);
  // comment length, disk number, internal attributes: 0
  record.writeUInt32LE(UNIX_FILE_ATTRS, 38);
  record.writeUInt32LE(Math.min(entry.offset, MAX32), 42);
  bytes.copy(record, 46);
  if (extra > 0) {
    let at = 46 + bytes.length;
    record.writeUInt16LE(0x0001, at);
    record.writeUInt16LE(8 * wide.length, at + 2);
    at += 4;
    for (const value of wide) {
      record.writeBigUInt64LE(BigInt(value), at);
      at += 8;
    }
  }
  return record;
}

/**
 * The end of an archive whose central directory of `count` records and `size` bytes starts at
 * `offset`: a ZIP64 end record and its locator when any of the three does not fit the classic
 * record (count ≥ 65,535, size or offset ≥ 4 GiB), then the classic record, its fields capped.
 */
export function endOfArchive(count: number, size: number, offset: number): Buffer {
  const zip64 = count >= MAX16 || size >= MAX32 || offset >= MAX32;
  const end = Buffer.alloc((zip64 ? 56 + 20 : 0) + 22);
  let at = 0;
  if (zip64) {
    end.writeUInt32LE(SIG_END64, 0);
    end.writeBigUInt64LE(44n, 4);
    end.writeUInt16LE(MADE_BY, 12);
    end.writeUInt16LE(45, 14);
    // this disk and the directory's disk: 0
    end.writeBigUInt64LE(BigInt(count), 24);
    end.writeBigUInt64LE(BigInt(count), 32);
    end.writeBigUInt64LE(BigInt(size), 40);
    end.writeBigUInt64LE(BigInt(offset), 48);
    end.writeUInt32LE(SIG_LOCATOR64, 56);
    end.writeBigUInt64LE(BigInt(offset + size), 64);
    end.writeUInt32LE(1, 72);
    at = 76;
  }
  end.writeUInt32LE(SIG_END, at);
  end.writeUInt16LE(Math.min(count, MAX16), at + 8);
  end.writeUInt16LE(Math.min(count, MAX16), at + 10);
  end.writeUInt32LE(Math.min(size, MAX32), at + 12);
  end.writeUInt32LE(Math.min(offset, MAX32), at + 16);
  return end;
}

/** A file read and deflated ahead of its turn to be written. */
interface Prepared {
  name: string;
  dosDateTime: number;
  size: number;
  /** Deflated (or stored) bytes; absent for a file too large to hold, deflated as a stream when written. */
  body?: { crc: number; method: 0 | 8; data: Buffer };
  path: string;
}

/**
 * A small file is prepared at once (a value: no promise and thread-pool round trip per file,
 * which cost more than deflating it); a larger one as a promise. A failure becomes a rejected
 * promise either way, seen when the file's turn comes.
 */
function prepare(source: ZipSource): Prepared | Promise<Prepared> {
  try {
    return prepareSmall(source) ?? prepareLarge(source);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** A file of at most SYNC_BELOW bytes, prepared in one synchronous step; undefined for a larger one. */
function prepareSmall(source: ZipSource): Prepared | undefined {
  const fd = openSync(source.path, 'r');
  try {
    const stats = fstatSync(fd);
    if (stats.size > SYNC_BELOW) return undefined;
    const data = readFileSync(fd);
    return { name: source.name, path: source.path, dosDateTime: dosDateTime(stats.mtime), size: data.length, body: bodyOf(data, deflateRawSync(data, { level: LEVEL, chunkSize: outputChunkFor(data.length) })) };
  } finally {
    closeSync(fd);
  }
}

function bodyOf(data: Buffer, deflated: Buffer): Prepared['body'] {
  const stored = deflated.length >= data.length;
  return { crc: crc32(data), method: stored ? 0 : 8, data: stored ? data : deflated };
}

async function prepareLarge(source: ZipSource): Promise<Prepared> {
  const handle = await open(source.path, 'r');
  try {
    const stats = await handle.stat();
    const base = { name: source.name, path: source.path, dosDateTime: dosDateTime(stats.mtime), size: stats.size };
    if (stats.size > STREAM_ABOVE) return base;
    const data = await handle.readFile();
    return { ...base, size: data.length, body: bodyOf(data, await deflateRawAsync(data, { level: LEVEL })) };
  } finally {
    await handle.close();
  }
}

/** Writes local entries at increasing positions of an open file (small ones gathered into 1 MiB writes); keeps their records. */
class LocalEntryWriter {
  readonly entries: ZipEntryRecord[] = [];
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  constructor(
    private readonly file: FileHandle,
    private position: number,
    private readonly start: number,
  ) {}

  /** Where the next entry starts (bytes still gathered count as written). */
  get end(): number {
    return this.position + this.pendingBytes;
  }

  private async write(bytes: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < bytes.length) done += (await this.file.write(bytes, done, bytes.length - done, position + done)).bytesWritten;
  }

  /** Writes what was gathered; call before the last record is read. */
  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const bytes = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    const at = this.position;
    this.position += this.pendingBytes;
    this.pendingBytes = 0;
    await this.write(bytes, at);
  }

  /** Gathers bytes; true when 1 MiB or more are gathered (then flush). */
  private gather(bytes: Uint8Array): boolean {
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    return this.pendingBytes >= 1 << 20;
  }

  private async put(bytes: Uint8Array): Promise<void> {
    if (this.gather(bytes)) await this.flush();
  }

  /**
   * Adds a file. One held in memory is gathered synchronously, and the promise (a write) comes
   * only when 1 MiB is gathered: undefined otherwise, so that tiny files cost no promise each.
   */
  add(file: Prepared): Promise<void> | undefined {
    const offset = this.end;
    if (file.body) {
      const entry = { name: file.name, crc: file.body.crc, method: file.body.method, compressedSize: file.body.data.length, size: file.size, dosDateTime: file.dosDateTime };
      this.gather(localHeader(entry, entry.size >= MAX32 || entry.compressedSize >= MAX32));
      const full = this.gather(file.body.data);
      this.entries.push({ ...entry, offset: offset - this.start, localSize: this.end - offset });
      return full ? this.flush() : undefined;
    }
    return this.flush().then(() => this.addStreamed(file, offset));
  }

  /** A large file: deflated as it is read, its header written after (sizes and CRC known only then). */
  private async addStreamed(file: Prepared, offset: number): Promise<void> {
    const zip64 = file.size >= ZIP64_LOCAL_FROM;
    const draft = { name: file.name, crc: 0, method: 8 as const, compressedSize: 0, size: 0, dosDateTime: file.dosDateTime };
    const headerLength = localHeader(draft, zip64).length;
    this.position += headerLength;
    let crc = 0;
    let size = 0;
    const counted = async function* (chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
      for await (const chunk of chunks) {
        crc = crc32(chunk, crc);
        size += chunk.length;
        yield chunk;
      }
    };
    await pipeline(createReadStream(file.path, { highWaterMark: 1 << 20 }), counted, createDeflateRaw({ level: LEVEL }), async (deflated: AsyncIterable<Buffer>) => {
      for await (const chunk of deflated) await this.put(chunk);
    });
    await this.flush();
    const compressedSize = this.position - offset - headerLength;
    if (!zip64 && (size >= MAX32 || compressedSize >= MAX32)) throw new Error('a file grew past 4 GiB while it was zipped');
    const entry = { ...draft, crc, compressedSize, size };
    await this.write(localHeader(entry, zip64), offset);
    this.entries.push({ ...entry, offset: offset - this.start, localSize: this.position - offset });
  }
}

/** How many files are read and deflated ahead of the one being written (zlib deflates on libuv's threads). */
const READ_AHEAD = 2;

/** Writes the local entries of `sources`, in order, into `file` from `position` on; records' offsets count from `start`. */
async function writeLocalEntries(file: FileHandle, sources: readonly ZipSource[], position: number, start: number): Promise<LocalEntryWriter> {
  const writer = new LocalEntryWriter(file, position, start);
  const pending: (Prepared | Promise<Prepared>)[] = [];
  let next = 0;
  const refill = (): void => {
    while (pending.length < READ_AHEAD && next < sources.length) {
      const prepared = prepare(sources[next++]);
      // a failure is seen when its turn comes; until then it must not count as unhandled
      if (prepared instanceof Promise) prepared.catch(() => undefined);
      pending.push(prepared);
    }
  };
  refill();
  while (pending.length > 0) {
    const head = pending.shift() as Prepared | Promise<Prepared>;
    const prepared = head instanceof Promise ? await head : head;
    refill();
    const written = writer.add(prepared);
    if (written) await written;
  }
  await writer.flush();
  return writer;
}

/** Every regular file under `dir` as a zip source named by its '/'-separated relative path, sorted by path. */
export async function zipSourcesUnder(dir: string): Promise<ZipSource[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort()
    .map((path) => ({ path, name: relative(dir, path).split(sep).join('/') }));
}

/**
 * Writes `sources` as a segment: their local entries (headers and data) into `segmentFile` and
 * the segment's index (byte length, central-directory records) into `indexFile`, as JSON.
 * Not atomic: write both into a folder that is renamed into place once complete.
 */
export async function writeZipSegment(sources: readonly ZipSource[], segmentFile: string, indexFile: string): Promise<ZipSegmentIndex> {
  const file = await open(segmentFile, 'w');
  let writer: LocalEntryWriter;
  try {
    writer = await writeLocalEntries(file, sources, 0, 0);
  } finally {
    await file.close();
  }
  const index: ZipSegmentIndex = { bytes: writer.end, entries: writer.entries };
  const rows = index.entries.map((e) => [e.name, e.crc, e.method, e.compressedSize, e.size, e.dosDateTime, e.offset, e.localSize]);
  await writeFile(indexFile, JSON.stringify({ format: SEGMENT_FORMAT, bytes: index.bytes, entries: rows }));
  return index;
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** Reads a segment's index, checking its shape (an index from another version or a truncated file is refused by name). */
export async function readZipSegmentIndex(indexFile: string): Promise<ZipSegmentIndex> {
  const refuse = (why: string): Error => new Error(`${indexFile}: not a zip segment index of this Veil (${why})`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(indexFile, 'utf8'));
  } catch {
    throw refuse('unreadable JSON');
  }
  const raw = parsed as { format?: unknown; bytes?: unknown; entries?: unknown };
  if (typeof parsed !== 'object' || parsed === null || raw.format !== SEGMENT_FORMAT) throw refuse('format');
  if (!isCount(raw.bytes) || !Array.isArray(raw.entries)) throw refuse('bytes or entries');
  const entries = raw.entries.map((row: unknown, i): ZipEntryRecord => {
    if (!Array.isArray(row) || row.length !== 8 || typeof row[0] !== 'string' || !row.slice(1).every(isCount) || (row[2] !== 0 && row[2] !== 8)) throw refuse(`entry ${i + 1}`);
    const [name, crc, method, compressedSize, size, dos, offset, localSize] = row as [string, number, 0 | 8, number, number, number, number, number];
    return { name, crc, method, compressedSize, size, dosDateTime: dos, offset, localSize };
  });
  return { bytes: raw.bytes, entries };
}

/** Writes records to a scratch file as they come (5M entries' directory is ≈ 400 MB: not held in memory). */
class DirectorySpool {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  size = 0;
  count = 0;
  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
  ) {}

  static async create(path: string): Promise<DirectorySpool> {
    return new DirectorySpool(path, await open(path, 'w+'));
  }

  async add(record: Buffer): Promise<void> {
    this.buffered.push(record);
    this.bufferedBytes += record.length;
    this.size += record.length;
    this.count++;
    if (this.bufferedBytes >= 1 << 20) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.bufferedBytes === 0) return;
    await this.file.write(Buffer.concat(this.buffered, this.bufferedBytes));
    this.buffered = [];
    this.bufferedBytes = 0;
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}

/** Copies `length` bytes of `from` starting at `start` to `to` at `position`. */
async function copyRange(from: FileHandle, start: number, length: number, to: FileHandle, position: number, buffer: Buffer): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await from.read(buffer, 0, Math.min(buffer.length, length - done), start + done);
    if (bytesRead === 0) throw new Error('a zip segment is shorter than its index says');
    let written = 0;
    while (written < bytesRead) written += (await to.write(buffer, written, bytesRead - written, position + done + written)).bytesWritten;
    done += bytesRead;
  }
}

/** Writes to a temp file next to `target`, renamed over it once complete; the temp file is removed on failure. */
async function atomically<T>(target: string, write: (file: FileHandle, temp: string) => Promise<T>): Promise<T> {
  const temp = tempPathFor(target);
  const file = await open(temp, 'w');
  try {
    const result = await write(file, temp);
    await file.close();
    await rename(temp, target);
    return result;
  } catch (error) {
    await file.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * Writes the archive `target` (atomically) from segments' entries: each part's bytes are
 * copied as they are (never deflated again), its entries' offsets shifted to where they now
 * start, then the central directory follows in the same order, with ZIP64 records where
 * needed. Parts may come from a generator, so only one segment's index is held at a time.
 */
export async function concatZipSegments(parts: Iterable<ZipPart> | AsyncIterable<ZipPart>, target: string): Promise<number> {
  return atomically(target, async (file, temp) => {
    const spool = await DirectorySpool.create(`${temp}.directory`);
    try {
      const buffer = Buffer.allocUnsafe(COPY_BUFFER);
      let position = 0;
      for await (const part of parts) {
        const first = part.entries[0];
        const last = part.entries.at(-1);
        if (!first || !last) continue;
        const start = first.offset;
        const length = last.offset + last.localSize - start;
        const segment = await open(part.segment, 'r');
        try {
          await copyRange(segment, start, length, file, position, buffer);
        } finally {
          await segment.close();
        }
        for (const entry of part.entries) await spool.add(centralRecord({ ...entry, offset: position + entry.offset - start }));
        position += length;
      }
      await spool.flush();
      const directory = await open(spool.path, 'r');
      try {
        await copyRange(directory, 0, spool.size, file, position, buffer);
      } finally {
        await directory.close();
      }
      const end = endOfArchive(spool.count, spool.size, position);
      await file.write(end, 0, end.length, position + spool.size);
      return spool.count;
    } finally {
      await spool.close();
      await rm(spool.path, { force: true });
    }
  });
}

/**
 * Writes every file under `srcDir` into a zip at `target` (atomically: temp file, then rename),
 * names relative and sorted by path: the archive of one segment, written in place.
 */
export async function zipDirectory(srcDir: string, target: string): Promise<number> {
  const sources = await zipSourcesUnder(srcDir);
  return atomically(target, async (file) => {
    const writer = await writeLocalEntries(file, sources, 0, 0);
    const records = writer.entries.map(centralRecord);
    const size = records.reduce((sum, record) => sum + record.length, 0);
    let position = writer.end;
    for (let at = 0; at < records.length; at += 4096) {
      const batch = Buffer.concat(records.slice(at, at + 4096));
      await file.write(batch, 0, batch.length, position);
      position += batch.length;
    }
    const end = endOfArchive(records.length, size, writer.end);
    await file.write(end, 0, end.length, position);
    return sources.length;
  });
}
