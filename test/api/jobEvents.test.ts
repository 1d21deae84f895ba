import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallCsv, smallPolicyYaml, startTestApi, type TestApi } from './helpers.js';

let t: TestApi;
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

beforeAll(async () => {
  process.env.VEIL_SECRET ??= 'events-test-secret-0123456789';
  t = await startTestApi();
  const put = await request(t.api.app).put('/v1/policies/small').set(bearer(t.keys.committee)).set('Content-Type', 'application/yaml').send(smallPolicyYaml('small'));
  expect(put.status).toBe(201);
  expect((await request(t.api.app).post('/v1/policies/small/approve').set(bearer(t.keys.committee)).send({})).status).toBe(200);
});
afterAll(async () => {
  await t.close();
});

/** The `data` of each `event: job` of a server-sent event stream. */
function jobEvents(text: string): { status: string; progress: number }[] {
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('event: job\n'))
    .map((block) => JSON.parse(block.slice(block.indexOf('data: ') + 'data: '.length)) as { status: string; progress: number });
}

describe('GET /v1/jobs/:id/events', () => {
  it('streams the job as it changes and ends when it is done', async () => {
    const job = await request(t.api.app).post('/v1/tabular/jobs').set(bearer(t.keys.researcher)).field('policy', 'small').attach('file', Buffer.from(smallCsv()), 'c.csv');
    expect(job.status).toBe(202);
    const res = await request(t.api.app)
      .get(`/v1/jobs/${job.body.id as string}/events`)
      .set(bearer(t.keys.researcher))
      .buffer(true)
      .parse((stream, callback) => {
        let text = '';
        stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        stream.on('end', () => callback(null, text));
      });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = jobEvents(res.body as string);
    expect(events.length).toBeGreaterThan(0);
    expect(events[events.length - 1]).toMatchObject({ status: 'done', progress: 1 });
    // each event differs from the one before (sent on change only)
    for (let i = 1; i < events.length; i++) expect(JSON.stringify(events[i])).not.toBe(JSON.stringify(events[i - 1]));
  });

  it('is 404 for a job the key may not see', async () => {
    const job = await request(t.api.app).post('/v1/tabular/jobs').set(bearer(t.keys.researcher)).field('policy', 'small').attach('file', Buffer.from(smallCsv()), 'c.csv');
    const res = await request(t.api.app).get(`/v1/jobs/${job.body.id as string}/events`).set(bearer(t.keys.researcher2));
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
  });
});
