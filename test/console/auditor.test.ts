import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../api/helpers.js';
import {
  ARTIFACTS,
  DEMO_POLICY,
  bearer,
  burnedInPng,
  checkPage,
  screenshot,
  demoCohortCsv,
  ensureConsoleBuilt,
  launchBrowser,
  newPage,
  startConsoleServer,
  storeApproved,
  tabTo,
  type ConsoleServer,
  UPDATE_DOCS_IMAGES,
} from './harness.js';

/** The auditor's flow in a real browser, by keyboard: jobs with who and which policy, a report, the verified audit log, exports. */
let server: ConsoleServer;
let browser: Browser;
let page: Page;
let problems: string[];
const jobs: { tabular: string; image: string } = { tabular: '', image: '' };

/**
 * Submits a job over the API as the researcher; `ended` waits for its end on the job's event
 * stream (GET /v1/jobs/:id/events ends once the job has ended), as the console's own job page
 * does; before, a GET every 50 ms kept the server busy for the whole run.
 */
async function submit(kind: 'tabular' | 'image', policy: string, file: Buffer, name: string): Promise<{ id: string; ended: Promise<string> }> {
  const form = new FormData();
  form.append('policy', policy);
  form.append(kind === 'tabular' ? 'file' : 'files', new Blob([new Uint8Array(file)]), name);
  const { id } = await bearer<{ id: string }>(server.base, server.keys.researcher, 'POST', `/v1/${kind}/jobs`, form);
  const ended = (async () => {
    const stream = await fetch(`${server.base}/v1/jobs/${id}/events`, { headers: { Authorization: `Bearer ${server.keys.researcher}` } });
    await stream.text(); // the server ends the stream when the job is done, failed or cancelled
    const job = await bearer<{ status: string }>(server.base, server.keys.researcher, 'GET', `/v1/jobs/${id}`);
    if (job.status !== 'done') throw new Error(`${kind} job ended ${job.status}`);
    return id;
  })();
  return { id, ended };
}

/**
 * The image job only has to exist for the auditor (policy scans@1, kind image, done): the policy
 * trusts the pixels (`scan: never`), so the job copies the PNG instead of loading the text models;
 * researcher.test.ts runs the burned-in-text redaction itself.
 */
const TRUSTED_IMAGE_POLICY = 'name: scans\nversion: 1\npixels:\n  burnedInText: { scan: never }\n';

beforeAll(async () => {
  await ensureConsoleBuilt();
  [server, browser] = await Promise.all([startConsoleServer(), launchBrowser()]);
  await storeApproved(server.base, server.keys.committee, 'demo-cohort', DEMO_POLICY);
  await storeApproved(server.base, server.keys.committee, 'scans', TRUSTED_IMAGE_POLICY);
  // created one after the other (the list shows the newest first: the image job), run side by side
  const tabular = await submit('tabular', 'demo-cohort', Buffer.from(demoCohortCsv()), 'cohort.csv');
  const image = await submit('image', 'scans', await burnedInPng(), 'scan.png');
  [jobs.tabular, jobs.image] = await Promise.all([tabular.ended, image.ended]);
  ({ page, problems } = await newPage(browser));
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function download(link: string | RegExp): Promise<string> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: link }).click()]);
  return readFileSync(await file.path(), 'utf8');
}

describe('auditor console', () => {
  it('signs in by keyboard and sees both jobs with who ran which policy version', async () => {
    await page.goto(`${server.base}/`);
    await page.getByLabel('API key').waitFor();
    await tabTo(page, page.getByLabel('API key'));
    await page.keyboard.type(server.keys.auditor);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${server.base}/auditor`);
    const rows = page.locator('table.jobs tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    const text = await rows.allTextContents();
    expect(text[0]).toMatch(/ana \([0-9a-f]{8}\).*scans@1.*image.*done/);
    expect(text[1]).toMatch(/ana \([0-9a-f]{8}\).*demo-cohort@1.*tabular.*done/);
    await checkPage(page, 'auditor-jobs');
  });

  it('filters the jobs by kind, by keyboard, and exports them as CSV', async () => {
    await tabTo(page, page.getByLabel('Kind', { exact: true }));
    await page.keyboard.press('ArrowDown'); // any → tabular
    await tabTo(page, page.getByRole('button', { name: 'Apply' }));
    await page.keyboard.press('Enter');
    const rows = page.locator('table.jobs tbody tr');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('demo-cohort@1');
    const csv = await download('jobs as CSV');
    expect(csv).toContain(jobs.tabular);
    expect(csv).not.toContain(jobs.image);
  });

  it("opens a job's report, the same HTML the CLI writes", async () => {
    await tabTo(page, page.getByRole('link', { name: jobs.tabular.slice(0, 8) }));
    await page.keyboard.press('Enter');
    await page.waitForURL(`${server.base}/auditor/jobs/${jobs.tabular}`);
    await page.frameLocator('iframe.report').locator('body').getByText('demo-cohort', { exact: true }).first().waitFor();
    // results go only to the researcher who ran the job
    expect(await page.getByRole('link', { name: /Download the result/ }).count()).toBe(0);
    await checkPage(page, 'auditor-report');
  });

  it('reads the audit log with a verified chain, filters it by keyboard, and exports it', async () => {
    // from the job's heading (the focus lands there), back through the crumb and Sign out to the nav
    await tabTo(page, page.getByRole('navigation').getByRole('link', { name: 'Audit log' }), { back: true });
    await page.keyboard.press('Enter');
    await page.waitForURL(`${server.base}/auditor/audit`);
    const chain = page.getByTestId('chain-state');
    await chain.waitFor();
    expect(await chain.textContent()).toMatch(/^Verified: the chain is intact \(\d+ entries\)/);
    await page.locator('table.audit tbody tr').first().waitFor();
    await checkPage(page, 'auditor-audit');
    await screenshot(page, 'auditor-audit');

    await tabTo(page, page.getByLabel('Action', { exact: true }));
    await page.keyboard.type('job.done');
    await page.keyboard.press('Enter');
    const rows = page.locator('table.audit tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    expect((await rows.allTextContents()).every((row) => row.includes('job.done'))).toBe(true);

    const csv = await download('audit log as CSV');
    const [header, ...lines] = csv.trim().split(/\r?\n/);
    expect(header.split(',').slice(0, 5)).toEqual(['seq', 'at', 'actor', 'role', 'action']);
    expect(lines).toHaveLength(2);
    expect(lines.every((line) => line.includes('job.done'))).toBe(true);
    const json = JSON.parse(await download('as JSON')) as { action: string }[];
    expect(json.map((entry) => entry.action)).toEqual(['job.done', 'job.done']);
  });

  it("cannot use the committee's editor: validation answers 403 and the page says so", async () => {
    await page.goto(`${server.base}/committee/new`);
    await page.getByText('Not allowed for your role').first().waitFor();
    expect(problems).toEqual([]);
  });

  it('signs out by keyboard: the session ends on the server, and the next Tab is the key field', async () => {
    await page.goto(`${server.base}/auditor`);
    await tabTo(page, page.getByRole('button', { name: 'Sign out' }));
    await page.keyboard.press('Enter');
    await tabTo(page, page.getByLabel('API key'), { limit: 1 });
    const status = await page.evaluate<number>("fetch('/v1/session').then((response) => response.status)");
    expect(status).toBe(401);
  });

  // VEIL_CONSOLE_SCREENSHOTS=docs npx vitest run test/console refreshes the README's images
  // (not on every run: a screenshot's bytes differ from run to run).
  it('brings back the sign-in form, saying why, when the session ends on the server', async () => {
    await page.getByLabel('API key').fill(server.keys.auditor);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.context().clearCookies(); // as after the idle timeout: the server no longer knows the session
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByText('Your session ended').waitFor();
    await page.getByLabel('API key').waitFor();
  });

  it.runIf(UPDATE_DOCS_IMAGES)('keeps a copy of the audit log screenshot for the README', () => {
    copyFileSync(join(ARTIFACTS, 'auditor-audit.png'), join(REPO_ROOT, 'docs/img/console-auditor-audit.png'));
  });
});
