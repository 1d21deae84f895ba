/**
 * The DICOM pixel seam runs one way (issue 15): image knows nothing of DICOM, and dicom
 * builds its own pixel cleaner, so the CLI and the API job process do not wire it in.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deidentifyDicomDirectory } from '../../../src/dicom/index.js';
import { parsePolicy, unwrap } from '../../../src/policy/load.js';
import { repoRoot, SECRET, sharedDicom } from '../helpers.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return entry.name.endsWith('.ts') ? [file] : [];
  });
}

/** Every module specifier a file imports, static (`from '…'`) or dynamic (`import('…')`), resolved against src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/from\s+'(\.[^']+)'/g), ...text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g)].map((m) => m[1]);
  return [...new Set(specifiers)].map((s) => path.relative(path.join(repoRoot, 'src'), path.resolve(path.dirname(file), s)).split(path.sep).join('/'));
}

describe('the DICOM pixel seam', () => {
  it('image imports nothing of dicom, and only dicom reaches src/dicom/pixels/ (except the listed report page)', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(path.join(repoRoot, 'src'))) {
      const from = path.relative(path.join(repoRoot, 'src'), file).split(path.sep).join('/');
      for (const target of importsOf(file)) {
        if (from.startsWith('image/') && target.startsWith('dicom/')) offenders.push(`${from} → ${target}`);
        // the report page's transfer syntax names are a listed exception (ARCHITECTURE.md)
        if (!from.startsWith('dicom/') && target.startsWith('dicom/pixels/') && from !== 'report/html/dicomHtml.ts') offenders.push(`${from} → ${target}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the CLI and the API job process leave the cleaner to dicom', () => {
    for (const file of ['src/cli/commands/dicom.ts', 'src/api/worker.ts']) {
      const text = readFileSync(path.join(repoRoot, file), 'utf8');
      expect(text, file).not.toMatch(/pixelCleaner|dicomCleaner|pixels\/cleaner/);
    }
  });

  describe('a directory run with a pixels section and no cleaner passed in', () => {
    let work: string;
    beforeAll(() => {
      work = mkdtempSync(path.join(tmpdir(), 'veil-seam-'));
      cpSync(path.join(sharedDicom, 'presidio_2_ORIGINAL.dcm'), path.join(work, 'in', 'burned.dcm'));
    });
    afterAll(() => rmSync(work, { recursive: true, force: true }));

    it('builds its own cleaner and redacts the burned-in text', async () => {
      const policy = unwrap(parsePolicy('name: seam\nversion: 1\ndicom: { profile: basic }\npixels: { burnedInText: { scan: always } }\n', { file: 'p.yaml', baseDir: repoRoot }));
      const report = await deidentifyDicomDirectory({ policy, input: path.join(work, 'in'), output: path.join(work, 'out'), secret: SECRET, jobs: 1 });
      const file = report.files.find((f) => f.input === 'burned.dcm');
      expect(file?.status).toBe('ok');
      expect(file?.pixelScan?.status).toBe('scanned');
      expect(file?.pixels?.verification).toBe('passed');
      expect(file?.pixels?.regions.some((r) => r.kind === 'text' && r.redacted)).toBe(true);
    }, 180_000);
  });
});
