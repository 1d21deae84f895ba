import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEMO_POLICY,
  bearer,
  chooseFileByKey,
  demoCohortCsv,
  ensureConsoleBuilt,
  focusRing,
  isFocused,
  launchBrowser,
  newPage,
  ringVisible,
  startConsoleServer,
  tabTo,
  tabularJobRow,
  type ConsoleServer,
} from './harness.js';

/**
 * The committee editor's and the researcher's flows by keyboard alone: Tab / Shift+Tab, Enter,
 * Space, arrow keys and typing. No mouse click, no element.click(), no focus() from the test; a
 * file is picked as a keyboard user picks one (Space on the focused file control opens the
 * chooser, the chooser takes the file). Every element Tab passes through must show a focus ring.
 * The researcher runs the very version the committee approved here.
 */
let server: ConsoleServer;
let browser: Browser;
/** CSP violations and script errors of every page opened here (newPage collects them). */
const problems: string[][] = [];

beforeAll(async () => {
  await ensureConsoleBuilt();
  [server, browser] = await Promise.all([startConsoleServer(), launchBrowser()]);
  await bearer(server.base, server.keys.committee, 'PUT', '/v1/policies/demo-cohort', DEMO_POLICY, 'application/yaml');
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

let shared: Page | undefined;

/**
 * The file's one page, signed out: each flow starts from the sign-in form as a new visitor's would
 * (the console keeps nothing in the browser but its httpOnly session cookie, which this clears; the
 * next flow loads the page anew). One page instead of a context per flow: headless Chromium opens a
 * browser window for each (≈ 0.5 CPU-s), and the windows left open kept drawing their blinking
 * carets until the file ended.
 */
async function openPage(): Promise<Page> {
  if (shared) {
    await shared.context().clearCookies();
    return shared;
  }
  const opened = await newPage(browser);
  problems.push(opened.problems);
  shared = opened.page;
  return shared;
}

/** Signs in by typing the key: the first Tab reaches the key field. */
async function signInByKeyboard(page: Page, key: string, home: string): Promise<void> {
  await page.goto(`${server.base}/`);
  await page.getByLabel('API key').waitFor();
  await tabTo(page, page.getByLabel('API key'), { limit: 1 });
  await page.keyboard.type(key);
  await page.keyboard.press('Enter');
  await page.waitForURL(`${server.base}${home}`);
}

/** After a route change the view's heading has the focus, so the next Tab starts in the new view. */
async function expectHeadingFocused(page: Page, heading: string): Promise<void> {
  const h1 = page.getByRole('heading', { level: 1, name: heading });
  await h1.waitFor();
  await expect.poll(() => isFocused(h1), { message: `focus on the heading "${heading}" after the route change`, timeout: 10_000 }).toBe(true);
}

/** The line the textarea's cursor is on (1-based). */
function cursorLine(page: Page): Promise<number> {
  return page.evaluate<number>("(() => { const area = document.getElementById('policy-yaml'); return area.value.slice(0, area.selectionStart).split('\\n').length; })()");
}

const K_LINE = DEMO_POLICY.split('\n').findIndex((line) => line.trim() === 'k: 5') + 1;

describe('committee editor by keyboard alone', () => {
  let page: Page;

  it('signs in, skips to the content, and opens the policy from the list', async () => {
    page = await openPage();
    await signInByKeyboard(page, server.keys.committee, '/committee');
    await expectHeadingFocused(page, 'Policies');

    // a fresh load: the first Tab is the skip link, which takes the focus past the header
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Policies' }).waitFor();
    const skip = page.getByRole('link', { name: 'Skip to content' });
    await tabTo(page, skip, { limit: 1 });
    expect(await skip.isVisible()).toBe(true);
    await page.keyboard.press('Enter');
    await expect.poll(() => isFocused(page.locator('main')), { timeout: 10_000 }).toBe(true);

    await tabTo(page, page.getByRole('link', { name: 'demo-cohort', exact: true }));
    await page.keyboard.press('Enter');
    await page.waitForURL(`${server.base}/committee/policies/demo-cohort`);
    await expectHeadingFocused(page, 'Policy demo-cohort');
  });

  it('edits the YAML, sees the live problem line, follows its link back to the line, and saves', async () => {
    const editor = page.getByLabel('Policy YAML');
    await expect.poll(() => editor.inputValue()).toBe(DEMO_POLICY);
    await tabTo(page, editor);
    // to the end of the `k: 5` line, then k becomes "ten"
    await page.keyboard.press('Control+Home');
    for (let line = 1; line < K_LINE; line++) await page.keyboard.press('ArrowDown');
    await page.keyboard.press('End');
    await page.keyboard.press('Backspace');
    await page.keyboard.type('ten');
    const problem = page.locator('.issues li').filter({ hasText: 'tabular.privacy.k' });
    await problem.waitFor();
    expect(await problem.textContent()).toContain(`policy.yaml:${K_LINE}: tabular.privacy.k`);

    // the problem is the next stop after the editor; Enter puts the cursor back on its line
    await page.keyboard.press('Control+Home');
    expect(await cursorLine(page)).toBe(1);
    await tabTo(page, problem.getByRole('link'), { limit: 1 });
    await page.keyboard.press('Enter');
    expect(await isFocused(editor)).toBe(true);
    expect(await cursorLine(page)).toBe(K_LINE);
    // the line is selected: typing replaces it
    await page.keyboard.type('    k: 6');
    await page.getByText('No problems: the policy is valid.').waitFor();
    expect(await editor.inputValue()).toBe(DEMO_POLICY.replace('k: 5', 'k: 6'));

    const save = page.getByRole('button', { name: 'Save as a new version' });
    await tabTo(page, save);
    await page.keyboard.press('Enter');
    await page.getByText('Saved as version 2 of demo-cohort').waitFor();
    // the focus stays on the button while it is busy and after (a disabled button would drop it to the page)
    expect(await isFocused(save)).toBe(true);
    // the page reloads the versions after a save (the panels below stay mounted and then offer
    // the new version): the next test previews version 2, so it waits until version 2 is listed
    await page.getByRole('rowheader', { name: '2', exact: true }).waitFor();
  });

  it('moves to the preview, picks the sample in the file chooser, runs it and reads k achieved', async () => {
    // the sample's source is a radio group: the arrow keys move the choice, the form follows it
    const fileSource = page.getByRole('radio', { name: 'A CSV file' });
    await tabTo(page, fileSource);
    // checked once the page has re-rendered after the key (polled: the press returns before that)
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => page.getByRole('radio', { name: 'The input of a past tabular job' }).isChecked()).toBe(true);
    await page.getByText('No tabular job has been run yet.').waitFor();
    await page.keyboard.press('ArrowUp');
    await expect.poll(() => fileSource.isChecked()).toBe(true);
    const sample = page.getByLabel('Sample CSV');
    await tabTo(page, sample);
    await chooseFileByKey(page, { name: 'cohort.csv', mimeType: 'text/csv', buffer: Buffer.from(demoCohortCsv()) });
    expect(await sample.evaluate((input) => (input as unknown as { files: { length: number } }).files.length)).toBe(1);
    const preview = page.getByRole('button', { name: 'Preview' });
    await tabTo(page, preview, { limit: 1 });
    await page.keyboard.press('Enter');
    const achieved = page.getByTestId('k-achieved');
    await achieved.waitFor({ timeout: 60_000 });
    expect(Number(await achieved.textContent())).toBeGreaterThanOrEqual(6);
    expect(await page.locator('.preview').textContent()).toContain('Version 2 on 2,000 rows');
    expect(await isFocused(preview)).toBe(true);
  });

  it('approves version 2 with a comment', async () => {
    const comment = page.getByLabel('Comment (written to the audit log)');
    await tabTo(page, comment);
    await page.keyboard.type('Reviewed by keyboard on the demo cohort: k 6 met.');
    const approve = page.getByRole('button', { name: 'Approve version 2' });
    await tabTo(page, approve, { limit: 1 });
    await page.keyboard.press('Enter');
    await page.getByText('Version 2 approved.').waitFor();
    const detail = await bearer<{ versions: { version: number; approved: boolean; decision?: { comment?: string } }[] }>(server.base, server.keys.auditor, 'GET', '/v1/policies/demo-cohort');
    expect(detail.versions.find((v) => v.version === 2)).toMatchObject({ approved: true, decision: { comment: 'Reviewed by keyboard on the demo cohort: k 6 met.' } });
    expect(await isFocused(approve)).toBe(true);
    expect(problems.flat()).toEqual([]);
  });
});

describe('committee saves while the keyboard focus is in the preview panel', () => {
  it('keeps the focus where it was, and the panel offers the new version', async () => {
    const name = 'kb-focus';
    await bearer(server.base, server.keys.committee, 'PUT', `/v1/policies/${name}`, DEMO_POLICY.replace(/^name: .*$/m, `name: ${name}`), 'application/yaml');
    const page = await openPage();
    await signInByKeyboard(page, server.keys.committee, '/committee');
    await tabTo(page, page.getByRole('link', { name, exact: true }));
    await page.keyboard.press('Enter');
    await expectHeadingFocused(page, `Policy ${name}`);
    // the save's answer waits until the focus is in the panel: the save then lands under it
    let answer: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (answer = resolve));
    await page.route(`**/v1/policies/${name}`, async (route) => {
      if (route.request().method() === 'PUT') await held;
      await route.continue();
    });

    const editor = page.getByLabel('Policy YAML');
    await expect.poll(() => editor.inputValue()).toContain(`name: ${name}`);
    await tabTo(page, editor);
    await page.keyboard.press('Control+End');
    await page.keyboard.type('# saved again\n');
    await tabTo(page, page.getByRole('button', { name: 'Save as a new version' }));
    await page.keyboard.press('Enter');
    const panel = page.locator('section', { has: page.getByRole('heading', { name: 'Preview on a sample' }) });
    const version = panel.getByLabel('Version');
    await tabTo(page, version);
    answer();

    await page.getByText(`Saved as version 2 of ${name}`).waitFor();
    await page.getByRole('rowheader', { name: '2', exact: true }).waitFor();
    await expect.poll(() => version.inputValue()).toBe('2');
    expect(await isFocused(version)).toBe(true);
    expect(await panel.evaluate((section) => section.contains(section.ownerDocument.activeElement))).toBe(true);
    expect(problems.flat()).toEqual([]);
    // the next flows use this page too: no request of theirs goes through the route
    await page.unrouteAll();
  });
});

describe('committee writes a new policy by keyboard alone', () => {
  it('opens New policy from the nav, names it, types the YAML, picks the hierarchy file it names, and saves version 1', async () => {
    const page = await openPage();
    await signInByKeyboard(page, server.keys.committee, '/committee');
    // the focus is on the heading of Policies: the nav is above it
    await tabTo(page, page.getByRole('navigation').getByRole('link', { name: 'New policy' }), { back: true });
    await page.keyboard.press('Enter');
    await page.waitForURL(`${server.base}/committee/new`);
    await expectHeadingFocused(page, 'New policy');
    await tabTo(page, page.getByLabel(/^Policy name/));
    await page.keyboard.type('kb-tree');
    const editor = page.getByLabel('Policy YAML');
    await tabTo(page, editor, { limit: 1 });
    // replace the template: select all, then type (a newline is the Enter key; the text area does not indent)
    await page.keyboard.press('Control+A');
    await page.keyboard.type('name: kb-tree\nversion: 1\ntabular:\n  quasiIdentifiers:\n    - { column: sex, hierarchy: sex.csv }\n  privacy: { k: 2 }\n');
    await tabTo(page, page.getByLabel(/^Hierarchy files the policy names/));
    await chooseFileByKey(page, { name: 'sex.csv', mimeType: 'text/csv', buffer: Buffer.from('M;*\nF;*\n') });
    await tabTo(page, page.getByRole('button', { name: 'Save as a new version' }), { limit: 1 });
    await page.keyboard.press('Enter');
    await page.waitForURL(`${server.base}/committee/policies/kb-tree`);
    await expectHeadingFocused(page, 'Policy kb-tree');
    const stored = await bearer<{ version: number; hierarchies: { path: string }[] }>(server.base, server.keys.auditor, 'GET', '/v1/policies/kb-tree');
    expect([stored.version, stored.hierarchies.map((h) => h.path)]).toEqual([1, ['sex.csv']]);
    expect(problems.flat()).toEqual([]);
  });
});

describe('researcher by keyboard alone', () => {
  let page: Page;

  it('picks the approved policy with the arrow keys and tightens k (a loosening is refused first)', async () => {
    page = await openPage();
    await signInByKeyboard(page, server.keys.researcher, '/researcher');
    await expectHeadingFocused(page, 'Run a job');
    const policy = page.getByLabel('Policy', { exact: true });
    await policy.locator('option', { hasText: 'demo-cohort (approved version 2)' }).waitFor({ state: 'attached' });
    await tabTo(page, policy);
    await page.keyboard.press('ArrowDown'); // — choose — → demo-cohort
    expect(await policy.inputValue()).toBe('demo-cohort');

    const k = page.getByLabel(/^k \(approved 6/);
    await tabTo(page, k);
    await page.keyboard.type('3');
    await page.getByText('k may only be raised (the approved policy requires k ≥ 6)').waitFor();
    expect(await page.getByRole('button', { name: 'Start the job' }).isDisabled()).toBe(true);
    await page.keyboard.press('Backspace');
    await page.keyboard.type('10');
    expect(await page.getByRole('button', { name: 'Start the job' }).isDisabled()).toBe(false);
  });

  it('chooses the CSV in the file chooser, starts the job and follows its progress to the end', async () => {
    await tabTo(page, page.getByLabel('CSV file'));
    await chooseFileByKey(page, { name: 'cohort.csv', mimeType: 'text/csv', buffer: Buffer.from(demoCohortCsv()) });
    await tabTo(page, page.getByRole('button', { name: 'Start the job' }), { limit: 1 });
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/researcher\/jobs\/[0-9a-f]{32}$/);
    await expectHeadingFocused(page, `Job ${page.url().split('/').pop()?.slice(0, 8) ?? ''}`);
    await page.getByTestId('job-status').filter({ hasText: /^(done|failed)$/ }).waitFor({ timeout: 90_000 });
    expect(await page.getByTestId('job-status').textContent()).toBe('done');
    expect(await page.getByRole('progressbar').getAttribute('value')).toBe('1');
    const id = page.url().split('/').pop() ?? '';
    const job = await bearer<{ overrides?: { k?: number }; policy: { version: number } }>(server.base, server.keys.researcher, 'GET', `/v1/jobs/${id}`);
    expect([job.overrides?.k, job.policy.version]).toEqual([10, 2]);
  });

  it('reaches the download link and the report from the heading, and opens both with Enter', async () => {
    const link = page.getByRole('link', { name: /Download the result/ });
    await tabTo(page, link);
    const [file] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
    const rows = readFileSync(await file.path(), 'utf8').trim().split(/\r?\n/);
    expect(rows.length).toBe(2001);
    expect(rows.join('\n')).not.toMatch(/MRN\d{7}/);

    await tabTo(page, page.getByRole('link', { name: 'Open the report in a new tab' }));
    const [report] = await Promise.all([page.context().waitForEvent('page'), page.keyboard.press('Enter')]);
    await report.waitForLoadState();
    expect(report.url()).toMatch(/\/v1\/jobs\/[0-9a-f]{32}\/report\?format=html$/);
    await report.getByText('demo-cohort', { exact: true }).first().waitFor();
    const ring = await focusRing(page);
    expect(ringVisible(ring)).toBe(true);
    await report.close();
    expect(problems.flat()).toEqual([]);
  });

  it('goes back to its jobs, opens a running one and cancels it; the focus lands on the outcome, not on the page', async () => {
    const running = tabularJobRow(server.dataDir, 'demo-cohort', 2, { running: demoCohortCsv(200) });
    // the crumb link "Run a job" sits before the heading: one way back with Shift+Tab
    const back = page.getByRole('main').getByRole('link', { name: 'Run a job' });
    await tabTo(page, back, { back: true });
    await page.keyboard.press('Enter');
    await page.waitForURL(`${server.base}/researcher`);
    await expectHeadingFocused(page, 'Run a job');
    await tabTo(page, page.getByRole('link', { name: running.id.slice(0, 8) }));
    await page.keyboard.press('Enter');
    await page.waitForURL(`${server.base}/researcher/jobs/${running.id}`);
    await expectHeadingFocused(page, `Job ${running.id.slice(0, 8)}`);
    await expect.poll(() => page.getByTestId('job-status').textContent()).toBe('running');

    await tabTo(page, page.getByRole('button', { name: 'Cancel the job' }));
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('job-status').textContent()).toBe('cancelled');
    // the button is gone with the running job: the focus goes to the words that say what happened
    const outcome = page.getByText('Cancelled: the job was stopped and its files removed.');
    await expect.poll(() => isFocused(outcome), { timeout: 10_000 }).toBe(true);
    expect(problems.flat()).toEqual([]);
  });
});
