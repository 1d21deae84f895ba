import { VeilError } from '../../errors.js';

/** The Redis that BullMQ keeps the jobs in, from `--queue redis://[user:password@]host:port[/db]`. */
export interface QueueConnection {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  /** rediss:// — TLS to Redis. */
  tls?: Record<string, never>;
}

/** One queue holds every step of every job; any worker takes any step. */
export const QUEUE_NAME = 'veil-jobs';

/** Parses the --queue URL; a bad one is a usage error that never echoes the password. */
export function parseQueueUrl(text: string, field = '--queue'): QueueConnection {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new VeilError('USAGE', `${field} expects a URL such as redis://127.0.0.1:6379`, { field });
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new VeilError('USAGE', `${field} expects a redis:// or rediss:// URL`, { field });
  if (!url.hostname) throw new VeilError('USAGE', `${field} names no host`, { field });
  const port = url.port ? Number(url.port) : 6379;
  const dbText = url.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d{1,2}$/.test(dbText)) throw new VeilError('USAGE', `${field}: the path is a Redis database number (0–99)`, { field });
  const connection: QueueConnection = { host: url.hostname.replace(/^\[|\]$/g, ''), port };
  if (url.username) connection.username = decodeURIComponent(url.username);
  if (url.password) connection.password = decodeURIComponent(url.password);
  if (dbText !== '') connection.db = Number(dbText);
  if (url.protocol === 'rediss:') connection.tls = {};
  return connection;
}
