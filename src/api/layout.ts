import { join, resolve } from 'node:path';

/**
 * Where things live in the data dir. Every path below is built from server-made ids
 * (random hex, database row ids): nothing a client sends becomes a path.
 */
export interface DataLayout {
  root: string;
  uploads: string;
  policyDir(dirToken: string): string;
  jobDir(jobId: string): string;
  jobInput(jobId: string): string;
  jobWork(jobId: string): string;
  jobOut(jobId: string): string;
}

export function dataLayout(dataDir: string): DataLayout {
  // Absolute, so that files can be sent (Express's sendFile refuses a relative path) whatever
  // --data-dir was given: the default ./veil-data is relative.
  const root = resolve(dataDir);
  return {
    root,
    uploads: join(root, 'uploads'),
    policyDir: (token) => join(root, 'policies', safeToken(token)),
    jobDir: (id) => join(root, 'jobs', safeToken(id)),
    jobInput: (id) => join(root, 'jobs', safeToken(id), 'input'),
    jobWork: (id) => join(root, 'jobs', safeToken(id), 'work'),
    jobOut: (id) => join(root, 'jobs', safeToken(id), 'out'),
  };
}

/** Defence in depth: ids are generated as hex, so anything else is a bug. */
function safeToken(token: string): string {
  if (!/^[a-f0-9]{8,64}$/.test(token)) throw new Error('invalid storage token');
  return token;
}

/** Names of the files a finished job leaves in its out/ directory. */
export const OUTPUT_FILES = {
  tabularResult: 'result.csv',
  archiveResult: 'result.zip',
  reportJson: 'report.json',
  reportHtml: 'report.html',
} as const;
