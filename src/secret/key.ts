import { readFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { VeilError } from '../errors.js';

/**
 * The pseudonymization key. It comes from the environment (VEIL_SECRET) or a key file,
 * never from a policy, so that approving a policy never reveals it.
 */
export interface SecretSource {
  env?: NodeJS.ProcessEnv;
  keyFile?: string;
}

const MIN_SECRET_BYTES = 16;

export function loadSecret(source: SecretSource = {}): Buffer {
  const env = source.env ?? process.env;
  let raw: string | undefined;
  let origin = 'VEIL_SECRET';
  if (source.keyFile) {
    origin = source.keyFile;
    try {
      raw = readFileSync(source.keyFile, 'utf8').trim();
    } catch {
      throw new VeilError('SECRET_MISSING', 'cannot read the key file', { file: source.keyFile });
    }
  } else if (env.VEIL_SECRET_FILE) {
    origin = env.VEIL_SECRET_FILE;
    try {
      raw = readFileSync(env.VEIL_SECRET_FILE, 'utf8').trim();
    } catch {
      throw new VeilError('SECRET_MISSING', 'cannot read the key file named by VEIL_SECRET_FILE', { file: env.VEIL_SECRET_FILE });
    }
  } else {
    raw = env.VEIL_SECRET;
  }
  if (!raw) throw secretMissingError();
  const key = Buffer.from(raw, 'utf8');
  if (key.length < MIN_SECRET_BYTES) {
    throw new VeilError('SECRET_MISSING', `the key from ${origin} is shorter than ${MIN_SECRET_BYTES} bytes`);
  }
  return key;
}

/**
 * The error when no key was given. The engines raise it too when a caller passes none, so a
 * library user sees what the CLI user sees; only the edges (CLI, API worker) read the key.
 */
export function secretMissingError(): VeilError {
  return new VeilError('SECRET_MISSING', 'a pseudonymization key is needed: set VEIL_SECRET (at least 16 characters) or pass --key-file');
}

/** Keyed one-way digest: the same (key, purpose, value) always gives the same bytes. */
export function keyedDigest(key: Uint8Array, purpose: string, value: string): Buffer {
  return createHmac('sha256', key).update(purpose).update('\0').update(value).digest();
}
