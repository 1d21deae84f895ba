/** Why a file could not be read, in the words a user acts on (never a value from the file). */
const READ_PROBLEMS: Readonly<Record<string, string>> = {
  ENOENT: 'not found',
  EACCES: 'not permitted (check the file permissions)',
  EPERM: 'not permitted (check the file permissions)',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'a part of the path is a file, not a folder',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the path is too long',
  EMFILE: 'too many open files',
};

export function readProblem(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  return (code && READ_PROBLEMS[code]) ?? `cannot be read${code ? ` (${code})` : ''}`;
}
