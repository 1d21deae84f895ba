import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every regular file under `root`, depth first, names sorted per folder (stable order
 * between runs), one folder listed at a time: a tree of 100,000 files streams folder by folder.
 * `exclude` is a folder that is never entered (the output folder when it lies inside).
 * Synchronous: an asynchronous directory iterator cost a promise per entry (≈ 0.1 ms per file
 * on the main thread), and a folder's names are all read to be sorted anyway.
 */
export function* walkFilesSync(root: string, exclude?: string): Generator<{ path: string; relative: string }> {
  const stack: { dir: string; relative: string }[] = [{ dir: root, relative: '' }];
  while (stack.length > 0) {
    const { dir, relative } = stack.pop() as { dir: string; relative: string };
    if (exclude && dir === exclude) continue;
    const names: { name: string; isDir: boolean; isFile: boolean }[] = [];
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.veil-tmp-')) continue;
      names.push({ name: entry.name, isDir: entry.isDirectory(), isFile: entry.isFile() });
    }
    names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirs: { dir: string; relative: string }[] = [];
    for (const entry of names) {
      // the relative path is built, not derived (path.relative per file is not free)
      const rel = relative === '' ? entry.name : join(relative, entry.name);
      if (entry.isDir) subdirs.push({ dir: join(dir, entry.name), relative: rel });
      else if (entry.isFile) yield { path: join(dir, entry.name), relative: rel };
    }
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]);
  }
}

/** walkFilesSync for `for await` callers. */
export async function* walkFiles(root: string, exclude?: string): AsyncGenerator<{ path: string; relative: string }> {
  yield* walkFilesSync(root, exclude);
}
