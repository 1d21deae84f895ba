import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { keyedDigest } from '../../secret/key.js';
import { tempPathFor } from '../../io/atomic.js';

/**
 * The listener's spool on disk. Nothing is acknowledged to a sender before it is here, and
 * nothing leaves it before it was forwarded (or written) or quarantined:
 *
 *   incoming/<segment>/<instance key>.dcm     received, not yet released; a segment is
 *                                             `<study key>-<n>`, one part of a study
 *                                             (`<study key>` alone in spools of earlier versions)
 *   batches/<batch id>/in/…                   a released segment, being de-identified
 *   batches/<batch id>/out/…                  its de-identified files (re-made on restart)
 *   batches/<batch id>/sent/<file>            one marker per delivered file
 *
 * Keys are keyed digests of the UIDs: file names carry no UID of the input.
 */
export class Spool {
  readonly incoming: string;
  readonly batches: string;

  constructor(readonly root: string, private readonly secret: Uint8Array) {
    this.incoming = join(root, 'incoming');
    this.batches = join(root, 'batches');
    mkdirSync(this.incoming, { recursive: true });
    mkdirSync(this.batches, { recursive: true });
  }

  studyKey(studyUid: string): string {
    return keyedDigest(this.secret, 'veil-listen-study', studyUid).toString('hex').slice(0, KEY_CHARS);
  }

  instanceKey(sopInstanceUid: string): string {
    return keyedDigest(this.secret, 'veil-listen-instance', sopInstanceUid).toString('hex').slice(0, KEY_CHARS);
  }

  /**
   * Writes a received instance durably (temp file, fsync, rename, fsync of the folder) without
   * blocking the event loop; instances received at once on several associations share the
   * folder's fsync. Resolves once the instance survives a power cut.
   */
  async store(segment: string, instanceKey: string, chunks: readonly Uint8Array[]): Promise<void> {
    // the segment's folder is made once, not checked by a system call per instance
    const folder = join(this.incoming, segment);
    if (!this.folders.has(folder)) {
      await mkdir(folder, { recursive: true });
      this.folders.add(folder);
    }
    return writeDurableAsync(join(folder, `${instanceKey}.dcm`), chunks, false);
  }

  /** Segment folders known to exist in incoming/ (forgotten when the segment is released). */
  private readonly folders = new Set<string>();

  /** Segments waiting in incoming/ (after a restart: those received before it). */
  openStudies(): string[] {
    return listDir(this.incoming);
  }

  /**
   * Moves a segment out of incoming/ into a new batch (one rename; the study's later instances
   * go into another segment and a later batch).
   */
  async release(segment: string, batch: string): Promise<void> {
    this.folders.delete(join(this.incoming, segment));
    // off the event loop: a folder fsync can take tens of milliseconds on a busy disk, and
    // every association's receipt would wait for it
    await mkdir(batch, { recursive: true });
    // an empty sent.log made now is made durable by the folder's fsync below: no fsync of its
    // own when the first delivered name is appended (one fewer per batch)
    await (await open(join(batch, SENT_LOG), 'a')).close();
    await rename(join(this.incoming, segment), join(batch, 'in'));
    await fsyncFolder(batch);
  }

  /** The folder of a new batch made of a segment (ids sort by release time). */
  batchFor(segment: string, now: number): string {
    return join(this.batches, `${now.toString().padStart(14, '0')}-${segment}`);
  }

  /** Batches left by an earlier run (oldest first); a batch whose release did not finish is dropped. */
  pendingBatches(): string[] {
    const out: string[] = [];
    for (const id of listDir(this.batches).sort()) {
      const batch = join(this.batches, id);
      if (existsSync(join(batch, 'in'))) out.push(batch);
      else rmSync(batch, { recursive: true, force: true });
    }
    return out;
  }

  /** Removes temp files of writes that never completed (never acknowledged to anyone). */
  dropPartialWrites(): number {
    let dropped = 0;
    for (const study of listDir(this.incoming)) {
      for (const name of listDir(join(this.incoming, study))) {
        if (name.startsWith('.veil-tmp-')) {
          rmSync(join(this.incoming, study, name), { force: true });
          dropped++;
        }
      }
    }
    return dropped;
  }
}

export function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** Write, fsync, rename, fsync the folder: once this returns, the bytes survive a power cut. */
export function writeDurable(target: string, chunks: readonly Uint8Array[]): void {
  mkdirSync(dirname(target), { recursive: true });
  const temp = tempPathFor(target);
  const fd = openSync(temp, 'w');
  try {
    for (const chunk of chunks) {
      let offset = 0;
      while (offset < chunk.length) offset += writeSync(fd, chunk, offset, chunk.length - offset);
    }
    fsyncSync(fd);
    closeSync(fd);
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(temp, { force: true });
    throw error;
  }
  renameSync(temp, target);
  fsyncDir(dirname(target));
}

const SENT_LOG = 'sent.log';
/** Hex characters of a study or instance key. */
const KEY_CHARS = 32;

/** The folder in incoming/ of the `n`th segment of a study: `<study key>-<n>`. */
export function segmentFolder(studyKey: string, n: number): string {
  return `${studyKey}-${n.toString(36)}`;
}

/** The study key of a segment folder (in spools of earlier versions, the folder is the key alone). */
export function studyOfSegment(folder: string): string {
  return folder.slice(0, KEY_CHARS);
}

function fsyncDir(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** writeDurable without blocking the event loop; the folder's fsync is shared by concurrent writers. */
export async function writeDurableAsync(target: string, chunks: readonly Uint8Array[], makeFolder = true): Promise<void> {
  const dir = dirname(target);
  if (makeFolder) await mkdir(dir, { recursive: true });
  const temp = tempPathFor(target);
  const handle = await open(temp, 'w');
  try {
    await handle.writev([...chunks]);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temp, target);
  await syncDir(dir);
}

/**
 * Group commit of folder fsyncs: a caller whose rename happened while a sync of the folder was
 * already running waits for the next one (which sees its rename); callers arriving meanwhile
 * share that next one.
 */
const dirSyncs = new Map<string, { running?: Promise<void>; next?: Promise<void> }>();

function syncDir(dir: string): Promise<void> {
  const state = dirSyncs.get(dir) ?? {};
  dirSyncs.set(dir, state);
  if (state.next) return state.next;
  if (!state.running) {
    state.running = fsyncFolder(dir).finally(() => {
      state.running = undefined;
      if (!state.next) dirSyncs.delete(dir);
    });
    return state.running;
  }
  state.next = state.running
    .catch(() => undefined)
    .then(() => {
      state.next = undefined;
      return syncDir(dir);
    });
  return state.next;
}

async function fsyncFolder(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Which de-identified files of a batch were delivered: one name per line in `sent.log`,
 * appended after the receiver confirmed each file and fsynced in groups (one fsync for the
 * files confirmed while the previous one ran). Also reads the one-file-per-marker `sent/`
 * folder of spools written by earlier versions.
 */
export class SentLog {
  private readonly file: string;
  private readonly names: Set<string>;
  private queue: string[] = [];
  private flushing: Promise<void> | undefined;
  private created: boolean;

  constructor(private readonly batch: string) {
    this.file = join(batch, SENT_LOG);
    this.created = existsSync(this.file);
    const logged = this.created ? readFileSync(this.file, 'utf8').split('\n').filter((l) => l !== '') : [];
    this.names = new Set([...logged, ...listDir(join(batch, 'sent'))]);
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  /** Records a delivered file; durable once `flush()` resolves (or the next group's fsync). */
  add(name: string): void {
    this.names.add(name);
    this.queue.push(name);
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
  }

  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const names = this.queue.splice(0);
      const handle = await open(this.file, 'a');
      try {
        await handle.write(`${names.join('\n')}\n`);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      if (!this.created) {
        await syncDir(this.batch);
        this.created = true;
      }
    }
  }
}
