import { opendir } from 'node:fs/promises';
import { join, relative } from 'node:path';

/**
 * Every regular file under `root`, depth first, names sorted per folder (stable order
 * between runs), without loading the whole listing: a directory of 100,000 files streams.
 * `exclude` is a folder that is never entered (the output folder when it lies inside).
 */
export async function* walkFiles(root: string, exclude?: string): AsyncGenerator<{ path: string; relative: string }> {
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    if (exclude && dir === exclude) continue;
    const names: { name: string; isDir: boolean; isFile: boolean }[] = [];
    for await (const entry of await opendir(dir)) {
      if (entry.name.startsWith('.veil-tmp-')) continue;
      names.push({ name: entry.name, isDir: entry.isDirectory(), isFile: entry.isFile() });
    }
    names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirs: string[] = [];
    for (const entry of names) {
      const path = join(dir, entry.name);
      if (entry.isDir) subdirs.push(path);
      else if (entry.isFile) yield { path, relative: relative(root, path) };
    }
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]);
  }
}
