/**
 * What an image run does before and after its images, without the text and face engines
 * (redactImages.ts loads onnxruntime and the models' code) nor sharp: the queue's image plan
 * step uses these alone (the merge step these and sharp, for the review thumbnails).
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join, relative } from 'node:path';
import { VeilError } from '../errors.js';
import type { ImageRunReport } from '../report/imageReport.js';

export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.png', '.jpg', '.jpeg', '.tif', '.tiff']);

export function isImagePath(path: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(path).toLowerCase());
}

export interface Job {
  input: string;
  output: string;
  relative: string;
}

/**
 * The run fails when no image could be read (or there was none): the same rule for the CLI
 * (exit 2) and the API (job failed). Some unreadable files among readable ones are not fatal;
 * they are listed in the report with their reason.
 */
export function noUsableImage(report: ImageRunReport): VeilError | undefined {
  const { files, errors } = report.totals;
  if (files === 0) return new VeilError('NO_USABLE_INPUT', 'the input holds no PNG, JPEG or TIFF image');
  if (errors < files) return undefined;
  const first = report.files.find((f) => f.status === 'error');
  return new VeilError('NO_USABLE_INPUT', `none of the ${files} image(s) could be read (first: ${first?.error?.message ?? 'unknown'}); the report lists each file's reason`, { file: first?.file });
}

/** Input → output pairs. A folder input needs a folder output; inputs are never overwritten. */
export async function planJobs(input: string, output: string): Promise<Job[]> {
  const info = await stat(input).catch(() => undefined);
  if (!info) throw new VeilError('FILE_NOT_FOUND', 'the input does not exist', { field: '--in' });
  if (input === output) throw new VeilError('USAGE', 'the output must differ from the input (inputs are never modified)', { field: '--out' });
  if (info.isFile()) {
    if (!isImagePath(input)) throw new VeilError('IMAGE_INVALID', 'expected a .png, .jpg, .jpeg, .tif or .tiff file', { file: input });
    const outInfo = await stat(output).catch(() => undefined);
    const target = outInfo?.isDirectory() ? join(output, basename(input)) : output;
    return [{ input, output: target, relative: basename(input) }];
  }
  const outInfo = await stat(output).catch(() => undefined);
  if (outInfo && !outInfo.isDirectory()) throw new VeilError('USAGE', 'the input is a folder, so the output must be a folder too', { field: '--out' });
  const files = (await walk(input)).filter(isImagePath).sort();
  const inside = relative(input, output);
  return files
    .filter((file) => inside === '' || inside.startsWith('..') || !file.startsWith(output))
    .map((file) => ({ input: file, output: join(output, relative(input, file)), relative: relative(input, file) }));
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map(async (entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return walk(path);
      return entry.isFile() && !entry.name.startsWith('.') ? [path] : [];
    }),
  );
  return nested.flat();
}
