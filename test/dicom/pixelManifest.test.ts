/**
 * Issue 14, must show: `veil dicom deidentify` with the README's own policy (`scan: auto`)
 * on every file of ../shared/data/dicom whose MANIFEST.csv says `has_burned_in_text: yes`
 * (presidio_2, a CT without BurnedInAnnotation, included) writes them with no PHI line the
 * recognizer can still read, and the report says per file whether pixels were triaged,
 * scanned or not scanned. Two files without burned-in text show the other statuses.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDicom } from '../../src/dicom/codec/read.js';
import type { DicomDataset } from '../../src/dicom/codec/types.js';
import { buildPixelInput } from '../../src/dicom/pixelStep.js';
import { initCodecs } from '../../src/dicom/pixels/codecs.js';
import { syntaxInfo } from '../../src/standard/transferSyntax.js';
import { frameView } from '../../src/dicom/pixels/view.js';
import { decodeDicomFrames } from '../../src/dicom/pixels/cleaner.js';
import { buildHeaderMatcher } from '../../src/image/phi/headerValues.js';
import { createTextEngine, findText, type TextEngine } from '../../src/image/textPipeline.js';
import { closeTextModels } from '../../src/image/text/session.js';
import { veilArgs } from '../helpers.js';
import { repoRoot, sharedDicom, textOf } from './helpers.js';

/** The README's DICOM policy, as printed there. */
const README_POLICY = `name: readme
version: 1
dicom:
  profile: basic
  options: [retainLongitudinalModifiedDates, retainPatientCharacteristics, cleanDescriptors]
  overrides: [{ tag: PatientSex, action: keep }]
  dateShift: { minDays: 30, maxDays: 365 }
  cohort: { quasiIdentifiers: [PatientAge, PatientSex, PatientSize, PatientWeight], k: 5 }
pixels:
  burnedInText: { scan: auto }
`;

/** Splits one MANIFEST.csv row (fields may be quoted and hold commas). */
function csvRow(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === '"' && line[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      cells.push(cell);
      cell = '';
    } else cell += c;
  }
  cells.push(cell);
  return cells;
}

function filesWithBurnedInText(): string[] {
  const [header, ...rows] = readFileSync(path.join(sharedDicom, 'MANIFEST.csv'), 'utf8').trim().split(/\r?\n/).map(csvRow);
  const file = header.indexOf('file');
  const burned = header.indexOf('has_burned_in_text');
  return rows.filter((row) => row[burned] === 'yes').map((row) => row[file]);
}

/** Identifying values of the ORIGINAL header that may be burned in (names, IDs, dates, institution). */
function identifyingValues(dataset: DicomDataset): string[] {
  const tags = [0x00100010, 0x00100020, 0x00100030, 0x00080080, 0x00080090, 0x00080020, 0x00080050, 0x00081070];
  return tags.map((tag) => textOf(dataset, tag)?.trim() ?? '').filter((value) => value.length >= 2);
}

/** Runs the built `veil` without blocking this process (spawnSync would hold the event loop, and with it the model loading). */
function runVeil(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, veilArgs(args), { env, cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const BURNED = filesWithBurnedInText();
const OTHERS = ['CT_small.dcm', 'rtplan.dcm'];
let work: string;
let report: { files: { input: string; status: string; pixelScan?: { status: string; reason: string }; pixels?: { frames?: Record<string, number> } }[]; pixels: Record<string, number> };
let stdout: string;
let html: string;
let engine: TextEngine;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'veil-manifest-'));
  for (const name of [...BURNED, ...OTHERS]) cpSync(path.join(sharedDicom, name), path.join(work, 'in', name));
  writeFileSync(path.join(work, 'policy.yaml'), README_POLICY);
  // the checker's codecs and OCR models load while the CLI runs (not after it): same work, less wall time
  const checker = Promise.all([initCodecs(), createTextEngine(1)]);
  // one worker thread (--jobs 1; the default starts one per core, each loading the codecs and
  // both models): the run's CPU, not its threads, is what the suite pays (19 → 16 CPU-s)
  const run = await runVeil(
    ['dicom', 'deidentify', '--policy', path.join(work, 'policy.yaml'), '--in', path.join(work, 'in'), '--out', path.join(work, 'out'), '--report', path.join(work, 'r.json'), '--html', path.join(work, 'r.html'), '--jobs', '1'],
    { ...process.env, VEIL_SECRET: '0123456789abcdef0123', CI: '1' },
  );
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  stdout = run.stdout;
  report = JSON.parse(readFileSync(path.join(work, 'r.json'), 'utf8'));
  html = readFileSync(path.join(work, 'r.html'), 'utf8');
  [, engine] = await checker;
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));
// the text model sessions of this thread end with the file (it may share its worker with other files)
afterAll(closeTextModels);

describe("the README's DICOM policy on the shared files with burned-in text", () => {
  it('lists the files MANIFEST.csv marks as carrying burned-in text, presidio_2 among them', () => {
    expect(BURNED).toContain('presidio_2_ORIGINAL.dcm');
    expect(BURNED.length).toBeGreaterThanOrEqual(5);
  });

  it.each(BURNED)('%s comes out with no PHI line the recognizer can read', async (name) => {
    const record = report.files.find((f) => f.input === name);
    expect(record?.status).toBe('ok');
    expect(record?.pixelScan?.status).toBe('scanned');
    const original = readDicom(readFileSync(path.join(sharedDicom, name)));
    const header = buildHeaderMatcher(identifyingValues(original.dataset));
    const written = readDicom(readFileSync(path.join(work, 'out', name)));
    const input = buildPixelInput(name, written.dataset, written.transferSyntax, []);
    if (!input) throw new Error(`${name}: no pixel data written`);
    const { frames, layout } = decodeDicomFrames(input, syntaxInfo(input.transferSyntaxUID)!);
    const settings = { windowCenter: input.windowCenter?.[0], windowWidth: input.windowWidth?.[0], slope: input.rescaleSlope ?? 1, intercept: input.rescaleIntercept ?? 0, palette: input.palette };
    const left: number[] = [];
    for (let f = 0; f < frames.length; f++) {
      const found = await findText(engine, frameView(frames[f], layout, settings), header);
      if (found.some((t) => t.class === 'phi')) left.push(f);
    }
    expect(left, `frames of ${name} where PHI is still read`).toEqual([]);
  }, 300_000);

  it('says per file whether pixels were triaged, scanned or not scanned, and counts them', () => {
    const presidio = report.files.find((f) => f.input === 'presidio_2_ORIGINAL.dcm');
    // no header flag marks this CT: triage found the text and sent the frame to the full pipeline
    expect(presidio?.pixels?.frames).toMatchObject({ total: 1, triaged: 1, textLike: 1, scanned: 1 });
    expect(report.files.find((f) => f.input === 'CT_small.dcm')?.pixelScan?.status).toBe('triaged-clean');
    expect(report.files.find((f) => f.input === 'rtplan.dcm')?.pixelScan, JSON.stringify(report.files.find((f) => f.input === 'rtplan.dcm'))).toMatchObject({ status: 'no-pixel-data' });
    expect(report.pixels).toMatchObject({ scanned: BURNED.length, triagedClean: 1, notScanned: 0, noPixelData: 1 });
    expect(stdout).toContain(`pixels: ${BURNED.length} scanned, 1 triaged clean, 0 not examined, 1 without pixel data`);
    expect(html).toContain(`burned-in text in the pixels of ${BURNED.length + 1} files`);
    expect(html).toContain('triaged-clean');
  });
});
