import { VeilError } from '../../errors.js';
import type { Destination } from './dimse.js';

/** AE titles are 1–16 characters of the default repertoire, no backslash (PS3.5 6.2). */
const AE_TITLE = /^[\x20-\x5b\x5d-\x7e]{1,16}$/;

export function parseAeTitle(text: string, field: string): string {
  const title = text.trim();
  if (!AE_TITLE.test(title)) throw new VeilError('USAGE', 'expected an AE title of 1 to 16 characters (no backslash)', { field });
  return title;
}

/** `AE@host:port` (the receiver's AE title, host and DICOM port). */
export function parseDestination(text: string, callingAeTitle: string, field = '--forward'): Destination {
  const match = /^([^@]+)@(.+):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : 0;
  if (!match || port < 1 || port > 65535) throw new VeilError('USAGE', 'expected AE@host:port, e.g. RESEARCH@10.0.0.5:104', { field });
  return { aeTitle: parseAeTitle(match[1], field), host: match[2].replace(/^\[(.*)\]$/, '$1'), port, callingAeTitle };
}

export function parsePort(text: string, field = '--port'): number {
  const port = /^\d{1,5}$/.test(text.trim()) ? Number(text) : -1;
  if (port < 0 || port > 65535) throw new VeilError('USAGE', 'expected a TCP port from 0 to 65535', { field });
  return port;
}

export function parseSeconds(text: string, field: string): number {
  const value = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isFinite(value)) throw new VeilError('USAGE', 'expected a number of seconds', { field });
  return value;
}

/** A whole number from 0 to 100,000 (a count of instances). */
export function parseCount(text: string, field: string): number {
  const value = /^\d{1,6}$/.test(text.trim()) ? Number(text) : -1;
  if (value < 0 || value > 100_000) throw new VeilError('USAGE', 'expected a whole number from 0 to 100000', { field });
  return value;
}
