/**
 * What every console browser test needs: a built console, a real `veil serve` on loopback with a
 * temporary data dir and one key per role, Debian's chromium driven by playwright-core (never a
 * browser download), an axe-core pass, and screenshots into test-artifacts/console/ when asked for
 * (VEIL_CONSOLE_SCREENSHOTS=all or docs) or when a page check fails.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { appendAudit } from '../../src/api/audit.js';
import { loadAuditKey, openAuditChain } from '../../src/api/auditKey.js';
import { openDatabase } from '../../src/api/db.js';
import { createApiKey } from '../../src/api/keys.js';
import { insertJob, markFailed, markRunning } from '../../src/api/jobStore.js';
import { dataLayout } from '../../src/api/layout.js';
import { getPolicyVersion } from '../../src/api/policyStore.js';
import { cohortCsv, generateCohort } from '../../src/demo/cohort.js';
import { REPO_ROOT, sleep } from '../api/helpers.js';
import { startServerProcess, type ServerProcess } from '../api/serverProcess.js';

export const ARTIFACTS = join(REPO_ROOT, 'test-artifacts/console');
const CONSOLE_DIST = join(REPO_ROOT, 'dist/console/index.html');
const CONSOLE_SRC = join(REPO_ROOT, 'console');

/** Copy the three README screenshots to docs/img/ (opt-in, so a test run leaves the tree clean). */
export const UPDATE_DOCS_IMAGES = process.env.VEIL_CONSOLE_SCREENSHOTS === 'docs';

/**
 * Screenshots of every checked page (VEIL_CONSOLE_SCREENSHOTS=all, or docs for the README copies).
 * Opt-in: they assert nothing, and the 34 full-page PNGs a run took cost Chromium ≈ 0.1 CPU-s
 * each. A failing page check takes its screenshot anyway, for the one who reads the failure.
 */
export const SCREENSHOTS = UPDATE_DOCS_IMAGES || process.env.VEIL_CONSOLE_SCREENSHOTS === 'all';

/** A screenshot of the page (its viewport, or `fullPage`) or of one element into test-artifacts/console/<name>.png, if SCREENSHOTS. */
export async function screenshot(target: Page | Locator, name: string, options: { always?: boolean; fullPage?: boolean } = {}): Promise<void> {
  if (!SCREENSHOTS && !options.always) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await ('goto' in target ? target.screenshot({ path, fullPage: options.fullPage ?? false }) : target.screenshot({ path }));
}

export const WIDE = { width: 1280, height: 900 };
export const NARROW = { width: 390, height: 844 };

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const BUILD_LOCK = join(REPO_ROOT, 'dist/.console-build.lock');
const BUILD_GUARD_MS = 180_000;

const isFresh = () => existsSync(CONSOLE_DIST) && statSync(CONSOLE_DIST).mtimeMs >= newestMtime(CONSOLE_SRC);

/**
 * Builds dist/console when it is missing or older than console/ (a test never runs a stale page).
 * The browser test files run at once: one builds under a lock file, the others wait for it and
 * then find the build fresh. Vite refuses a second build of the project while one runs (another
 * helper's, say): then this waits for that one too.
 */
export async function ensureConsoleBuilt(): Promise<void> {
  const until = Date.now() + BUILD_GUARD_MS;
  mkdirSync(dirname(BUILD_LOCK), { recursive: true });
  while (!isFresh()) {
    if (Date.now() > until) throw new Error('the console build did not finish in time');
    let lock: number | undefined;
    try {
      lock = openSync(BUILD_LOCK, 'wx');
    } catch {
      // someone else builds; a lock older than the guard was left by a killed run
      if (existsSync(BUILD_LOCK) && Date.now() - statSync(BUILD_LOCK).mtimeMs > BUILD_GUARD_MS) rmSync(BUILD_LOCK, { force: true });
      await sleep(250);
      continue;
    }
    try {
      // NODE_ENV=production as `npm run build` has it: vitest sets NODE_ENV=test, under which Vite
      // emitted Preact's development build (92.6 kB instead of 62.2 kB), not what users get.
      const run = spawnSync('npx', ['vite', 'build', '--config', 'console/vite.config.ts', '--logLevel', 'warn'], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production' } });
      if (run.status !== 0 && !/another Vite build process/.test(run.stderr)) throw new Error(`console build failed: ${run.stderr}`);
      if (run.status !== 0) await sleep(1000);
    } finally {
      closeSync(lock);
      rmSync(BUILD_LOCK, { force: true });
    }
  }
}

export interface Keys {
  committee: string;
  researcher: string;
  auditor: string;
}

export interface ConsoleServer {
  server: ServerProcess;
  base: string;
  keys: Keys;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * The three keys, written into the data dir by the same calls `veil keys create` makes (key store
 * and a `key.create` audit entry by 'cli'), in this process: three CLI processes cost ≈ 0.9 CPU-s
 * and ≈ 1 s wall per file, and these files test the console, not the CLI (test/cli and test/api
 * run `veil keys create` itself).
 */
function createKeys(dataDir: string): Keys {
  const auditKey = loadAuditKey(dataDir, process.env, { create: true }).key;
  const db = openDatabase(dataDir);
  try {
    openAuditChain(db, dataDir, auditKey);
    const create = (role: 'committee' | 'researcher' | 'auditor', name: string): string => {
      const { key, record } = createApiKey(db, role, name);
      appendAudit(db, { actor: 'cli', role: 'operator', action: 'key.create', target: `key:${record.id} (${record.name}, ${record.role})` });
      return key;
    };
    return { committee: create('committee', 'chair'), researcher: create('researcher', 'ana'), auditor: create('auditor', 'otto') };
  } finally {
    db.close();
  }
}

export async function startConsoleServer(): Promise<ConsoleServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'veil-console-'));
  const keys = createKeys(dataDir);
  const server = await startServerProcess(dataDir);
  return {
    server,
    base: server.base,
    keys,
    dataDir,
    async stop() {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The features Chromium runs without here. Chromium keeps only the last --disable-features it is
 * given, so this repeats playwright-core's own list (1.65, `disabledFeatures` in its
 * chromiumSwitches; keep it in step when upgrading) and adds the WebUI omnibox popup: headless
 * Chromium 156 loads chrome://omnibox-popup.top-chrome in a renderer of its own for every
 * context's window (no test ever sees an omnibox), ≈ 1.3 CPU-s each, ≈ 18 CPU-s of the four
 * browser test files (Puppeteer disables the same two features by default).
 */
const DISABLED_FEATURES = [
  // playwright-core's
  'AvoidUnnecessaryBeforeUnloadCheckSync',
  'DestroyProfileOnBrowserClose',
  'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable',
  'LensOverlay',
  'MediaRouter',
  'PaintHolding',
  'ThirdPartyStoragePartitioning',
  'AvoidCorsURLLoaderRestartOnRedirect',
  'TcpPortRandomizationWin',
  'OptimizationHints',
  'NetworkTimeServiceQuerying',
  'AimEnabled',
  'PreconnectToSearch',
  'msForceBrowserSignIn',
  'msEdgeUpdateLaunchServicesPreferredVersion',
  // ours
  'WebUIOmniboxPopup',
  'WebUIOmniboxAimPopup',
];

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--disable-features=${DISABLED_FEATURES.join(',')}`,
    ],
  });
}

/** A fresh context (its own cookie jar) that accepts downloads. */
export async function newPage(browser: Browser, viewport = WIDE): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  // File choosers are intercepted from the start, for the page's whole life. Without this, the
  // first waitForEvent('filechooser') turns the interception on by a message playwright-core
  // does not await, and the key that opens the chooser could reach the page first: the chooser
  // then never came (chooseFileByKey timed out in 2 of 8 runs of keyboard.test).
  page.on('filechooser', () => undefined);
  // CSP violations and script errors show in the console: collect them, a test asserts none.
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
  });
  return { context, page, problems };
}

export async function signIn(page: Page, base: string, key: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

const AXE = readFileSync(join(REPO_ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * Runs axe-core on the page at 1280 and 390 px wide and fails on any serious or critical
 * violation or on sideways scrolling. Both widths: the narrow one is another layout (the 640 px
 * media query), where contrast, scrollable regions and overflow are checked anew. A screenshot of
 * each width goes to test-artifacts/console/<name>-<width>.png when SCREENSHOTS or on a failure.
 */
export async function checkPage(page: Page, name: string): Promise<void> {
  const original = page.viewportSize() ?? WIDE;
  for (const viewport of [WIDE, NARROW]) {
    await page.setViewportSize(viewport);
    // addScriptTag({ content }) is an inline script, which the console's CSP refuses (as it
    // should); evaluating the same source through the DevTools protocol is not a page script.
    if ((await page.evaluate<string>('typeof window.axe')) === 'undefined') await page.evaluate(AXE);
    // Page-side code is passed as text: this file is type-checked for Node, without the DOM.
    const violations = await page.evaluate<AxeViolation[]>(
      `axe.run(document, { resultTypes: ['violations'] }).then((result) => result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) })))`,
    );
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    // No horizontal scrolling of the page itself (wide tables scroll in their own box).
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    await screenshot(page, `${name}-${viewport.width}`, { always: serious.length > 0 || overflow > 1, fullPage: true });
    expect(serious, `${name} at ${viewport.width} px: ${JSON.stringify(serious, null, 1)}`).toEqual([]);
    expect(overflow, `${name} at ${viewport.width} px scrolls sideways`).toBeLessThanOrEqual(1);
  }
  await page.setViewportSize(original);
}

/** The demo cohort as CSV (seeded, synthetic): the sample a committee previews on. */
export function demoCohortCsv(rows = 2000): string {
  return cohortCsv(generateCohort({ rows, seed: 17 }));
}

export const DEMO_POLICY = readFileSync(join(REPO_ROOT, 'policies/demo.yaml'), 'utf8');

/** The id of the focused element. */
export function focusedId(page: Page): Promise<string | undefined> {
  return page.evaluate<string | undefined>('document.activeElement?.id');
}

/** A PNG with burned-in text (as test/api/files.test.ts makes one). */
export async function burnedInPng(): Promise<Buffer> {
  const sharp = (await import('sharp')).default;
  const svg = Buffer.from(
    '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="200"><rect width="320" height="200" fill="#303030"/><text x="12" y="40" font-family="sans-serif" font-size="22" fill="white">DOE, JOHN 1970-01-02</text></svg>',
  );
  return sharp(svg).png().toBuffer();
}

export async function bearer<T>(base: string, key: string, method: string, path: string, body?: RequestInit['body'], type?: string): Promise<T> {
  const headers: Record<string, string> = { Authorization: `Bearer ${key}` };
  if (type) headers['Content-Type'] = type;
  const res = await fetch(`${base}${path}`, { method, headers, body });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Stores and approves a policy over the API (bearer), as a committee would with curl. */
export async function storeApproved(base: string, key: string, name: string, yaml: string): Promise<number> {
  const stored = await bearer<{ version: number }>(base, key, 'PUT', `/v1/policies/${name}`, yaml, 'application/yaml');
  await bearer(base, key, 'POST', `/v1/policies/${name}/approve`, JSON.stringify({ version: stored.version }), 'application/json');
  return stored.version;
}

export function tempFile(name: string): { path: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'veil-console-upload-'));
  return { dir, path: join(dir, name) };
}

export const IMAGE_POLICY = 'name: scans\nversion: 1\npixels:\n  burnedInText: { scan: always, redact: all }\n';

/**
 * A tabular job written into the data dir as the runner would leave it, on the given policy
 * version, by the researcher's key ('ana'): `running` with its input in place (a real job ends
 * too fast on a sample to catch it running), or `failed` with its input deleted (as every
 * ended job's is; saves a job process). No runner picks up either.
 */
export function tabularJobRow(dataDir: string, policy: string, version: number, state: { running: string } | 'failed'): { id: string; input: string } {
  const db = openDatabase(dataDir);
  try {
    const stored = getPolicyVersion(db, policy, version);
    const keyId = (db.prepare("SELECT id FROM api_keys WHERE name = 'ana'").get() as { id: string }).id;
    const id = randomBytes(16).toString('hex');
    const input = join(dataLayout(dataDir).jobInput(id), 'input.csv');
    if (state !== 'failed') {
      mkdirSync(dataLayout(dataDir).jobInput(id), { recursive: true });
      writeFileSync(input, state.running);
    }
    // one transaction: the server never sees it queued
    db.transaction(() => {
      insertJob(db, { id, kind: 'tabular', ownerKeyId: keyId, policyVersionId: stored?.id ?? 0, overrides: null, inputCount: 1 });
      if (state === 'failed') markFailed(db, id, { code: 'CSV_INVALID', message: 'the CSV could not be read' });
      else markRunning(db, id);
    })();
    return { id, input };
  } finally {
    db.close();
  }
}

/** Whether the locator's element has the keyboard focus (the test only reads it, never sets it). */
export function isFocused(locator: Locator): Promise<boolean> {
  // The page's `document`, reached through globalThis: this file is type-checked without the DOM.
  return locator.evaluate((element) => element === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement, undefined, { timeout: 5000 });
}

export interface FocusRing {
  /** tag#id or tag "text" of the focused element ('body' when nothing is focused). */
  element: string;
  outline: string;
  boxShadow: string;
}

/** A focus ring a sighted keyboard user can see: an outline of some width, or a box-shadow. */
export function ringVisible(ring: FocusRing): boolean {
  return (ring.outline !== 'none' && parseFloat(ring.outline) > 0) || ring.boxShadow !== 'none';
}

/** What one Tab press left: the focus ring on the focused element and whether it is the target. */
interface TabStop {
  ring: FocusRing;
  onTarget: boolean;
}

/** The page's globals this file needs, typed here: the file is type-checked for Node, without the DOM. */
interface PageGlobals {
  document: { activeElement: PageElement | null; body: PageElement };
  getComputedStyle(element: PageElement): { outlineStyle: string; outlineWidth: string; boxShadow: string };
}
interface PageElement {
  id: string;
  tagName: string;
  textContent: string | null;
  getAttribute(name: string): string | null;
}

/**
 * Runs in the page: the focused element, its focus ring, and whether it is `element` (null: no
 * target). One function for focusRing and tabTo, passed to page.evaluate as it is.
 */
function readTabStop(element: unknown): TabStop {
  const { document, getComputedStyle } = globalThis as unknown as PageGlobals;
  const focused = document.activeElement ?? document.body;
  if (focused === document.body) return { ring: { element: 'body', outline: 'none', boxShadow: 'none' }, onTarget: false };
  const style = getComputedStyle(focused);
  const name = focused.id ? '#' + focused.id : ' "' + (focused.getAttribute('aria-label') ?? focused.textContent ?? '').trim().slice(0, 40) + '"';
  return {
    ring: { element: focused.tagName.toLowerCase() + name, outline: style.outlineStyle === 'none' ? 'none' : style.outlineWidth + ' ' + style.outlineStyle, boxShadow: style.boxShadow },
    onTarget: focused === element,
  };
}

/** The focused element and the outline and box-shadow the page draws on it. */
export async function focusRing(page: Page): Promise<FocusRing> {
  return (await page.evaluate(readTabStop, null)).ring;
}

/**
 * Presses Tab (Shift+Tab with `back`) until the target has the focus, as a keyboard user would,
 * and requires a visible focus ring on every element it passes through. Returns the presses.
 * After each press one call reads the focus ring and whether the target has the focus: the
 * locator is resolved again at every press (a handle kept across presses could point at an
 * element the page has since re-rendered: a flake seen in CI with a cached handle).
 */
export async function tabTo(page: Page, target: Locator, options: { back?: boolean; limit?: number } = {}): Promise<number> {
  const limit = options.limit ?? 40;
  await target.waitFor();
  for (let presses = 1; presses <= limit; presses++) {
    await page.keyboard.press(options.back ? 'Shift+Tab' : 'Tab');
    const { ring, onTarget } = await target.evaluate(readTabStop, undefined, { timeout: 5000 });
    expect(ring.element, 'Tab left the page (focus on the body)').not.toBe('body');
    expect(ringVisible(ring), `no visible focus ring on ${ring.element} (outline ${ring.outline}, box-shadow ${ring.boxShadow})`).toBe(true);
    if (onTarget) return presses;
  }
  throw new Error(`${limit} presses of ${options.back ? 'Shift+Tab' : 'Tab'} never reached ${String(target)}`);
}

/**
 * Opens the file chooser from the focused file control with Space (Chromium's key for it; Enter
 * on a file control does not open it) and picks the file in it, as a keyboard user does.
 */
export async function chooseFileByKey(page: Page, file: { name: string; mimeType: string; buffer: Buffer }): Promise<void> {
  const [chooser] = await Promise.all([page.waitForEvent('filechooser', { timeout: 10_000 }), page.keyboard.press('Space')]);
  await chooser.setFiles(file);
}
