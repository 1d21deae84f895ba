import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { veilArgs } from '../helpers.js';
import { repoRoot, sharedDicom } from './helpers.js';

let work: string;
const env = { ...process.env, VEIL_SECRET: 'cli-test-secret-0123456789', CI: '1' };

function veil(...args: string[]) {
  return spawnSync(process.execPath, veilArgs(args), { encoding: 'utf8', env, cwd: repoRoot });
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'veil-dicom-cli-'));
  for (const name of ['CT_small.dcm', 'MR_small_bigendian.dcm', 'image_dfl.dcm', 'MR_truncated.dcm', 'rtstruct.dcm']) cpSync(path.join(sharedDicom, name), path.join(work, 'in', 'sub', name));
  writeFileSync(path.join(work, 'in', 'notes.txt'), 'not dicom');
  writeFileSync(path.join(work, 'policy.yaml'), 'name: cli\nversion: 1\ndicom: { profile: basic, options: [retainLongitudinalModifiedDates] }\npixels: { burnedInText: { scan: never } }\n');
  writeFileSync(path.join(work, 'bad.yaml'), 'name: cli\nversion: 1\ndicom:\n  overrides:\n    - { tag: PatientsNmae, action: keep }\n');
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('veil dicom deidentify (CLI)', () => {
  it('exits 0, writes outputs, JSON and HTML reports and the mapping file; damaged files are reported', () => {
    const out = path.join(work, 'out');
    const run = veil('dicom', 'deidentify', '--policy', path.join(work, 'policy.yaml'), '--in', path.join(work, 'in'), '--out', out, '--report', path.join(work, 'r.json'), '--html', path.join(work, 'r.html'), '--map-out', path.join(work, 'map.csv'), '--jobs', '2');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const report = JSON.parse(readFileSync(path.join(work, 'r.json'), 'utf8'));
    expect(report.totals).toMatchObject({ files: 6, ok: 4, rejected: 1, skipped: 1 });
    const byInput = Object.fromEntries(report.files.map((f: { input: string }) => [f.input, f]));
    expect(byInput['sub/MR_truncated.dcm'].status).toBe('rejected');
    expect(byInput['notes.txt'].status).toBe('skipped');
    expect(byInput['sub/CT_small.dcm'].output).toBe('sub/CT_small.dcm');
    for (const name of ['CT_small.dcm', 'MR_small_bigendian.dcm', 'image_dfl.dcm', 'rtstruct.dcm']) {
      expect(existsSync(path.join(out, 'sub', name)), name).toBe(true);
      expect(spawnSync('dcmdump', ['-q', path.join(out, 'sub', name)]).status, name).toBe(0);
    }
    expect(existsSync(path.join(out, 'sub', 'MR_truncated.dcm'))).toBe(false);
    expect(readFileSync(path.join(work, 'r.html'), 'utf8')).toContain('<h1>DICOM de-identification</h1>');
    const map = readFileSync(path.join(work, 'map.csv'), 'utf8').trim().split('\n');
    expect(map[0]).toBe('original_patient_id,pseudonym');
    expect(map.length).toBeGreaterThan(1);
    // the report holds no PHI: the original patient IDs of the map do not occur in it
    const reportText = readFileSync(path.join(work, 'r.json'), 'utf8');
    for (const line of map.slice(1)) {
      const original = line.split(',')[0];
      if (original.length >= 4 && !original.startsWith('(')) expect(reportText.includes(original)).toBe(false);
    }
  });

  it('exits 2 with one line naming the field for an unknown keyword in an override', () => {
    const run = veil('dicom', 'deidentify', '--policy', path.join(work, 'bad.yaml'), '--in', path.join(work, 'in'), '--out', path.join(work, 'o2'));
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/bad\.yaml:5: dicom\.overrides\.0\.tag: unknown DICOM keyword/);
  });

  it('exits 2 with one line for a missing input directory', () => {
    const run = veil('dicom', 'deidentify', '--policy', path.join(work, 'policy.yaml'), '--in', path.join(work, 'nope'), '--out', path.join(work, 'o3'));
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/input directory not found/);
  });

  it('exits 2 before any work when --out is a file or a report cannot be created there', () => {
    writeFileSync(path.join(work, 'a-file'), 'x');
    const outIsFile = veil('dicom', 'deidentify', '--policy', path.join(work, 'policy.yaml'), '--in', path.join(work, 'in'), '--out', path.join(work, 'a-file'));
    expect(outIsFile.status).toBe(2);
    expect(outIsFile.stderr.trim().split('\n')).toHaveLength(1);
    expect(outIsFile.stderr).toMatch(/a-file: --out: is a file; expected a folder to write into/);
    const reportUnderFile = veil('dicom', 'deidentify', '--policy', path.join(work, 'policy.yaml'), '--in', path.join(work, 'in'), '--out', path.join(work, 'o4'), '--report', path.join(work, 'a-file', 'r.json'));
    expect(reportUnderFile.status).toBe(2);
    expect(reportUnderFile.stderr).toMatch(/--report: cannot be created: .*a-file is a file, not a folder/);
    expect(existsSync(path.join(work, 'o4'))).toBe(false);
  });
});

describe('veil dicom deidentify with burned-in text (CLI, real pixel cleaner)', () => {
  it('reports per file the regions found (box, class, confidence, redacted), the verification and the time, never the text', () => {
    cpSync(path.join(sharedDicom, 'presidio_2_ORIGINAL.dcm'), path.join(work, 'burned', 'ct.dcm'));
    writeFileSync(path.join(work, 'burned.yaml'), 'name: burned\nversion: 1\ndicom: { profile: basic }\npixels: { burnedInText: { scan: always } }\n');
    const run = veil('dicom', 'deidentify', '--policy', path.join(work, 'burned.yaml'), '--in', path.join(work, 'burned'), '--out', path.join(work, 'burned-out'), '--report', path.join(work, 'burned.json'), '--jobs', '1');
    expect(run.status).toBe(0);
    const text = readFileSync(path.join(work, 'burned.json'), 'utf8');
    const record = JSON.parse(text).files[0];
    expect(record.status).toBe('ok');
    expect(record.pixels).toMatchObject({ scanned: true, verification: 'passed', transferSyntax: 'same' });
    expect(record.pixels.ms).toBeGreaterThan(0);
    const redacted = record.pixels.regions.filter((r: { redacted: boolean; class: string }) => r.redacted && r.class === 'phi');
    expect(redacted.length).toBeGreaterThan(0);
    for (const region of record.pixels.regions) expect(Object.keys(region).sort()).toEqual(['box', 'class', 'confidence', 'frame', 'kind', 'redacted']);
    // the burned-in name is in the pixels; neither its text nor the header's reaches the report
    expect(text.toUpperCase()).not.toContain('KAUFMAN');
  }, 120_000);
});
