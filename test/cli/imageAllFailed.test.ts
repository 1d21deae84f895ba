import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageRunReport } from '../../src/report/imageReport.js';
import type { DicomRunReport } from '../../src/report/dicomReport.js';
import { veilArgs } from '../helpers.js';

/**
 * Issue 13 item 7, the CLI side of one rule: when no input file could be processed the run
 * fails (exit 2, one line, code NO_USABLE_INPUT in the API), no output is written, and the
 * report is still written because it is the only place that says why, file by file. Some
 * unreadable images among readable ones are not fatal: exit 3, like flagged files.
 */
const root = resolve(import.meta.dirname, '../..');
const DICOM_DIR = resolve(root, '../shared/data/dicom');
let dir: string;

function veil(args: string[]) {
  return spawnSync(process.execPath, veilArgs(args), {
    encoding: 'utf8',
    cwd: root,
    env: { ...process.env, VEIL_SECRET: 'all-failed-test-secret-0123456789' },
  });
}

/** Files that start like PNG (or look like DICOM files) but do not decode. */
function writeBroken(folder: string, names: string[], head: Buffer): void {
  mkdirSync(folder, { recursive: true });
  for (const [i, name] of names.entries()) writeFileSync(join(folder, name), Buffer.concat([head, Buffer.from(`cut short ${i}`)]));
}

const PNG_HEAD = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'veil-all-failed-'));
  writeFileSync(join(dir, 'img.yaml'), 'name: img\nversion: 1\npixels:\n  burnedInText: { scan: always, redact: all }\n');
  writeFileSync(join(dir, 'ct.yaml'), 'name: ct\nversion: 1\ndicom: { profile: basic }\n');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('veil image redact when no image can be read', () => {
  it('exits 2 with one line naming the first file, writes no output, and writes the report with each reason', () => {
    writeBroken(join(dir, 'img-in'), ['a.png', 'b.png'], PNG_HEAD);
    // --jobs 1 here and below: the files are read in the CLI's own thread instead of one worker
    // thread per file (each loads the image modules); the rule checked is the run's, the same
    // in both (an unreadable file is a line of the report either way)
    const run = veil(['image', 'redact', '--policy', join(dir, 'img.yaml'), '--in', join(dir, 'img-in'), '--out', join(dir, 'img-out'), '--report', join(dir, 'img-report.json'), '--jobs', '1']);
    expect(run.status).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^veil: a\.png: none of the 2 image\(s\) could be read/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    const outputs = existsSync(join(dir, 'img-out')) ? readdirSync(join(dir, 'img-out'), { recursive: true }) : [];
    expect(outputs).toEqual([]);
    const report = JSON.parse(readFileSync(join(dir, 'img-report.json'), 'utf8')) as ImageRunReport;
    expect(report.totals).toMatchObject({ files: 2, errors: 2 });
    expect(report.files.map((f) => [f.file, f.status, typeof f.error?.message])).toEqual([
      ['a.png', 'error', 'string'],
      ['b.png', 'error', 'string'],
    ]);
  });

  it('some unreadable images among readable ones: the readable ones are written, exit 3, the others listed', async () => {
    writeBroken(join(dir, 'img-mixed'), ['broken.png'], PNG_HEAD);
    await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 40, g: 40, b: 40 } } }).png().toFile(join(dir, 'img-mixed', 'plain.png'));
    const run = veil(['image', 'redact', '--policy', join(dir, 'img.yaml'), '--in', join(dir, 'img-mixed'), '--out', join(dir, 'img-mixed-out'), '--report', join(dir, 'img-mixed.json'), '--jobs', '1']);
    expect(run.status).toBe(3);
    expect(run.stderr).toContain('1 file(s) could not be read and were NOT written');
    expect(readdirSync(join(dir, 'img-mixed-out'))).toEqual(['plain.png']);
    const report = JSON.parse(readFileSync(join(dir, 'img-mixed.json'), 'utf8')) as ImageRunReport;
    expect(report.files.map((f) => [f.file, f.status])).toEqual([
      ['broken.png', 'error'],
      ['plain.png', 'clean'],
    ]);
  });

  it('an input folder without any image fails the same way', () => {
    mkdirSync(join(dir, 'no-images'), { recursive: true });
    writeFileSync(join(dir, 'no-images', 'notes.txt'), 'no image here');
    const run = veil(['image', 'redact', '--policy', join(dir, 'img.yaml'), '--in', join(dir, 'no-images'), '--out', join(dir, 'no-images-out')]);
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe('veil: the input holds no PNG, JPEG or TIFF image');
  });
});

describe('veil dicom deidentify when no file can be de-identified', () => {
  it('exits 2 with one line, writes no output file, and writes the report with each reason', () => {
    writeBroken(join(dir, 'dcm-in'), ['x.dcm', 'y.dcm'], Buffer.alloc(132));
    const run = veil(['dicom', 'deidentify', '--policy', join(dir, 'ct.yaml'), '--in', join(dir, 'dcm-in'), '--out', join(dir, 'dcm-out'), '--report', join(dir, 'dcm-report.json')]);
    expect(run.status).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^veil: x\.dcm: none of the 2 file\(s\) could be de-identified/);
    const outputs = existsSync(join(dir, 'dcm-out')) ? readdirSync(join(dir, 'dcm-out'), { recursive: true }) : [];
    expect(outputs).toEqual([]);
    const report = JSON.parse(readFileSync(join(dir, 'dcm-report.json'), 'utf8')) as DicomRunReport;
    expect(report.totals).toMatchObject({ files: 2, ok: 0 });
    expect(report.files.every((f) => f.status !== 'ok' && typeof f.reason === 'string')).toBe(true);
  });

  it('leaves the file system as it was: the folders it created above --out go, one that existed stays', () => {
    writeBroken(join(dir, 'dcm-refused'), ['x.dcm'], Buffer.alloc(132));
    const args = (out: string) => ['dicom', 'deidentify', '--policy', join(dir, 'ct.yaml'), '--in', join(dir, 'dcm-refused'), '--out', out];
    expect(veil(args(join(dir, 'new-parent', 'deeper', 'dout'))).status).toBe(2);
    expect(existsSync(join(dir, 'new-parent'))).toBe(false);
    mkdirSync(join(dir, 'old-parent'));
    expect(veil(args(join(dir, 'old-parent', 'dout'))).status).toBe(2);
    expect(readdirSync(join(dir, 'old-parent'))).toEqual([]);
    // the same for images (no output folder is made before an image is written)
    writeBroken(join(dir, 'img-refused'), ['a.png'], PNG_HEAD);
    const image = veil(['image', 'redact', '--policy', join(dir, 'img.yaml'), '--in', join(dir, 'img-refused'), '--out', join(dir, 'img-parent', 'iout')]);
    expect(image.status).toBe(2);
    expect(existsSync(join(dir, 'img-parent'))).toBe(false);
  });

  it('one readable file among broken ones is a normal run (exit 0), the broken ones listed', () => {
    writeBroken(join(dir, 'dcm-mixed'), ['x.dcm'], Buffer.alloc(132));
    copyFileSync(join(DICOM_DIR, 'CT_small.dcm'), join(dir, 'dcm-mixed', 'ct.dcm'));
    const run = veil(['dicom', 'deidentify', '--policy', join(dir, 'ct.yaml'), '--in', join(dir, 'dcm-mixed'), '--out', join(dir, 'dcm-mixed-out'), '--report', join(dir, 'dcm-mixed.json'), '--quiet']);
    expect(run.status).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'dcm-mixed.json'), 'utf8')) as DicomRunReport;
    expect(report.totals).toMatchObject({ files: 2, ok: 1 });
  });
});
