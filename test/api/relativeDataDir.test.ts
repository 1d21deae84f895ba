import { relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, smallCsv, smallPolicyYaml, sleep, tempDir } from './helpers.js';
import { api, createKeyWithCli, startServerProcess, type ServerProcess } from './serverProcess.js';

/**
 * `veil serve` with a relative --data-dir (its default, ./veil-data, is one): results are
 * files sent from the data dir, and Express sends only absolute paths. Every other test
 * starts the server on an absolute temp dir, which hid this.
 */
let server: ServerProcess;
let scratch: { dir: string; cleanup(): void };
let keys: { committee: string; researcher: string };

beforeAll(async () => {
  scratch = tempDir('veil-reldir-');
  keys = { committee: createKeyWithCli(scratch.dir, 'committee', 'chair'), researcher: createKeyWithCli(scratch.dir, 'researcher', 'ana') };
  // the server runs in the repository folder: hand it the same folder as a relative path
  server = await startServerProcess(relative(REPO_ROOT, scratch.dir));
});
afterAll(async () => {
  await server?.stop();
  scratch?.cleanup();
});

describe('a relative data dir', () => {
  it('serves the result of a finished job', async () => {
    const form = new FormData();
    form.append('policy', new Blob([smallPolicyYaml('rel')], { type: 'application/yaml' }), 'rel.yaml');
    expect((await api(server.base, keys.committee, '/v1/policies/rel', { method: 'PUT', body: form })).status).toBe(201);
    expect((await api(server.base, keys.committee, '/v1/policies/rel/approve', { method: 'POST' })).status).toBe(200);
    const job = new FormData();
    job.append('policy', 'rel');
    job.append('file', new Blob([smallCsv()], { type: 'text/csv' }), 'small.csv');
    const submitted = await api<{ id: string }>(server.base, keys.researcher, '/v1/tabular/jobs', { method: 'POST', body: job });
    expect(submitted.status).toBe(202);
    const guard = Date.now() + 60_000;
    for (;;) {
      const state = await api<{ status: string }>(server.base, keys.researcher, `/v1/jobs/${submitted.body.id}`);
      if (state.body.status === 'done' || state.body.status === 'failed') {
        expect(state.body.status).toBe('done');
        break;
      }
      if (Date.now() > guard) throw new Error('job did not finish');
      await sleep(50);
    }
    const result = await api(server.base, keys.researcher, `/v1/jobs/${submitted.body.id}/result`);
    expect(result.status).toBe(200);
    const lines = result.text.trim().split('\n');
    expect(lines[0]).toBe('name,age,sex,diagnosis');
    expect(lines).toHaveLength(41);
  });
});
