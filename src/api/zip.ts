import { closeSync, createReadStream, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { Unzip, UnzipInflate, Zip, ZipDeflate, type UnzipFile } from 'fflate';
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

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** Writes every file under `srcDir` into a zip at `target` (atomically: temp file, then rename). */
export async function zipDirectory(srcDir: string, target: string): Promise<number> {
  const files = await listFiles(srcDir);
  const temp = tempPathFor(target);
  const fd = openSync(temp, 'w');
  try {
    await new Promise<void>((resolve, reject) => {
      const archive = new Zip((error, chunk, final) => {
        if (error) return reject(error);
        writeSync(fd, chunk);
        if (final) resolve();
      });
      try {
        for (const file of files) {
          const entry = new ZipDeflate(relative(srcDir, file).split(sep).join('/'), { level: 6 });
          archive.add(entry);
          entry.push(readFileSync(file), true);
        }
        archive.end();
      } catch (error) {
        reject(error instanceof Error ? error : new Error('zip failed'));
      }
    });
    closeSync(fd);
    await rename(temp, target);
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    await rm(temp, { force: true });
    throw error;
  }
  return files.length;
}
