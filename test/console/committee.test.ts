import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../api/helpers.js';
import { ARTIFACTS, DEMO_POLICY, UPDATE_DOCS_IMAGES, bearer, checkPage, screenshot, focusedId, demoCohortCsv, ensureConsoleBuilt, launchBrowser, newPage, startConsoleServer, tabularJobRow, type ConsoleServer } from './harness.js';

/** The committee's flow in a real browser: write a policy, see it validated, save, diff, preview, approve. */
let server: ConsoleServer;
let browser: Browser;
let page: Page;
let problems: string[];

beforeAll(async () => {
  await ensureConsoleBuilt();
  [server, browser] = await Promise.all([startConsoleServer(), launchBrowser()]);
  ({ page, problems } = await newPage(browser));
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const editor = () => page.getByLabel('Policy YAML');

describe('committee console', () => {
  it('signs in with the keyboard only; the key stays out of the page', async () => {
    await page.goto(`${server.base}/`);
    await page.getByLabel('API key').waitFor();
    await checkPage(page, 'sign-in');
    await page.keyboard.press('Tab');
    expect(await focusedId(page)).toBe('key');
    await page.keyboard.type(server.keys.committee);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    expect(page.url()).toBe(`${server.base}/committee`);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Policies');
    // httpOnly cookie: invisible to scripts; nothing stored by the page
    expect(await page.evaluate<string[]>('[document.cookie, JSON.stringify(localStorage), JSON.stringify(sessionStorage)]')).toEqual(['', '{}', '{}']);
    expect(await page.content()).not.toContain(server.keys.committee);
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'veil_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    await checkPage(page, 'committee-policies');
  });

  it('shows live validation problems linked to their line, completes keys, and saves a version', async () => {
    await page.getByRole('link', { name: 'New policy' }).first().click();
    await page.getByLabel(/Policy name/).fill('demo-cohort');
    const broken = DEMO_POLICY.replace('k: 5', 'k: ten');
    await editor().fill(broken);
    const problem = page.locator('.issues li').filter({ hasText: 'tabular.privacy.k' });
    await problem.waitFor();
    const text = await problem.textContent();
    const line = broken.split('\n').findIndex((l) => l.includes('k: ten')) + 1;
    expect(text).toContain(`:${line}:`);
    await checkPage(page, 'committee-editor-problem');
    // the problem links to its line: the cursor lands there
    await problem.getByRole('link').click();
    const cursorLine = await page.evaluate<number>("(() => { const area = document.getElementById('policy-yaml'); return area.value.slice(0, area.selectionStart).split('\\n').length; })()");
    expect(cursorLine).toBe(line);
    expect(await focusedId(page)).toBe('policy-yaml');

    // completion: the keys of tabular.privacy where the cursor is
    await page.getByText('Keys allowed at tabular.privacy', { exact: true }).waitFor();
    const keys = await page.locator('.keys button.key').allTextContents();
    expect(keys).toEqual(expect.arrayContaining(['k', 'l', 't', 'suppressionLimit']));

    await editor().fill(DEMO_POLICY);
    await page.getByText('No problems: the policy is valid.').waitFor();
    await page.getByRole('button', { name: 'Save as a new version' }).click();
    await page.waitForURL(`${server.base}/committee/policies/demo-cohort`);
    await page.locator('table').filter({ hasText: 'Every stored version' }).getByRole('row').nth(1).filter({ hasText: 'pending' }).waitFor();
  });

  it('saves a second version and shows the line diff between the two', async () => {
    await expect.poll(() => editor().inputValue()).toBe(DEMO_POLICY);
    await editor().fill(DEMO_POLICY.replace('k: 5', 'k: 6'));
    await page.getByText('No problems: the policy is valid.').waitFor();
    await page.getByRole('button', { name: 'Save as a new version' }).click();
    await page.getByText('Saved as version 2 of demo-cohort').waitFor();
    const diff = page.locator('table.diff');
    await diff.locator('tr.removed').filter({ hasText: 'k: 5' }).waitFor();
    await diff.locator('tr.added').filter({ hasText: 'k: 6' }).waitFor();
    expect(await diff.locator('tr.removed, tr.added').count()).toBe(2);
    await checkPage(page, 'committee-diff');
  });

  it('previews version 2 on the demo cohort, sees k achieved, and approves it with a comment', async () => {
    await page.getByLabel('Sample CSV').setInputFiles({ name: 'cohort.csv', mimeType: 'text/csv', buffer: Buffer.from(demoCohortCsv()) });
    await page.getByRole('button', { name: 'Preview' }).click();
    const achieved = page.getByTestId('k-achieved');
    await achieved.waitFor({ timeout: 60_000 });
    expect(Number(await achieved.textContent())).toBeGreaterThanOrEqual(6);
    await page.getByText('Loss per attribute').waitFor();
    await page.getByText('Re-identification risk (prosecutor)').waitFor();
    await checkPage(page, 'committee-preview');
    await page.locator('#preview-title').scrollIntoViewIfNeeded();
    await screenshot(page.locator('section').filter({ has: page.locator('#preview-title') }), 'committee-preview-panel');

    await page.getByLabel('Comment (written to the audit log)').fill('Reviewed on the demo cohort: k 6 met.');
    await page.getByRole('button', { name: 'Approve version 2' }).click();
    await page.getByText('Version 2 approved.').waitFor();
    const detail = await bearer<{ versions: { version: number; approved: boolean }[] }>(server.base, server.keys.auditor, 'GET', '/v1/policies/demo-cohort');
    expect(detail.versions.find((v) => v.version === 2)?.approved).toBe(true);
    const audit = await bearer<{ entries: { action: string; policy: { version: number } | null }[] }>(server.base, server.keys.auditor, 'GET', '/v1/audit');
    expect(audit.entries.some((e) => e.action === 'policy.approve' && e.policy?.version === 2)).toBe(true);
    expect(audit.entries.some((e) => e.action === 'policy.previewed')).toBe(true);
  });

  it("previews the input of a past tabular job: read in place while the job runs, a clear refusal once the job ended", async () => {
    // a job that ended (its input deleted) and one still running, with its input where the runner keeps it
    const ended = tabularJobRow(server.dataDir, 'demo-cohort', 2, 'failed');
    const running = tabularJobRow(server.dataDir, 'demo-cohort', 2, { running: demoCohortCsv(400) });
    const before = { stat: statSync(running.input), job: await bearer<unknown>(server.base, server.keys.auditor, 'GET', `/v1/jobs/${running.id}`) };

    await page.getByRole('radio', { name: 'The input of a past tabular job' }).check();
    const picker = page.getByRole('combobox', { name: 'Past tabular job' });
    await picker.waitFor();
    // the past jobs are fetched once the picker is shown
    await expect.poll(() => picker.locator('option').allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^${running.id.slice(0, 8)} .* running$`)), expect.stringMatching(new RegExp(`^${ended.id.slice(0, 8)} .*ana.* failed \\(input deleted\\)$`))]));
    await checkPage(page, 'committee-preview-job');

    await picker.selectOption(running.id);
    await page.getByRole('button', { name: 'Preview' }).click();
    await expect.poll(() => page.locator('.preview').textContent(), { timeout: 60_000 }).toContain('on 400 rows');
    const after = statSync(running.input);
    expect([after.ino, after.mtimeMs, after.size]).toEqual([before.stat.ino, before.stat.mtimeMs, before.stat.size]);
    expect(await bearer<unknown>(server.base, server.keys.auditor, 'GET', `/v1/jobs/${running.id}`)).toEqual(before.job);
    const previews = await bearer<{ entries: { detail?: { sample?: string; outcome?: string } }[] }>(server.base, server.keys.auditor, 'GET', '/v1/audit?action=policy.previewed');
    expect(previews.entries.map((e) => e.detail)).toContainEqual({ sample: `job:${running.id}`, outcome: 'ok' });

    await picker.selectOption(ended.id);
    await page.getByRole('button', { name: 'Preview' }).click();
    const refusal = page.getByRole('alert').filter({ hasText: 'PREVIEW_INPUT_GONE' });
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain('deleted when the job ends');
    await page.getByRole('radio', { name: 'A CSV file' }).check();
  });

  it('rejects version 1 with a comment', async () => {
    await page.getByRole('combobox', { name: 'Version' }).last().selectOption('1');
    await page.getByLabel('Comment (written to the audit log)').fill('Superseded by version 2.');
    await page.getByRole('button', { name: 'Reject version 1' }).click();
    await page.getByText('Version 1 rejected.').waitFor();
    // the decisions and their comments, per version, as the server records them
    const versions = page.locator('table').filter({ hasText: 'Every stored version' }).locator('tbody tr');
    await expect.poll(() => versions.allTextContents()).toEqual([
      expect.stringMatching(/^2.*approved by chair.*Reviewed on the demo cohort: k 6 met\./),
      expect.stringMatching(/^1.*rejected by chair.*Superseded by version 2\./),
    ]);
    const audit = await bearer<{ entries: { action: string; detail?: { comment?: string } }[] }>(server.base, server.keys.auditor, 'GET', '/v1/audit?action=policy.reject');
    expect(audit.entries.map((e) => e.detail?.comment)).toEqual(['Superseded by version 2.']);
  });

  it('offers a version saved after a decision, and drops that decision\'s line', async () => {
    await page.getByText('Version 1 rejected.').waitFor();
    await editor().fill(DEMO_POLICY.replace('k: 5', 'k: 7'));
    await page.getByText('No problems: the policy is valid.').waitFor();
    await page.getByRole('button', { name: 'Save as a new version' }).click();
    await page.getByText('Saved as version 3 of demo-cohort').waitFor();
    await page.getByRole('button', { name: 'Approve version 3' }).waitFor();
    // the line said what happened to version 1, beside a panel that now offers version 3
    expect(await page.getByText('Version 1 rejected.').count()).toBe(0);
  });

  it('stores a policy with the hierarchy file it names, uploaded from the page', async () => {
    await page.getByRole('link', { name: 'New policy' }).first().click();
    await page.getByLabel(/Policy name/).fill('with-tree');
    await editor().fill('name: with-tree\nversion: 1\ntabular:\n  quasiIdentifiers:\n    - { column: sex, hierarchy: sex.csv }\n  privacy: { k: 2 }\n');
    await page.getByLabel(/Hierarchy files the policy names/).setInputFiles({ name: 'sex.csv', mimeType: 'text/csv', buffer: Buffer.from('M;*\nF;*\n') });
    await page.getByRole('button', { name: 'Save as a new version' }).click();
    await page.waitForURL(`${server.base}/committee/policies/with-tree`);
    const stored = await bearer<{ version: number; hierarchies: { path: string; sha256: string }[] }>(server.base, server.keys.auditor, 'GET', '/v1/policies/with-tree');
    expect(stored.version).toBe(1);
    expect(stored.hierarchies.map((h) => h.path)).toEqual(['sex.csv']);
  });

  it('sees 403 from the server on a view of another role (the auditor audit chain)', async () => {
    await page.goto(`${server.base}/auditor/audit`);
    await page.getByText('Not allowed for your role').first().waitFor();
    expect(await page.getByRole('alert').first().textContent()).toContain('403');
    expect(problems).toEqual([]);
  });

  // VEIL_CONSOLE_SCREENSHOTS=docs npx vitest run test/console refreshes the README's images
  // (not on every run: a screenshot's bytes differ from run to run).
  it.runIf(UPDATE_DOCS_IMAGES)('keeps a copy of the preview screenshot for the README', () => {
    mkdirSync(join(REPO_ROOT, 'docs/img'), { recursive: true });
    copyFileSync(join(ARTIFACTS, 'committee-preview-panel.png'), join(REPO_ROOT, 'docs/img/console-committee-preview.png'));
  });
});
