import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { strToU8, unzipSync, zipSync } from 'fflate';
import sharp from 'sharp';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startTestApi, type TestApi } from './helpers.js';
import { waitForJob } from './jobsHelpers.js';

const DICOM_DIR = resolve(REPO_ROOT, '../shared/data/dicom');
let t: TestApi;
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

async function storeApproved(name: string, yaml: string): Promise<void> {
  const put = await request(t.api.app).put(`/v1/policies/${name}`).set(bearer(t.keys.committee)).set('Content-Type', 'application/yaml').send(yaml);
  expect(put.status).toBe(201);
  expect((await request(t.api.app).post(`/v1/policies/${name}/approve`).set(bearer(t.keys.committee))).status).toBe(200);
}

/** Binary response bodies as a Buffer. */
function binary(res: request.Response, callback: (error: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('end', () => callback(null, Buffer.concat(chunks)));
}

beforeAll(async () => {
  process.env.VEIL_SECRET ??= 'files-test-secret-0123456789';
  t = await startTestApi();
  await storeApproved('ct', 'name: ct\nversion: 1\ndicom: { profile: basic }\n');
  await storeApproved('img', 'name: img\nversion: 1\npixels:\n  burnedInText: { scan: always, redact: all }\n');
});
afterAll(async () => {
  await t.close();
});

describe('DICOM jobs', () => {
  it('de-identifies uploaded files and returns a zip without the original patient name', async () => {
    const ct = readFileSync(join(DICOM_DIR, 'CT_small.dcm'));
    expect(ct.includes(Buffer.from('CompressedSamples^CT1'))).toBe(true);
    expectForbidden(await request(t.api.app).post('/v1/dicom/jobs').set(bearer(t.keys.committee)).field('policy', 'ct').attach('files', ct, 'CT_small.dcm'));
    const res = await request(t.api.app)
      .post('/v1/dicom/jobs')
      .set(bearer(t.keys.researcher))
      .field('policy', 'ct')
      .attach('files', ct, 'Doe^John CT.dcm')
      .attach('files', readFileSync(join(DICOM_DIR, 'MR_small.dcm')), 'MR_small.dcm');
    expect(res.status).toBe(202);
    const job = await waitForJob(t.api.app, t.keys.researcher, res.body.id as string);
    expect(job.error).toBeUndefined();
    expect(job.status).toBe('done');
    const result = await request(t.api.app).get(`/v1/jobs/${job.id}/result`).set(bearer(t.keys.researcher)).buffer(true).parse(binary);
    expect(result.status).toBe(200);
    expect(result.headers['content-type']).toBe('application/zip');
    const entries = unzipSync(new Uint8Array(result.body as Buffer));
    const names = Object.keys(entries).sort();
    expect(names).toContain('000001.dcm');
    for (const bytes of Object.values(entries)) expect(Buffer.from(bytes).includes(Buffer.from('CompressedSamples^CT1'))).toBe(false);
    const report = await request(t.api.app).get(`/v1/jobs/${job.id}/report`).set(bearer(t.keys.auditor));
    expect(report.status).toBe(200);
    expect(JSON.stringify(report.body)).not.toContain('Doe^John');
    const html = await request(t.api.app).get(`/v1/jobs/${job.id}/report?format=html`).set(bearer(t.keys.auditor));
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
  });

  it('accepts one zip of files and refuses a zip that climbs out of its folder', async () => {
    const zip = zipSync({ 'study/a.dcm': new Uint8Array(readFileSync(join(DICOM_DIR, 'CT_small.dcm'))) });
    const ok = await request(t.api.app).post('/v1/dicom/jobs').set(bearer(t.keys.researcher)).field('policy', 'ct').attach('files', Buffer.from(zip), 'upload.zip');
    expect(ok.status).toBe(202);
    const job = await waitForJob(t.api.app, t.keys.researcher, ok.body.id as string);
    expect(job.status).toBe('done');

    const mixed = await request(t.api.app)
      .post('/v1/dicom/jobs')
      .set(bearer(t.keys.researcher))
      .field('policy', 'ct')
      .attach('files', Buffer.from(zip), 'upload.zip')
      .attach('files', readFileSync(join(DICOM_DIR, 'CT_small.dcm')), 'b.dcm');
    expect(mixed.status).toBe(400);
    expect(mixed.body.error.code).toBe('BAD_UPLOAD');

    const evil = zipSync({ '../../escape.dcm': strToU8('x') });
    const refused = await request(t.api.app).post('/v1/dicom/jobs').set(bearer(t.keys.researcher)).field('policy', 'ct').attach('files', Buffer.from(evil), 'evil.zip');
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('ZIP_UNSAFE');
  });

  it('refuses overrides, missing files and policies without a dicom section', async () => {
    const ct = readFileSync(join(DICOM_DIR, 'CT_small.dcm'));
    const withOverrides = await request(t.api.app).post('/v1/dicom/jobs').set(bearer(t.keys.researcher)).field('policy', 'ct').field('overrides', '{"k":9}').attach('files', ct, 'a.dcm');
    expect(withOverrides.body.error).toMatchObject({ code: 'OVERRIDE_REFUSED', field: 'overrides' });
    const noFiles = await request(t.api.app).post('/v1/dicom/jobs').set(bearer(t.keys.researcher)).field('policy', 'ct');
    expect(noFiles.body.error).toMatchObject({ code: 'FILE_MISSING', field: 'files' });
    const wrongSection = await request(t.api.app).post('/v1/dicom/jobs').set(bearer(t.keys.researcher)).field('policy', 'img').attach('files', ct, 'a.dcm');
    expect(wrongSection.status).toBe(400);
    expect(wrongSection.body.error.code).toBe('POLICY_SECTION_MISSING');
  });
});

describe('image jobs', () => {
  it('redacts an uploaded PNG and returns it in a zip', async () => {
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="200"><rect width="320" height="200" fill="#303030"/><text x="12" y="40" font-family="sans-serif" font-size="22" fill="white">DOE, JOHN 1970-01-02</text></svg>',
    );
    const png = await sharp(svg).png().toBuffer();
    expectForbidden(await request(t.api.app).post('/v1/image/jobs').set(bearer(t.keys.auditor)).field('policy', 'img').attach('files', png, 'x.png'));
    const res = await request(t.api.app).post('/v1/image/jobs').set(bearer(t.keys.researcher)).field('policy', 'img').attach('files', png, 'Doe John.png');
    expect(res.status).toBe(202);
    const job = await waitForJob(t.api.app, t.keys.researcher, res.body.id as string);
    expect(job.error).toBeUndefined();
    expect(job.status).toBe('done');
    const result = await request(t.api.app).get(`/v1/jobs/${job.id}/result`).set(bearer(t.keys.researcher)).buffer(true).parse(binary);
    const entries = unzipSync(new Uint8Array(result.body as Buffer));
    expect(Object.keys(entries)).toEqual(['000001.png']);
    const meta = await sharp(Buffer.from(entries['000001.png'])).metadata();
    expect([meta.width, meta.height]).toEqual([320, 200]);
    const report = await request(t.api.app).get(`/v1/jobs/${job.id}/report`).set(bearer(t.keys.researcher));
    expect(report.status).toBe(200);
    // the review page the CLI writes with --html, framed by the console only (same origin)
    const html = await request(t.api.app).get(`/v1/jobs/${job.id}/report?format=html`).set(bearer(t.keys.auditor));
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.text).toMatch(/^<!doctype html>/i);
    expect(html.text).toContain('000001.png');
    expect(html.text).not.toContain('Doe John');
    expect(html.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(html.headers['content-security-policy']).toContain("frame-ancestors 'self'");
    expect(html.headers['content-security-policy']).not.toContain('script-src');
  });

  it('refuses files that are not images', async () => {
    const res = await request(t.api.app).post('/v1/image/jobs').set(bearer(t.keys.researcher)).field('policy', 'img').attach('files', Buffer.from('not an image'), 'a.png');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'IMAGE_INVALID', field: 'files' });
  });
});

function expectForbidden(res: request.Response): void {
  expect(res.status).toBe(403);
  expect(res.body.error.code).toBe('FORBIDDEN');
}
