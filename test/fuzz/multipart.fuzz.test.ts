/**
 * Mutated multipart bodies against every multipart route, in process (supertest, real SQLite
 * in a temp data dir; job processes are not started, so accepted jobs stay queued). Every
 * case must answer 2xx or a documented 4xx with the JSON error shape, leave no upload behind,
 * and create a job folder only when a job was accepted.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallCsv, smallPolicyYaml, startTestApi, type TestApi } from '../api/helpers.js';
import { sharedData } from '../helpers.js';
import { fuzzSeed, mutate, NO_PROBLEMS, Prng, problemsOf, Tally, type Outcome } from './fuzz.js';

const SEED = fuzzSeed(1303);
const CASES = 400;

interface Part {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

interface Route {
  method: 'put' | 'post';
  path: string;
  role: 'committee' | 'researcher';
  parts(rng: Prng): Part[];
}

const DICOM = readFileSync(join(sharedData, 'dicom', 'CT_small.dcm'));
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64)]);
const HIERARCHY = Buffer.from('F;*\nM;*\n');

const ROUTES: Route[] = [
  {
    method: 'put',
    path: '/v1/policies/fz-put',
    role: 'committee',
    parts: () => [
      { name: 'policy', filename: 'policy.yaml', contentType: 'application/yaml', data: Buffer.from(smallPolicyYaml('fz-put')) },
      { name: 'hierarchies', filename: 'sex.csv', contentType: 'text/csv', data: HIERARCHY },
    ],
  },
  {
    method: 'post',
    path: '/v1/tabular/jobs',
    role: 'researcher',
    parts: (rng) => [
      { name: 'policy', data: Buffer.from('fz-tab') },
      ...(rng.chance(0.3) ? [{ name: 'overrides', data: Buffer.from(rng.pick(['{"k": 3}', '{"k": 1}', '{"k": "10"}', '[]', '{'])) }] : []),
      { name: 'file', filename: 'input.csv', contentType: 'text/csv', data: Buffer.from(smallCsv(20)) },
    ],
  },
  {
    method: 'post',
    path: '/v1/dicom/jobs',
    role: 'researcher',
    parts: (rng) => [{ name: 'policy', data: Buffer.from('fz-dcm') }, ...Array.from({ length: 1 + rng.int(3) }, (_, i) => ({ name: 'files', filename: `${i}.dcm`, contentType: 'application/dicom', data: DICOM }))],
  },
  {
    method: 'post',
    path: '/v1/image/jobs',
    role: 'researcher',
    parts: () => [
      { name: 'policy', data: Buffer.from('fz-img') },
      { name: 'files', filename: 'a.png', contentType: 'image/png', data: PNG },
    ],
  },
];

function encode(parts: Part[], boundary: string, closing = true): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${part.contentType ? `Content-Type: ${part.contentType}\r\n` : ''}\r\n`), part.data, Buffer.from('\r\n'));
  }
  if (closing) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** A body and content type for one case: well-formed parts broken in one of many ways. */
function nextCase(rng: Prng, route: Route): { body: Buffer; contentType: string; how: string } {
  const boundary = `----fuzz${rng.int(1e9)}`;
  const type = `multipart/form-data; boundary=${boundary}`;
  const parts = route.parts(rng);
  switch (rng.int(14)) {
    case 0:
      return { body: encode(parts, boundary), contentType: 'multipart/form-data', how: 'no boundary parameter' };
    case 1:
      return { body: encode(parts, boundary), contentType: `multipart/form-data; boundary=other${boundary}`, how: 'boundary not in the body' };
    case 2: {
      const body = encode(parts, boundary);
      const cut = rng.int(body.length);
      return { body: body.subarray(0, cut), contentType: type, how: `truncated at ${cut} of ${body.length}` };
    }
    case 3: {
      const garbage = Buffer.alloc(1 + rng.int(4096));
      for (let i = 0; i < garbage.length; i++) garbage[i] = rng.int(256);
      return { body: garbage, contentType: type, how: `${garbage.length} random bytes` };
    }
    case 4: {
      const file = parts.find((p) => p.filename !== undefined);
      if (file) file.filename = rng.pick(['in\u0000put.csv', '../../etc/passwd', '/abs/x.dcm', 'C:\\x\\y.csv', '', '..', 'a'.repeat(5000), '\u202egnp.exe']);
      return { body: encode(parts, boundary), contentType: type, how: `file name ${JSON.stringify(file?.filename?.slice(0, 20))}` };
    }
    case 5: {
      const size = 10_000 + rng.int(200_000);
      const body = Buffer.concat([Buffer.from(`--${boundary}\r\nX-Fuzz: ${'h'.repeat(size)}\r\n`), encode(parts, boundary).subarray(`--${boundary}\r\n`.length)]);
      return { body, contentType: type, how: `header of ${size} bytes` };
    }
    case 6:
      return { body: encode(parts, boundary, false), contentType: type, how: 'no closing boundary' };
    case 7:
      return { body: encode([...parts, ...parts], boundary), contentType: type, how: 'every part twice' };
    case 8:
      return { body: encode([...parts, ...Array.from({ length: 20 + rng.int(200) }, (_, i) => ({ name: `f${i}`, data: Buffer.from('x') }))], boundary), contentType: type, how: 'many text fields' };
    case 9:
      return { body: encode(parts.map((p) => ({ ...p, name: rng.pick(['', 'unknown', 'policy', 'files', 'file', 'hierarchies', 'x"y']) })), boundary), contentType: type, how: 'renamed parts' };
    case 10:
      return { body: encode(parts, boundary), contentType: rng.pick([`multipart/form-data; boundary=""`, `multipart/form-data; boundary=${'b'.repeat(300)}`, 'multipart/mixed; boundary=x', `multipart/form-data; boundary=${boundary}; charset=utf-16`]), how: 'odd content type' };
    case 11:
      return { body: Buffer.alloc(0), contentType: type, how: 'empty body' };
    case 12: {
      const body = encode(parts, boundary).toString('latin1').replace(/\r\n/g, rng.chance(0.5) ? '\n' : '\r');
      return { body: Buffer.from(body, 'latin1'), contentType: type, how: 'bare line ends' };
    }
    default: {
      const { bytes, how } = mutate(rng, encode(parts, boundary));
      return { body: bytes, contentType: type, how };
    }
  }
}

function listOrEmpty(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

describe(`multipart fuzz (seed ${SEED})`, () => {
  const tally = new Tally();
  let server: TestApi;
  let stored = 0;
  // cut-short uploads still in uploads/ when the response arrived (removed within 10 s, else counted as left)
  let lateRemovals = 0;
  let slowestRemovalMs = 0;
  beforeAll(async () => {
    server = await startTestApi({ runner: { concurrency: 0 }, limits: { rateLimitPerMinute: 1_000_000, maxUploadBytes: 4 * 1024 * 1024 }, logLevel: 'silent' });
    const policies: [string, string][] = [
      ['fz-tab', smallPolicyYaml('fz-tab')],
      ['fz-dcm', 'name: fz-dcm\nversion: 1\ndicom: { profile: basic }\n'],
      ['fz-img', 'name: fz-img\nversion: 1\npixels:\n  burnedInText: { scan: always, redact: all }\n'],
    ];
    for (const [name, yaml] of policies) {
      const auth = `Bearer ${server.keys.committee}`;
      const put = await request(server.api.app).put(`/v1/policies/${name}`).set('Authorization', auth).set('Content-Type', 'application/yaml').send(yaml);
      const approve = await request(server.api.app).post(`/v1/policies/${name}/approve`).set('Authorization', auth);
      if (put.status === 201 && approve.status === 200) stored++;
    }
  });
  afterAll(async () => {
    await server.close();
    console.log(`${tally.summary(`multipart seed=${SEED}`)}; approved policies set up: ${stored}/3; uploads removed only after the response: ${lateRemovals} (slowest ${Math.round(slowestRemovalMs)} ms)`);
  });

  it(`${CASES} broken multipart bodies on PUT /v1/policies and POST /v1/{tabular,dicom,image}/jobs: never 500, no upload left`, async () => {
    const rng = new Prng(SEED);
    const jobsDir = join(server.dir, 'jobs');
    for (let n = 0; n < CASES; n++) {
      const route = ROUTES[n % ROUTES.length];
      const { body, contentType, how } = nextCase(rng, route);
      const id = `multipart seed=${SEED} case=${n} (${route.method.toUpperCase()} ${route.path}: ${how})`;
      const jobsBefore = listOrEmpty(jobsDir).length;
      const res = await request(server.api.app)[route.method](route.path).set('Authorization', `Bearer ${server.keys[route.role]}`).set('Content-Type', contentType).send(body);
      const error = (res.body as { error?: { code?: unknown; message?: unknown } }).error;
      let outcome: Outcome;
      if (res.status >= 500) outcome = { kind: 'internal', what: `HTTP ${res.status} ${String(error?.code)}` };
      else if (res.status < 300) outcome = { kind: 'ok' };
      else if (typeof error?.code !== 'string' || typeof error.message !== 'string') outcome = { kind: 'internal', what: `HTTP ${res.status} without the JSON error shape` };
      else outcome = { kind: 'refused', code: error.code };
      tally.record(`${route.method} ${route.path}`, id, outcome);
      // a refused request answers once its files are deleted; under heavy CPU load a rare cut-short
      // upload is still deleted only ≈ 10 s later (counted in lateRemovals): 30 s before calling it left
      let uploads = listOrEmpty(server.api.ctx.layout.uploads);
      if (uploads.length > 0) lateRemovals++;
      const waitStarted = performance.now();
      for (let wait = 0; uploads.length > 0 && wait < 1500; wait++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        uploads = listOrEmpty(server.api.ctx.layout.uploads);
      }
      slowestRemovalMs = Math.max(slowestRemovalMs, performance.now() - waitStarted);
      if (uploads.length > 0) {
        tally.leftover(id, `${uploads.length} upload(s) left in uploads/`);
        for (const name of uploads) rmSync(join(server.api.ctx.layout.uploads, name), { force: true });
      }
      const jobsAfter = listOrEmpty(jobsDir).length;
      if (res.status !== 202 && jobsAfter !== jobsBefore) tally.leftover(id, 'a job folder was left by a refused request');
    }
    expect(problemsOf(tally, 'multipart')).toEqual(NO_PROBLEMS);
  });
});
