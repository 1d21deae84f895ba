import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { getPolicyVersion } from '../../src/api/policyStore.js';
import { smallCsv, smallPolicyYaml, startTestApi, type TestApi } from './helpers.js';
import { waitForJob } from './jobsHelpers.js';

let t: TestApi | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

/** The sample's 40 people, and 360 more of the same ages and sexes: a population 10 times the sample. */
function populationCsv(): string {
  const lines = ['age,sex'];
  for (let copy = 0; copy < 10; copy++) for (let i = 0; i < 40; i++) lines.push(`${20 + (i % 30)},${i % 2 === 0 ? 'F' : 'M'}`);
  return `${lines.join('\n')}\n`;
}

describe('a policy whose risk models read a population table, through the API', () => {
  it('the table travels with the policy, is stored beside it, is not read as a hierarchy, and the job measures journalist risk against it', async () => {
    t = await startTestApi();
    const yaml = smallPolicyYaml('population', 2).replace('  privacy:', '  risk: { population: people/population.csv }\n  privacy:');
    const stored = await request(t.api.app)
      .put('/v1/policies/population')
      .set(bearer(t.keys.committee))
      .field('policy', yaml)
      .attach('hierarchies', Buffer.from(populationCsv()), 'population.csv');
    expect(stored.status).toBe(201);
    const version = getPolicyVersion(t.api.ctx.db, 'population');
    expect(version?.hierarchies.map((h) => h.path)).toEqual(['people/population.csv']);
    expect((await request(t.api.app).post('/v1/policies/population/approve').set(bearer(t.keys.committee))).status).toBe(200);

    const submitted = await request(t.api.app).post('/v1/tabular/jobs').set(bearer(t.keys.researcher)).field('policy', 'population').attach('file', Buffer.from(smallCsv()), 'cohort.csv');
    expect(submitted.status).toBe(202);
    const job = await waitForJob(t.api.app, t.keys.researcher, submitted.body.id as string);
    expect(job.status).toBe('done');
    const report = await request(t.api.app).get(`/v1/jobs/${job.id}/report`).set(bearer(t.keys.auditor));
    expect(report.status).toBe(200);
    const models = report.body.risk.models;
    expect(models.population).toMatchObject({ basis: 'table', size: 400 });
    // every published class is matched by 10 times as many people in the population
    expect(models.after.journalist.highest).toBeLessThanOrEqual(models.after.prosecutor.highest / 10 + 1e-9);
  });

  it('a policy naming a population table that was not uploaded is refused at PUT', async () => {
    t = await startTestApi();
    const yaml = smallPolicyYaml('nopop', 2).replace('  privacy:', '  risk: { population: population.csv }\n  privacy:');
    const res = await request(t.api.app).put('/v1/policies/nopop').set(bearer(t.keys.committee)).field('policy', yaml);
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe('tabular.risk.population');
  });
});
