import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readSync, closeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import multer from 'multer';
import type { ApiContext } from './context.js';
import { isDiskFull, type DiskAccess } from './disk.js';
import { ApiError } from './errors.js';

/**
 * Errors of the multipart parser (busboy: no boundary, unexpected end of form, malformed
 * part header, a NUL in a header; a file stream closed early) are the body's fault: 400.
 * Multer's own errors (limits) and system errors of the server's disk (ENOSPC…, they carry
 * a `syscall`) keep their meaning.
 */
export function asMultipartError(error: unknown): unknown {
  if (error instanceof ApiError) return error;
  if (typeof error === 'object' && error !== null && ((error as { name?: unknown }).name === 'MulterError' || 'syscall' in error || isDiskFull(error))) return error;
  return new ApiError(400, 'BAD_MULTIPART', 'the multipart/form-data body could not be read (missing boundary, truncated or malformed)');
}

/** A file the storage opened for a request: `stop` ends its write, `settled` once its sink is closed (and a failed one deleted). */
interface WrittenFile {
  path: string;
  stop: () => void;
  settled: Promise<void>;
}

/**
 * Every file the storage opened for a request, kept until the request is gone (a WeakMap):
 * a refused request answers only once each of them is closed and deleted, whatever multer
 * did with it (a part that completed after the parser failed is removed by multer without
 * waiting, so the refusal deletes it too instead of trusting that removal).
 */
const writtenFiles = new WeakMap<Request, WrittenFile[]>();

/**
 * Requests already refused: multer may still hand a part it had begun to the storage after the
 * parser failed (its file filter runs first); such a part is drained, never written.
 */
const refused = new WeakSet<Request>();

/** Multer storage: each file under a random name in `dir`, written through the context's disk edge. */
function randomNameStorage(dir: string, disk: DiskAccess): multer.StorageEngine {
  return {
    _handleFile(req, file, callback) {
      if (refused.has(req)) {
        file.stream.resume();
        callback(new ApiError(400, 'BAD_MULTIPART', 'the multipart/form-data body could not be read'));
        return;
      }
      const filename = randomBytes(16).toString('hex');
      const path = join(dir, filename);
      let size = 0;
      file.stream.on('data', (chunk: Buffer) => (size += chunk.length));
      const sink = disk.createWriteStream(path);
      // closed: no write can follow (a sink destroyed before its open completes still opens, then closes)
      const closed = finished(sink).then(noop, noop);
      const written = pipeline(file.stream, sink).then(
        () => callback(null, { destination: dir, filename, path, size }),
        // the file is deleted only once the sink has closed, so a late open cannot leave it behind
        (error: unknown) => closed.then(() => rm(path, { force: true })).finally(() => callback(error)),
      );
      const files = writtenFiles.get(req) ?? [];
      writtenFiles.set(req, files);
      files.push({ path, stop: () => void sink.destroy(), settled: Promise.all([written.then(noop, noop), closed]).then(noop) });
    },
    _removeFile(_req, file, callback) {
      rm(file.path, { force: true }).then(() => callback(null), callback);
    },
  };
}

function noop(): void {}

/** Stops the files of a refused request that are still being written, waits until they are closed, and deletes every file it wrote. */
async function removeWritten(req: Request): Promise<void> {
  const files = writtenFiles.get(req) ?? [];
  for (const file of files) file.stop();
  await Promise.all(files.map((file) => file.settled));
  await Promise.all(files.map((file) => rm(file.path, { force: true })));
}

/**
 * Multipart uploads of job inputs go to <data>/uploads under random names (the client's
 * file name is never used as a path), then move into the job's input directory.
 */
export function jobUpload(ctx: ApiContext, fileFields: { name: string; maxCount: number }[]): RequestHandler {
  mkdirSync(ctx.layout.uploads, { recursive: true });
  const handler = multer({
    storage: randomNameStorage(ctx.layout.uploads, ctx.disk),
    limits: { fileSize: ctx.limits.maxUploadBytes, files: ctx.limits.maxFiles, fields: 10, fieldSize: 64 * 1024, parts: ctx.limits.maxFiles + 10 },
  }).fields(fileFields);
  return async (req: Request, res: Response, next: NextFunction) => {
    if (!req.is('multipart/form-data')) return next(new ApiError(400, 'UNSUPPORTED_MEDIA_TYPE', 'send the job as multipart/form-data'));
    const declared = Number(req.get('content-length') ?? '0');
    // refuse early what cannot fit, instead of receiving it first (multipart overhead allowed)
    if (declared > ctx.limits.maxUploadBytes + 1024 * 1024) {
      res.set('Connection', 'close');
      return next(new ApiError(413, 'PAYLOAD_TOO_LARGE', `the upload exceeds the limit of ${ctx.limits.maxUploadBytes} bytes`));
    }
    if (declared > 0 && declared > (await freeBytesOrInfinity(ctx))) {
      res.set('Connection', 'close');
      return next(new ApiError(507, 'DISK_FULL', 'the upload is larger than the free space of this server; retry later or ask the operator to free space'));
    }
    handler(req, res, (error: unknown) => {
      if (error) {
        refused.add(req);
        void Promise.all([removeUploads(req), removeWritten(req)]).finally(() => next(asMultipartError(error)));
        return;
      }
      next();
    });
  };
}

/** Free bytes where uploads land; a probe that fails does not refuse anything (writes still fail cleanly with ENOSPC). */
async function freeBytesOrInfinity(ctx: ApiContext): Promise<number> {
  try {
    return await ctx.disk.freeBytes(ctx.layout.uploads);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** Every file multer stored for this request. */
export function uploadedFiles(req: Request): Express.Multer.File[] {
  const files = req.files;
  if (!files) return [];
  if (Array.isArray(files)) return files;
  return Object.values(files).flat();
}

export async function removeUploads(req: Request): Promise<void> {
  await Promise.all(uploadedFiles(req).map((file) => (file.path ? rm(file.path, { force: true }) : Promise.resolve())));
}

/** First bytes of a file, for format sniffing. */
export function readHead(path: string, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, 0);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

export function isZip(head: Buffer): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

/** File extension for an image job input, from its magic bytes; undefined when not PNG/JPEG/TIFF. */
export function imageExtension(head: Buffer): '.png' | '.jpg' | '.tif' | undefined {
  if (head.length >= 4 && (head.subarray(0, 4).equals(Buffer.from('II*\0', 'latin1')) || head.subarray(0, 4).equals(Buffer.from('MM\0*', 'latin1')))) return '.tif';
  if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return '.png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return '.jpg';
  return undefined;
}
