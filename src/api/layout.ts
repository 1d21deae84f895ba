import { join, resolve } from 'node:path';

/**
 * Where things live in the data dir. Every path below is built from server-made ids
 * (random hex, database row ids): nothing a client sends becomes a path.
 */
export interface DataLayout {
  root: string;
  uploads: string;
  policyDir(dirToken: string): string;
  /** The approved policy text of a version. */
  policyText(dirToken: string): string;
  /** Where a version's hierarchy files are: their own folder, never beside policy.yaml (see POLICY_STORAGE). */
  policyHierarchies(dirToken: string, storage: number): string;
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
    policyText: (token) => join(root, 'policies', safeToken(token), 'policy.yaml'),
    policyHierarchies: (token, storage) => (storage >= POLICY_STORAGE ? join(root, 'policies', safeToken(token), 'hierarchies') : join(root, 'policies', safeToken(token))),
    jobDir: (id) => join(root, 'jobs', safeToken(id)),
    jobInput: (id) => join(root, 'jobs', safeToken(id), 'input'),
    jobWork: (id) => join(root, 'jobs', safeToken(id), 'work'),
    jobOut: (id) => join(root, 'jobs', safeToken(id), 'out'),
  };
}

/**
 * How a policy version's files are laid out. 1: hierarchy files beside policy.yaml, where an
 * upload named policy.yaml could replace the approved text. 2 (current): the policy text at
 * <token>/policy.yaml and uploaded hierarchies under <token>/hierarchies/, two name spaces.
 */
export const POLICY_STORAGE = 2;

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
