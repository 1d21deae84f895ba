import { describe, expect, it } from 'vitest';
import { ApiError, statusForCode, toErrorResponse } from '../../src/api/errors.js';
import { VeilError } from '../../src/errors.js';

describe('toErrorResponse', () => {
  it('maps API and library errors to their status, keeping code and field', () => {
    expect(toErrorResponse(new ApiError(409, 'POLICY_NOT_APPROVED', 'not approved', 'policy'))).toEqual({
      status: 409,
      body: { error: { code: 'POLICY_NOT_APPROVED', message: 'not approved', field: 'policy' } },
      internal: false,
    });
    const unsatisfiable = toErrorResponse(new VeilError('POLICY_UNSATISFIABLE', 'k too large', { field: 'tabular.privacy.k' }));
    expect(unsatisfiable.status).toBe(422);
    expect(unsatisfiable.body.error.field).toBe('tabular.privacy.k');
    const invalid = toErrorResponse(new VeilError('CSV_INVALID', 'bad row', { file: '/secret/path/in.csv', line: 7 }));
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.message).toBe('line 7: bad row');
  });

  it('turns multer and body-parser errors into 413 and 400', () => {
    const multer = Object.assign(new Error('File too large'), { name: 'MulterError', code: 'LIMIT_FILE_SIZE', field: 'file' });
    expect(toErrorResponse(multer)).toMatchObject({ status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE', field: 'file' } } });
    const unexpected = Object.assign(new Error('Unexpected field'), { name: 'MulterError', code: 'LIMIT_UNEXPECTED_FILE', field: 'other' });
    expect(toErrorResponse(unexpected)).toMatchObject({ status: 400, body: { error: { code: 'UNEXPECTED_FIELD', field: 'other' } } });
    expect(toErrorResponse(Object.assign(new Error('too large'), { status: 413, type: 'entity.too.large' })).status).toBe(413);
    expect(toErrorResponse(Object.assign(new Error('bad'), { status: 400, type: 'entity.parse.failed' })).body.error.code).toBe('BAD_JSON');
  });

  it('hides unknown errors behind a generic 500 without their message', () => {
    const response = toErrorResponse(new Error('value Doe^John broke something'));
    expect(response.status).toBe(500);
    expect(response.internal).toBe(true);
    expect(JSON.stringify(response.body)).not.toContain('Doe');
  });

  it('gives job failure codes their HTTP status', () => {
    expect(statusForCode('POLICY_UNSATISFIABLE')).toBe(422);
    expect(statusForCode('COLUMN_UNKNOWN')).toBe(400);
    for (const code of ['INTERNAL', 'INTERRUPTED', 'JOB_TIMEOUT', 'WORKER_CRASHED']) expect(statusForCode(code)).toBe(500);
  });
});

describe('describeFailure (job errors shown to clients)', () => {
  it('names files relative to the stored policy or the upload, never by server path', async () => {
    const { describeFailure } = await import('../../src/api/worker.js');
    const spec = { policyDir: '/data/policies/abc', input: '/data/jobs/j1/input/input.csv' };
    const hierarchy = describeFailure(new VeilError('HIERARCHY_INVALID', 'a leaf is missing', { file: '/data/policies/abc/h/age.csv', line: 3, field: 'tabular.quasiIdentifiers.1.hierarchy' }), spec);
    expect(hierarchy).toEqual({ code: 'HIERARCHY_INVALID', message: 'h/age.csv:3: a leaf is missing', field: 'tabular.quasiIdentifiers.1.hierarchy' });
    const csv = describeFailure(new VeilError('CSV_INVALID', 'a row has too many cells', { file: '/data/jobs/j1/input/input.csv', line: 12 }), spec);
    expect(csv.message).toBe('upload:12: a row has too many cells');
    const elsewhere = describeFailure(new VeilError('FILE_NOT_FOUND', 'cannot read', { file: '/etc/other' }), spec);
    expect(elsewhere.message).toBe('other: cannot read');
    expect(describeFailure(new TypeError('x is undefined at value Doe'), spec)).toEqual({ code: 'INTERNAL', message: 'the job failed with an internal error' });
  });
});
