import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { keyedDigest } from '../../secret/key.js';
import { tempPathFor } from '../../io/atomic.js';

/**
 * The listener's spool on disk. Nothing is acknowledged to a sender before it is here, and
 * nothing leaves it before it was forwarded (or written) or quarantined:
 *
 *   incoming/<study key>/<instance key>.dcm   received, study still open
 *   batches/<batch id>/in/…                   a released study, being de-identified
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
    return keyedDigest(this.secret, 'veil-listen-study', studyUid).toString('hex').slice(0, 32);
  }

  instanceKey(sopInstanceUid: string): string {
    return keyedDigest(this.secret, 'veil-listen-instance', sopInstanceUid).toString('hex').slice(0, 32);
  }

  /** Writes a received instance durably (temp file, fsync, rename, fsync of the folder). */
  store(studyKey: string, instanceKey: string, chunks: readonly Uint8Array[]): void {
    writeDurable(join(this.incoming, studyKey, `${instanceKey}.dcm`), chunks);
  }

  /** Studies waiting in incoming/ (after a restart: those received before it). */
  openStudies(): string[] {
    return listDir(this.incoming);
  }

  /**
   * Moves a study out of incoming/ into a new batch (one rename: an instance of the same study
   * that arrives afterwards starts a new incoming folder and a later batch).
   */
  release(studyKey: string, now: number): string {
    const id = `${now.toString().padStart(14, '0')}-${studyKey}`;
    const batch = join(this.batches, id);
    mkdirSync(batch, { recursive: true });
    renameSync(join(this.incoming, studyKey), join(batch, 'in'));
    fsyncDir(batch);
    return batch;
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

function fsyncDir(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
