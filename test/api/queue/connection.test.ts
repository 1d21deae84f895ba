import { describe, expect, it } from 'vitest';
import { isVeilError } from '../../../src/errors.js';
import { parseQueueUrl } from '../../../src/api/queue/connection.js';
import { decodeFailure, encodeFailure, stepJobId, veilJobIdOf } from '../../../src/api/queue/steps.js';

describe('--queue URL', () => {
  it('reads host, port, credentials, database and TLS', () => {
    expect(parseQueueUrl('redis://127.0.0.1:6380')).toEqual({ host: '127.0.0.1', port: 6380 });
    expect(parseQueueUrl('redis://redis.internal')).toEqual({ host: 'redis.internal', port: 6379 });
    expect(parseQueueUrl('rediss://veil:s%3Acret@[::1]:7000/3')).toEqual({ host: '::1', port: 7000, username: 'veil', password: 's:cret', db: 3, tls: {} });
  });

  it('refuses what is not a Redis URL, naming the flag and never the password', () => {
    for (const bad of ['localhost:6379', 'http://h:1', 'redis://h:1/x', 'redis://user:hunter2@h:1/abc']) {
      const error = (() => {
        try {
          parseQueueUrl(bad);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(isVeilError(error) && error.code).toBe('USAGE');
      expect(isVeilError(error) && error.location.field).toBe('--queue');
      expect(String((error as Error).message)).not.toContain('hunter2');
    }
  });
});

describe('step ids and failures', () => {
  it('derives step ids from the job and finds the job again', () => {
    const job = 'a'.repeat(32);
    expect(stepJobId(job, 'dicom-chunk', 3)).toBe(`${job}-dicom-chunk-3`);
    expect(veilJobIdOf(stepJobId(job, 'dicom-merge'))).toBe(job);
    expect(veilJobIdOf('12')).toBeUndefined();
  });

  it('carries a client-safe error through BullMQ and nothing else', () => {
    const error = { code: 'POLICY_UNSATISFIABLE', message: 'no partition meets k', field: 'privacy.k' };
    expect(decodeFailure(encodeFailure(error))).toEqual(error);
    expect(decodeFailure('job stalled more than allowable limit')).toBeUndefined();
    expect(decodeFailure(undefined)).toBeUndefined();
  });
});
