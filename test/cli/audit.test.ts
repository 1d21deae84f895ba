import { cpSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createApi } from '../../src/api/server.js';
import { createApiKey } from '../../src/api/keys.js';
import { auditRows, deleteEntries, editActor, editAndRechainWithSha256 } from '../api/auditTamper.js';
import { LogCapture, smallPolicyYaml } from '../api/helpers.js';
import { runCli, tempDir } from '../helpers.js';

const root = tempDir('veil-audit-cli-');
let count = 0;

/** A data dir a real server wrote 6 audit entries into (then stopped). */
async function writeEntries(dir: string): Promise<string> {
  const api = await createApi({ dataDir: dir, logDestination: new LogCapture(), runner: { concurrency: 1 } });
  try {
    const committee = createApiKey(api.ctx.db, 'committee', 'c').key;
    const researcher = createApiKey(api.ctx.db, 'researcher', 'r').key;
    for (const name of ['a', 'b']) {
      await request(api.app).put(`/v1/policies/${name}`).set('Authorization', `Bearer ${committee}`).set('Content-Type', 'application/yaml').send(smallPolicyYaml(name));
      await request(api.app).post(`/v1/policies/${name}/approve`).set('Authorization', `Bearer ${committee}`);
    }
    await request(api.app).get('/v1/audit').set('Authorization', `Bearer ${researcher}`);
    await request(api.app).put('/v1/policies/x').set('Authorization', `Bearer ${researcher}`).set('Content-Type', 'application/yaml').send(smallPolicyYaml('x'));
  } finally {
    await api.close();
  }
  return dir;
}

/** The server writes its entries once; each test gets a copy of that closed data dir to verify or tamper with. */
let template: Promise<string> | undefined;
async function dataDirWithEntries(): Promise<string> {
  const closedDir = await (template ??= writeEntries(join(root, 'template')));
  const dir = join(root, `d${++count}`);
  cpSync(closedDir, dir, { recursive: true });
  expect(auditRows(dir)).toHaveLength(6);
  return dir;
}

const verify = (...args: string[]) => runCli(['audit', 'verify', ...args], { VEIL_AUDIT_KEY: '' });


describe('veil audit verify', () => {
  it('exit 0 with the entry count and head when intact; --json prints the verdict', async () => {
    const dir = await dataDirWithEntries();
    const head = auditRows(dir)[5].hash;
    const text = verify('--data-dir', dir);
    expect(text.stderr).toBe('');
    expect(text.status).toBe(0);
    expect(text.stdout).toBe(`audit log intact: 6 entries, head ${head}\n`);
    const json = verify('--data-dir', dir, '--json');
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ intact: true, entries: 6, firstBroken: null, head, unkeyedThrough: 0 });
  });

  it('exit 4 naming the first bad entry: an edited actor, a deleted middle row, a chain recomputed with SHA-256', async () => {
    const edited = await dataDirWithEntries();
    editActor(edited, 3);
    const a = verify('--data-dir', edited);
    expect(a.status).toBe(4);
    expect(a.stdout).toMatch(/^audit log BROKEN at entry 3: entry 3 was altered/);

    const holed = await dataDirWithEntries();
    deleteEntries(holed, 2);
    const b = verify('--data-dir', holed, '--json');
    expect(b.status).toBe(4);
    expect(JSON.parse(b.stdout)).toMatchObject({ intact: false, entries: 5, firstBroken: 2, problem: 'entry 2 is missing' });

    const rechained = await dataDirWithEntries();
    editAndRechainWithSha256(rechained, 4);
    const c = verify('--data-dir', rechained, '--json');
    expect(c.status).toBe(4);
    expect(JSON.parse(c.stdout)).toMatchObject({ intact: false, firstBroken: 1 });
  });

  it('--expect-head: a deleted tail is exit 4 against the head written down before', async () => {
    const dir = await dataDirWithEntries();
    const written = auditRows(dir)[5].hash;
    expect(verify('--data-dir', dir, '--expect-head', written).status).toBe(0);
    deleteEntries(dir, 6);
    expect(verify('--data-dir', dir).status).toBe(0);
    const cut = verify('--data-dir', dir, '--expect-head', written);
    expect(cut.status).toBe(4);
    expect(cut.stdout).toMatch(/^audit log BROKEN: the head written down earlier is not in the log/);
  });

  it('exit 2 with one line for bad input: no such data dir, no database, no key, a malformed head', async () => {
    const expectBadInput = (args: string[], pattern: RegExp, env: NodeJS.ProcessEnv = { VEIL_AUDIT_KEY: '' }) => {
      const result = runCli(['audit', 'verify', ...args], env);
      expect(result.status).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(pattern);
    };
    expectBadInput(['--data-dir', join(root, 'nope')], /nope: --data-dir: no such data dir/);
    const empty = join(root, 'empty');
    mkdirSync(empty);
    expectBadInput(['--data-dir', empty], /veil\.sqlite: the data dir has no database/);
    const dir = await dataDirWithEntries();
    expectBadInput(['--data-dir', dir, '--expect-head', 'abc'], /--expect-head: expects a head hash/);
    rmSync(join(dir, 'secrets', 'audit.key'));
    expectBadInput(['--data-dir', dir], /audit\.key: no audit key: set VEIL_AUDIT_KEY/);
    // another key is not a bad input: the log does not verify under it
    const otherKey = runCli(['audit', 'verify', '--data-dir', dir], { VEIL_AUDIT_KEY: 'some-other-key-0123456789' });
    expect(otherKey.status).toBe(4);
    expect(otherKey.stdout).toMatch(/or it is not the key the log was written with/);
  });
});
