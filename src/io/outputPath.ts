import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { VeilError } from '../errors.js';

/** What a command writes at a path: one file, a folder of files, or either (decided later). */
export type OutputKind = 'file' | 'folder' | 'either';

/**
 * Checks, before any work is done, that an output can be created where it was asked for:
 * the path is not the wrong kind of thing, and the nearest folder that exists on the way
 * to it is a folder Veil may write into. Without this check a report path under a
 * regular file failed only at the end, after the main output had been written.
 */
export async function checkOutputPath(path: string, field: string, kind: OutputKind = 'file'): Promise<void> {
  const target = resolve(path);
  const existing = await stat(target).catch(() => undefined);
  if (existing?.isDirectory() && kind === 'file') throw new VeilError('USAGE', 'is a folder; expected the path of a file to write', { file: path, field });
  if (existing && !existing.isDirectory() && kind === 'folder') throw new VeilError('USAGE', 'is a file; expected a folder to write into', { file: path, field });
  let ancestor = existing?.isDirectory() ? target : dirname(target);
  for (;;) {
    const info = await stat(ancestor).catch(() => undefined);
    if (info) {
      if (!info.isDirectory()) throw new VeilError('USAGE', `cannot be created: ${ancestor} is a file, not a folder`, { file: path, field });
      break;
    }
    const parent = dirname(ancestor);
    if (parent === ancestor) break;
    ancestor = parent;
  }
  try {
    await access(ancestor, constants.W_OK);
  } catch {
    throw new VeilError('USAGE', `cannot be written: no permission to write in ${ancestor}`, { file: path, field });
  }
}

/**
 * Checks every output a command was given (undefined entries are options not used), and that
 * none of them is one of the files the command reads (`inputs`: the policy, a key file, a
 * CSV…): writing there would destroy what the run was made from.
 */
export async function checkOutputPaths(
  outputs: readonly { path: string | undefined; field: string; kind?: OutputKind }[],
  inputs: readonly { path: string | undefined; what: string }[] = [],
): Promise<void> {
  for (const { path, field } of outputs) {
    const read = path === undefined ? undefined : inputs.find((input) => input.path !== undefined && resolve(input.path) === resolve(path));
    if (read) throw new VeilError('USAGE', `is ${read.what}, which this run reads: inputs are never overwritten`, { file: path, field });
  }
  for (const { path, field, kind } of outputs) if (path !== undefined) await checkOutputPath(path, field, kind);
}
