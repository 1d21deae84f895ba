import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../api/helpers.js';
import {
  ARTIFACTS,
  DEMO_POLICY,
  IMAGE_POLICY,
  bearer,
  burnedInPng,
  checkPage,
  screenshot,
  demoCohortCsv,
  ensureConsoleBuilt,
  launchBrowser,
  newPage,
  signIn,
  tabularJobRow,
  startConsoleServer,
  storeApproved,
  type ConsoleServer,
  UPDATE_DOCS_IMAGES,
} from './harness.js';

/** The researcher's flow in a real browser: tighten, upload a table and an image, watch, download, read the report. */
let server: ConsoleServer;
let browser: Browser;
let page: Page;
let problems: string[];

beforeAll(async () => {
  await ensureConsoleBuilt();
  [server, browser] = await Promise.all([startConsoleServer(), launchBrowser()]);
  await storeApproved(server.base, server.keys.committee, 'demo-cohort', DEMO_POLICY);
  await storeApproved(server.base, server.keys.committee, 'scans', IMAGE_POLICY);
  await storeApproved(server.base, server.keys.committee, 'ct', 'name: ct\nversion: 1\ndicom: { profile: basic }\n');
  ({ page, problems } = await newPage(browser));
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function waitForDone(): Promise<string> {
  await page.waitForURL(/\/researcher\/jobs\/[0-9a-f]{32}$/);
  const id = page.url().split('/').pop() ?? '';
  await page.getByTestId('job-status').filter({ hasText: /^(done|failed)$/ }).waitFor({ timeout: 90_000 });
  expect(await page.getByTestId('job-status').textContent()).toBe('done');
  return id;
}

async function download(): Promise<Buffer> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: /Download the result/ }).click()]);
  const path = await file.path();
  return readFileSync(path);
}

describe('researcher console', () => {
  it('signs in and sees the approved policies', async () => {
    await signIn(page, server.base, server.keys.researcher);
    expect(page.url()).toBe(`${server.base}/researcher`);
    // the approved policies are fetched after the page is shown: wait for them, not for the first paint
    const options = page.getByLabel('Policy', { exact: true }).locator('option');
    await expect.poll(async () => (await options.allTextContents()).join('|')).toContain('demo-cohort (approved version 1)');
    expect((await options.allTextContents()).join('|')).toContain('scans (approved version 1)');
    await checkPage(page, 'researcher-home');
  });

  it('refuses a loosening in the page, before the server does', async () => {
    await page.getByLabel('Policy', { exact: true }).selectOption('demo-cohort');
    const k = page.getByLabel(/^k \(approved 5/);
    await k.fill('3');
    await page.getByText('k may only be raised (the approved policy requires k ≥ 5)').waitFor();
    expect(await k.getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByRole('button', { name: 'Start the job' }).isDisabled()).toBe(true);
    await page.getByLabel(/^Suppression limit/).fill('0.5');
    await page.getByText('the suppression limit may only be lowered (approved: 0.02)').waitFor();
    await page.getByLabel(/^Suppression limit/).fill('');
    await checkPage(page, 'researcher-refused');
  });

  it('runs a tabular job with a tightened k, watches it, downloads the CSV and opens the report', async () => {
    await page.getByLabel(/^k \(approved 5/).fill('10');
    expect(await page.getByRole('button', { name: 'Start the job' }).isDisabled()).toBe(false);
    await page.getByLabel('CSV file').setInputFiles({ name: 'cohort.csv', mimeType: 'text/csv', buffer: Buffer.from(demoCohortCsv()) });
    // progress comes as server-sent events (a job process takes seconds to start, so the job is
    // still queued or running when the page opens the stream)
    const stream = page.waitForRequest((request) => /\/v1\/jobs\/[0-9a-f]{32}\/events$/.test(request.url()));
    await page.getByRole('button', { name: 'Start the job' }).click();
    await stream;
    const id = await waitForDone();
    expect(await page.getByRole('progressbar').getAttribute('value')).toBe('1');

    const job = await bearer<{ overrides?: { k?: number }; policy: { name: string } }>(server.base, server.keys.researcher, 'GET', `/v1/jobs/${id}`);
    expect(job.overrides?.k).toBe(10);
    const csv = (await download()).toString('utf8');
    const [header, ...rows] = csv.trim().split(/\r?\n/);
    expect(header.split(',')).toEqual(expect.arrayContaining(['patient_id', 'age', 'sex', 'zip', 'diagnosis']));
    expect(rows.length).toBe(2000);
    // names removed (column kept, emptied), record numbers pseudonymized: no input value is left
    const nameColumn = header.split(',').indexOf('name');
    expect(rows.every((row) => row.split(',')[nameColumn] === '')).toBe(true);
    expect(csv).not.toMatch(/MRN\d{7}/);

    const report = page.frameLocator('iframe.report');
    await report.locator('body').getByText('demo-cohort', { exact: true }).first().waitFor();
    await checkPage(page, 'researcher-tabular-job');
    await screenshot(page.locator('section').filter({ has: page.locator('#status-title') }), 'researcher-job-status');
    await screenshot(page, 'researcher-job');
  });

  it('runs an image job on a PNG with burned-in text and downloads the redacted image', async () => {
    await page.getByRole('link', { name: 'Run a job' }).first().click();
    await page.getByLabel('Policy', { exact: true }).selectOption('scans');
    await page.getByText('Upload: Images').waitFor();
    await page.getByLabel(/PNG, JPEG or TIFF images/).setInputFiles({ name: 'Doe John.png', mimeType: 'image/png', buffer: await burnedInPng() });
    await page.getByRole('button', { name: 'Start the job' }).click();
    await waitForDone();
    const zip = await download();
    const entries = unzipSync(new Uint8Array(zip));
    expect(Object.keys(entries)).toEqual(['000001.png']);
    expect(Buffer.from(entries['000001.png'].subarray(0, 8)).toString('hex')).toBe('89504e470d0a1a0a');
    // the review page of what was filled
    await page.getByRole('heading', { name: 'Review page' }).waitFor();
    const review = page.frameLocator('iframe.report');
    await review.locator('body').getByText('scans', { exact: true }).first().waitFor();
    await checkPage(page, 'researcher-image-job');
  });

  it('runs a DICOM job on a CT file and reads the review page of what was filled and removed', async () => {
    await page.getByRole('link', { name: 'Run a job' }).first().click();
    await page.getByLabel('Policy', { exact: true }).selectOption('ct');
    await page.getByText('Upload: DICOM').waitFor();
    await page.getByLabel(/DICOM files, or one zip/).setInputFiles({ name: 'Doe^John CT.dcm', mimeType: 'application/dicom', buffer: readFileSync(join(REPO_ROOT, '../shared/data/dicom/CT_small.dcm')) });
    await page.getByRole('button', { name: 'Start the job' }).click();
    const id = await waitForDone();
    expect(await page.getByTestId('job-status').textContent()).toBe('done');
    const entries = unzipSync(new Uint8Array(await download()));
    expect(Object.keys(entries)).toContain('000001.dcm');
    expect(Buffer.from(entries['000001.dcm'].subarray(128, 132)).toString('latin1')).toBe('DICM');
    await page.getByRole('heading', { name: 'Review page' }).waitFor();
    const review = page.frameLocator('iframe.report');
    await review.locator('body').getByText('ct', { exact: true }).first().waitFor();
    expect(await review.locator('body').textContent()).not.toContain('Doe^John');
    await checkPage(page, 'researcher-dicom-job');
    expect(id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('lists its three jobs as its own', async () => {
    await page.getByRole('link', { name: 'Run a job' }).first().click();
    const rows = page.locator('table.jobs tbody tr');
    await expect.poll(() => rows.count()).toBe(3);
    expect(await rows.allTextContents()).toEqual([expect.stringContaining('ct@1'), expect.stringContaining('scans@1'), expect.stringContaining('demo-cohort@1')]);
  });

  it('cancels a running job from its page: the server stops it and removes its input', async () => {
    const running = tabularJobRow(server.dataDir, 'demo-cohort', 1, { running: demoCohortCsv(200) });
    await page.goto(`${server.base}/researcher/jobs/${running.id}`);
    await expect.poll(() => page.getByTestId('job-status').textContent()).toBe('running');
    await checkPage(page, 'researcher-job-running');
    // the page may show `cancelled` from its event stream (sent once the status is recorded)
    // before the server's answer to the cancel, which comes after the files are removed
    const answered = page.waitForResponse((response) => response.url().endsWith(`/v1/jobs/${running.id}/cancel`));
    await page.getByRole('button', { name: 'Cancel the job' }).click();
    expect((await answered).status()).toBe(200);
    await expect.poll(() => page.getByTestId('job-status').textContent()).toBe('cancelled');
    await page.getByText('Cancelled: the job was stopped and its files removed.').waitFor();
    expect(await page.getByRole('button', { name: 'Cancel the job' }).count()).toBe(0);
    expect(existsSync(running.input)).toBe(false);
    const audit = await bearer<{ entries: { actor: string; target: string }[] }>(server.base, server.keys.auditor, 'GET', '/v1/audit?action=job.cancelled');
    expect(audit.entries.map((e) => [e.actor, e.target])).toEqual([[expect.stringContaining('ana'), `job:${running.id}`]]);
  });

  it("cannot open the auditor's audit log: the server answers 403 and the page says so", async () => {
    const refused = page.waitForResponse((response) => response.url().endsWith('/v1/audit/verify'));
    await page.goto(`${server.base}/auditor/audit`);
    expect((await refused).status()).toBe(403);
    await page.getByText('Not allowed for your role').first().waitFor();
    expect(problems).toEqual([]);
  });

  // VEIL_CONSOLE_SCREENSHOTS=docs npx vitest run test/console refreshes the README's images
  // (not on every run: a screenshot's bytes differ from run to run).
  it.runIf(UPDATE_DOCS_IMAGES)('keeps a copy of the job screenshot for the README', () => {
    copyFileSync(join(ARTIFACTS, 'researcher-job.png'), join(REPO_ROOT, 'docs/img/console-researcher-job.png'));
  });
});
