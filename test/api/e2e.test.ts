import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADULT_DIR, ADULT_QIS, adultHierarchyFiles, adultPolicyYaml, sleep, tempDir } from './helpers.js';
import { parseSimpleCsv, smallestClass, type JobBody } from './jobsHelpers.js';
import { api, createKeyWithCli, startServerProcess, type ServerProcess } from './serverProcess.js';

/**
 * The scripted run of the issue, on loopback against a real `veil serve` process: keys from
 * the CLI, PUT and approve the Adult policy with its ARX hierarchies, submit adult.csv as a
 * researcher, poll to done, download result and report, and check k on the result ourselves.
 */
let server: ServerProcess;
let scratch: { dir: string; cleanup(): void };
let keys: { committee: string; researcher: string; auditor: string };

beforeAll(async () => {
  scratch = tempDir('veil-e2e-');
  keys = {
    committee: createKeyWithCli(scratch.dir, 'committee', 'chair'),
    researcher: createKeyWithCli(scratch.dir, 'researcher', 'ana'),
    auditor: createKeyWithCli(scratch.dir, 'auditor', 'otto'),
  };
  server = await startServerProcess(scratch.dir);
});
afterAll(async () => {
  await server?.stop();
  scratch?.cleanup();
});

describe('end to end on loopback', () => {
  it('anonymizes Adult under an approved policy to a k-anonymous result', async () => {
    const health = await fetch(`${server.base}/healthz`);
    expect(await health.json()).toMatchObject({ status: 'ok', freeBytes: expect.any(Number) });

    const yaml = adultPolicyYaml('adult-k5', 5);
    const form = new FormData();
    form.append('policy', new Blob([yaml], { type: 'application/yaml' }), 'adult.yaml');
    // the whole ARX folder as is, including a hierarchy the policy does not name
    const files = [...adultHierarchyFiles(), { name: 'adult_hierarchy_salary-class.csv', path: `${ADULT_DIR}/adult_hierarchy_salary-class.csv` }];
    for (const file of files) form.append('hierarchies', new Blob([readFileSync(file.path)]), file.name);
    const put = await api<{ version: number; sha256: string; approved: boolean }>(server.base, keys.committee, '/v1/policies/adult-k5', { method: 'PUT', body: form });
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({ version: 1, approved: false, sha256: createHash('sha256').update(yaml).digest('hex'), ignoredUploads: 1 });

    const approved = await api(server.base, keys.committee, '/v1/policies/adult-k5/approve', { method: 'POST' });
    expect(approved.status).toBe(200);

    const csvBytes = readFileSync(`${ADULT_DIR}/adult.csv`);
    const job = new FormData();
    job.append('policy', 'adult-k5');
    job.append('file', new Blob([csvBytes], { type: 'text/csv' }), 'adult.csv');
    const submitted = await api<{ id: string; status: string }>(server.base, keys.researcher, '/v1/tabular/jobs', { method: 'POST', body: job });
    expect(submitted.status).toBe(202);
    expect(submitted.body.status).toBe('queued');

    let state: JobBody;
    const progress: number[] = [];
    const guard = Date.now() + 180_000;
    for (;;) {
      state = (await api<JobBody>(server.base, keys.researcher, `/v1/jobs/${submitted.body.id}`)).body;
      progress.push(state.progress);
      if (state.status === 'done' || state.status === 'failed') break;
      if (Date.now() > guard) throw new Error('job did not finish');
      await sleep(100);
    }
    expect(state.error).toBeUndefined();
    expect(state.status).toBe('done');
    expect(progress.every((p, i) => i === 0 || p >= progress[i - 1])).toBe(true);

    const result = await api(server.base, keys.researcher, `/v1/jobs/${submitted.body.id}/result`);
    expect(result.status).toBe(200);
    const input = parseSimpleCsv(csvBytes.toString('utf8'));
    const output = parseSimpleCsv(result.text);
    expect(output.header).toEqual(input.header);
    expect(output.rows).toHaveLength(30_162);
    // our own evaluator: every equivalence class over the 8 QIs has ≥ 5 records
    const classes = smallestClass(output, ADULT_QIS);
    expect(classes.min).toBeGreaterThanOrEqual(5);
    expect(classes.suppressed).toBeLessThanOrEqual(Math.floor(0.02 * 30_162));
    // the sensitive column is unchanged, row by row
    const salary = input.header.indexOf('salary-class');
    expect(output.rows.every((row, i) => row[salary] === input.rows[i][salary])).toBe(true);

    const report = await api<{ privacy: { k: { required: number; achieved: number } }; policy: { name: string; version: number; sha256: string } }>(
      server.base,
      keys.auditor,
      `/v1/jobs/${submitted.body.id}/report`,
    );
    expect(report.status).toBe(200);
    expect(report.body.privacy.k.required).toBe(5);
    expect(report.body.privacy.k.achieved).toBeGreaterThanOrEqual(5);
    expect(report.body.privacy.k.achieved).toBe(classes.min);
    expect(report.body.policy).toEqual({ name: 'adult-k5', version: 1, sha256: put.body.sha256 });
    const html = await api(server.base, keys.researcher, `/v1/jobs/${submitted.body.id}/report?format=html`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);

    const audit = await api<{ entries: { action: string; actor: string; policy: { version: number } | null }[] }>(server.base, keys.auditor, '/v1/audit');
    const actions = audit.body.entries.map((e) => e.action);
    expect(actions.filter((a) => a === 'key.create')).toHaveLength(3);
    expect(actions).toEqual(expect.arrayContaining(['policy.put', 'policy.approve', 'job.submit', 'job.done', 'result.download', 'report.read']));
    expect(audit.body.entries.find((e) => e.action === 'job.submit')?.actor).toMatch(/^ana \(/);
  }, 300_000);
});
