import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VeilError } from '../errors.js';

/**
 * One server per data dir: two would both recover and run the same queued jobs. The lock is a
 * PID file; a file left by a killed server names a dead process and is taken over.
 */
export function acquireDataDirLock(dataDir: string): () => void {
  const file = join(dataDir, 'server.pid');
  if (heldHere.has(file)) throw new VeilError('USAGE', 'this process already serves this data dir', { file: dataDir, field: '--data-dir' });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      heldHere.add(file);
      return () => {
        heldHere.delete(file);
        rmSync(file, { force: true });
      };
    } catch (error) {
      if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) throw error;
    }
    const holder = Number(readFileSync(file, 'utf8').trim());
    // our own PID in the file is a leftover (a restarted container often gets the same PID)
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
      throw new VeilError('USAGE', `another veil serve (pid ${holder}) is using this data dir`, { file: dataDir, field: '--data-dir' });
    }
    rmSync(file, { force: true });
  }
  throw new VeilError('USAGE', 'cannot lock the data dir', { file: dataDir, field: '--data-dir' });
}

/** Lock files this process holds. */
const heldHere = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else
    return error instanceof Error && 'code' in error && error.code === 'EPERM';
  }
}
