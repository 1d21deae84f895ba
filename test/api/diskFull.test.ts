import { createWriteStream, readdirSync } from 'node:fs';
import { statfs, writeFile } from 'node:fs/promises';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISK_FULL_FAILURE, isDiskFull, realDisk, type DiskAccess } from '../../src/api/disk.js';
import { toErrorResponse } from '../../src/api/errors.js';
import { insertJob, markFailed, markRunning } from '../../src/api/jobStore.js';
import { getPolicyVersion } from '../../src/api/policyStore.js';
import { describeFailure } from '../../src/api/worker.js';
import { smallCsv, smallPolicyYaml, startTestApi, type TestApi } from './helpers.js';

/**
 * Issue 13 item 6: out of space is its own error (507 DISK_FULL), a refusal stays a refusal,
 * and /healthz says when the data dir runs short. The full disk is real where the kernel
 * gives one unprivileged (/dev/full answers every write with ENOSPC) and injected at the
 * edge (the free-space probe) where it does not.
 */
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

/** A real ENOSPC error object, as Node raises it. */
async function realEnospc(): Promise<unknown> {
  return writeFile('/dev/full', 'x').then(
    () => {
      throw new Error('/dev/full accepted a write');
    },
    (error: unknown) => error,
  );
}

/** The real disk, except that upload writes go to /dev/full and the probe answers `freeBytes`. */
function fullDisk(freeBytes: number, writesFail = true): DiskAccess {
  return {
    freeBytes: () => Promise.resolve(freeBytes),
    createWriteStream: (path) => (writesFail ? createWriteStream('/dev/full') : realDisk.createWriteStream(path)),
  };
}

async function approvedPolicy(t: TestApi, name: string): Promise<void> {
  const put = await request(t.api.app).put(`/v1/policies/${name}`).set(bearer(t.keys.committee)).set('Content-Type', 'application/yaml').send(smallPolicyYaml(name));
  expect(put.status).toBe(201);
  expect((await request(t.api.app).post(`/v1/policies/${name}/approve`).set(bearer(t.keys.committee))).status).toBe(200);
}

describe('a real ENOSPC is DISK_FULL everywhere', () => {
  it('is recognized, answers 507 DISK_FULL, and fails a job with DISK_FULL instead of INTERNAL', async () => {
    const error = await realEnospc();
    expect(isDiskFull(error)).toBe(true);
    expect(isDiskFull(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }))).toBe(true);
    expect(isDiskFull(new Error('Unexpected end of form'))).toBe(false);
    const response = toErrorResponse(error);
    expect(response.status).toBe(507);
    expect(response.body.error.code).toBe('DISK_FULL');
    expect(response.internal).toBe(false);
    expect(describeFailure(error, { policyDir: '/nowhere', input: '/nowhere' })).toEqual(DISK_FULL_FAILURE);
  });
});

describe('uploads on a full disk', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi({ disk: fullDisk(Number.MAX_SAFE_INTEGER) });
    await approvedPolicy(t, 'full');
  });
  afterAll(async () => {
    await t.close();
  });

  it('a write that hits ENOSPC while receiving is 507 DISK_FULL, with nothing left behind and no job', async () => {
    for (const [path, field] of [
      ['/v1/tabular/jobs', 'file'],
      ['/v1/image/jobs', 'files'],
    ] as const) {
      const res = await request(t.api.app).post(path).set(bearer(t.keys.researcher)).field('policy', 'full').attach(field, Buffer.from(smallCsv(200)), 'input.csv');
      expect(res.status).toBe(507);
      expect(res.body.error.code).toBe('DISK_FULL');
    }
    expect(readdirSync(t.api.ctx.layout.uploads)).toEqual([]);
    expect((await request(t.api.app).get('/v1/jobs').set(bearer(t.keys.researcher))).body.jobs).toEqual([]);
    expect(t.logs.text).toContain('out of disk space');
  });

  it('an upload declared larger than the free space is refused before it is read', async () => {
    const u = await startTestApi({ disk: fullDisk(1000, false) });
    try {
      await approvedPolicy(u, 'small');
      const res = await request(u.api.app).post('/v1/tabular/jobs').set(bearer(u.keys.researcher)).field('policy', 'small').attach('file', Buffer.from(smallCsv(200)), 'input.csv');
      expect(res.status).toBe(507);
      expect(res.body.error.code).toBe('DISK_FULL');
      expect(readdirSync(u.api.ctx.layout.uploads)).toEqual([]);
    } finally {
      await u.close();
    }
  });
});

describe('a job that ran out of space', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi();
    await approvedPolicy(t, 'jobfull');
  });
  afterAll(async () => {
    await t.close();
  });

  it('shows failed with DISK_FULL on its status route, and its result and report answer 507', async () => {
    const version = getPolicyVersion(t.api.ctx.db, 'jobfull');
    if (!version) throw new Error('policy missing');
    const ownerKeyId = t.api.ctx.db.prepare("SELECT id FROM api_keys WHERE name = 'researcher-1'").pluck().get() as string;
    const id = 'd'.repeat(32);
    // the runner's own record of the failure, as a worker that met ENOSPC reports it
    insertJob(t.api.ctx.db, { id, kind: 'tabular', ownerKeyId, policyVersionId: version.id, overrides: null, inputCount: 1 });
    markRunning(t.api.ctx.db, id);
    markFailed(t.api.ctx.db, id, describeFailure(await realEnospc(), { policyDir: '/nowhere', input: '/nowhere' }));
    const status = await request(t.api.app).get(`/v1/jobs/${id}`).set(bearer(t.keys.researcher));
    expect(status.body.status).toBe('failed');
    expect(status.body.error.code).toBe('DISK_FULL');
    for (const route of ['result', 'report']) {
      const res = await request(t.api.app).get(`/v1/jobs/${id}/${route}`).set(bearer(t.keys.researcher));
      expect(res.status).toBe(507);
      expect(res.body.error.code).toBe('DISK_FULL');
    }
  });
});

describe('a refusal whose audit entry cannot be written', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi();
    const put = await request(t.api.app).put('/v1/policies/unapproved').set(bearer(t.keys.committee)).set('Content-Type', 'application/yaml').send(smallPolicyYaml('unapproved'));
    expect(put.status).toBe(201);
    // from here on, every audit write fails as it would on a full database
    t.api.ctx.db.exec("CREATE TRIGGER audit_full BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
  });
  afterAll(async () => {
    await t.close();
  });

  it('stays 403 FORBIDDEN (wrong role) and 409 POLICY_NOT_APPROVED, and the log names the failure, nothing else', async () => {
    const forbidden = await request(t.api.app).get('/v1/audit').set(bearer(t.keys.researcher));
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('FORBIDDEN');
    const refused = await request(t.api.app).post('/v1/tabular/jobs').set(bearer(t.keys.researcher)).field('policy', 'unapproved').attach('file', Buffer.from(smallCsv(20)), 'input.csv');
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('POLICY_NOT_APPROVED');
    const lines = t.logs.text.split('\n').filter((line) => line.includes('audit entry of a refusal could not be written'));
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).toContain('SQLITE_CONSTRAINT_TRIGGER');
      expect(line).not.toContain('disk is full');
    }
  });
});

describe('/healthz and free space', () => {
  it('answers ok (200) with the free bytes of the data dir when above the threshold', async () => {
    const t = await startTestApi({ limits: { minFreeBytes: 1 } });
    try {
      const res = await request(t.api.app).get('/healthz');
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('ok');
      const stats = await statfs(t.dir);
      // the real probe: within 1 GiB of what statfs says a moment later
      expect(Math.abs(res.body.freeBytes - stats.bavail * stats.bsize)).toBeLessThan(1024 ** 3);
      expect(res.body.minFreeBytes).toBe(1);
    } finally {
      await t.close();
    }
  });

  it('answers degraded (503) with the free bytes when below the threshold', async () => {
    const t = await startTestApi({ disk: fullDisk(4096, false), limits: { minFreeBytes: 1024 * 1024 } });
    try {
      const res = await request(t.api.app).get('/healthz');
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ status: 'degraded', freeBytes: 4096, minFreeBytes: 1024 * 1024 });
    } finally {
      await t.close();
    }
  });
});
