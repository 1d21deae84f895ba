import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallCsv, smallPolicyYaml, startTestApi, type TestApi } from './helpers.js';

/**
 * Issue 13 item 4: a multipart body that cannot be parsed is the client's fault. Every
 * multipart route answers 400 BAD_MULTIPART with the JSON error shape, never 500.
 */
let t: TestApi;
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const BOUNDARY = 'veilTestBoundary7MA4YWxkTrZu0gW';

function part(name: string, content: string, filename?: string): string {
  const disposition = filename === undefined ? `form-data; name="${name}"` : `form-data; name="${name}"; filename="${filename}"`;
  return `--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\n${filename === undefined ? '' : 'Content-Type: application/octet-stream\r\n'}\r\n${content}\r\n`;
}

interface Route {
  method: 'put' | 'post';
  path: string;
  role: 'committee' | 'researcher';
  /** A well-formed body of this route, its file named `filename`. */
  body(filename: string): string;
}

const PNG_HEAD = '\x89PNG\r\n\x1a\n';
const ROUTES: Route[] = [
  { method: 'put', path: '/v1/policies/mp', role: 'committee', body: (f) => part('policy', smallPolicyYaml('mp'), f) + part('hierarchies', 'a;b\n', 'h.csv') },
  { method: 'post', path: '/v1/tabular/jobs', role: 'researcher', body: (f) => part('policy', 'mp') + part('file', smallCsv(10), f) },
  { method: 'post', path: '/v1/dicom/jobs', role: 'researcher', body: (f) => part('policy', 'mp') + part('files', 'DICM', f) },
  { method: 'post', path: '/v1/image/jobs', role: 'researcher', body: (f) => part('policy', 'mp') + part('files', PNG_HEAD, f) },
];

const CASES: { name: string; contentType: string; body(route: Route): Buffer }[] = [
  { name: 'no boundary', contentType: 'multipart/form-data', body: (r) => Buffer.from(`${r.body('input.csv')}--${BOUNDARY}--\r\n`) },
  { name: 'truncated body', contentType: `multipart/form-data; boundary=${BOUNDARY}`, body: (r) => Buffer.from(r.body('input.csv').slice(0, -20)) },
  { name: 'garbage body', contentType: `multipart/form-data; boundary=${BOUNDARY}`, body: () => Buffer.from('\x00\xff garbage that is no multipart at all \r\n\r\n--x--', 'latin1') },
  { name: 'NUL in a file name', contentType: `multipart/form-data; boundary=${BOUNDARY}`, body: (r) => Buffer.from(`${r.body('in\u0000put.csv')}--${BOUNDARY}--\r\n`) },
];

beforeAll(async () => {
  t = await startTestApi();
  const put = await request(t.api.app).put('/v1/policies/mp').set(bearer(t.keys.committee)).set('Content-Type', 'application/yaml').send(smallPolicyYaml('mp'));
  expect(put.status).toBe(201);
  await request(t.api.app).post('/v1/policies/mp/approve').set(bearer(t.keys.committee));
});
afterAll(async () => {
  await t.close();
});

describe('malformed multipart bodies (issue 13, item 4)', () => {
  for (const route of ROUTES) {
    for (const c of CASES) {
      it(`${route.method.toUpperCase()} ${route.path}: ${c.name} → 400 BAD_MULTIPART`, async () => {
        const res = await request(t.api.app)[route.method](route.path).set(bearer(t.keys[route.role])).set('Content-Type', c.contentType).send(c.body(route));
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('BAD_MULTIPART');
        expect(typeof res.body.error.message).toBe('string');
      });
    }
  }

  it('leaves no upload behind', async () => {
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(t.api.ctx.layout.uploads)).toEqual([]);
  });
});
