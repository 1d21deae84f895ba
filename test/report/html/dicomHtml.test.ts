import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readDicom } from '../../../src/dicom/codec/read.js';
import { encodeText } from '../../../src/dicom/codec/values.js';
import { writeDicom } from '../../../src/dicom/codec/write.js';
import { deidentifyDicomDirectory, type DicomRunReport } from '../../../src/dicom/index.js';
import { setElement } from '../../../src/dicom/marking.js';
import { pixelEncoding } from '../../../src/report/html/dicomHtml.js';
import { page } from '../../../src/report/html/page.js';
import { parsePolicy, unwrap } from '../../../src/policy/load.js';
import { repoRoot, tempDir } from '../../helpers.js';
import { SECRET, sharedDicom } from '../../dicom/helpers.js';

/**
 * Issue 18: the DICOM HTML report had counts only. A real run over real files (a cohort of 12
 * patients built from CT_small.dcm, a truncated file, a text file whose name needs escaping)
 * must show every file's outcome, the cohort's anonymization and the tabular report's look.
 */
const work = tempDir('veil-dicom-html-');
const PATIENTS = 12;
let report: DicomRunReport;
let html: string;

beforeAll(async () => {
  const input = path.join(work, 'in');
  mkdirSync(input);
  const template = readDicom(readFileSync(path.join(sharedDicom, 'CT_small.dcm')));
  for (let p = 0; p < PATIENTS; p++) {
    const dataset = [...template.dataset];
    const text = (tag: number, vr: string, value: string) => setElement(dataset, { tag, vr, value: encodeText(value) });
    text(0x00100020, 'LO', `HTMLPAT${1000 + p}`);
    text(0x00100010, 'PN', `SURNAME${p}^GIVEN`);
    text(0x00100040, 'CS', p % 2 === 0 ? 'F' : 'M');
    text(0x00101010, 'AS', `${String(30 + ((p * 7) % 40)).padStart(3, '0')}Y`);
    text(0x00080018, 'UI', `1.2.826.0.1.3680043.9999.88.${p}`);
    const meta = template.meta.map((e) => (e.tag === 0x00020003 ? { ...e, value: encodeText(`1.2.826.0.1.3680043.9999.88.${p}`) } : e));
    writeFileSync(path.join(input, `p${p}.dcm`), Buffer.concat(writeDicom({ ...template, meta, dataset })));
  }
  copyFileSync(path.join(sharedDicom, 'MR_truncated.dcm'), path.join(input, 'truncated.dcm'));
  writeFileSync(path.join(input, 'notes <b>1.txt'), 'not a DICOM file\n');
  const policy = unwrap(parsePolicy(`name: html-cohort
version: 1
dicom:
  profile: basic
  options: [retainPatientCharacteristics]
  cohort: { quasiIdentifiers: [PatientAge, PatientSex], k: 3, suppressionLimit: 0 }
pixels: { burnedInText: { scan: never } }
`, { file: 'html.yaml', baseDir: repoRoot }));
  const reportHtml = path.join(work, 'r.html');
  report = await deidentifyDicomDirectory({ policy, input, output: path.join(work, 'out'), reportHtml, secret: SECRET, jobs: 1 });
  html = readFileSync(reportHtml, 'utf8');
}, 120_000);

describe('DICOM HTML report', () => {
  it('has a row per input file: output, status, reason, pixels examined or not, pixel encoding', () => {
    expect(report.totals).toMatchObject({ files: PATIENTS + 2, ok: PATIENTS, rejected: 1, skipped: 1 });
    const files = html.slice(html.indexOf('<h2>Files</h2>'), html.indexOf('<h2>Actions on elements</h2>'));
    const rows = [...files.matchAll(/<tr>(.*?)<\/tr>/g)].map((m) => [...m[1].matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((c) => c[1])).filter((r) => r.length > 0);
    expect(rows).toHaveLength(report.files.length);
    for (const f of report.files) {
      const row = rows.find((r) => r[0] === f.input.replace(/</g, '&lt;').replace(/>/g, '&gt;'));
      expect(row, f.input).toBeDefined();
      expect(row?.[1]).toBe(f.output ?? '-');
      expect(row?.[2]).toBe(f.status);
      expect(row?.[4]).toBe(f.pixelScan?.status ?? '-');
    }
    const truncated = rows.find((r) => r[0] === 'truncated.dcm');
    expect(truncated?.[3]).toBe(report.files.find((f) => f.input === 'truncated.dcm')?.reason);
    expect(truncated?.[3]).not.toBe('');
    // a rejected file is marked in red, with its reason and no output
    expect(files).toMatch(/<tr><td>truncated\.dcm<\/td><td>-<\/td><td class="bad">rejected<\/td><td>[^<]+<\/td><td class="bad">not-scanned<\/td>/);
  });

  it('escapes file names with the shared escaping, and holds no PHI', () => {
    expect(html).toContain('notes &lt;b&gt;1.txt');
    expect(html).not.toContain('<b>1');
    expect(html).not.toMatch(/HTMLPAT|SURNAME/);
  });

  it('has the cohort section with its guarantees, published-label loss and risk', () => {
    const cohort = html.slice(html.indexOf('<h2>Cohort k-anonymity</h2>'));
    expect(cohort.length).toBeGreaterThan(100);
    expect(cohort).toContain(`<td class="num">${PATIENTS}</td>`);
    expect(cohort).toContain('Loss on the published labels');
    expect(cohort).toContain('PatientAge');
    expect(cohort).toMatch(/Guarantees — <span class="ok">all guarantees met<\/span>/);
    expect(cohort).toContain('Risk (prosecutor model)');
  });

  it('uses the same page skeleton and styles as the tabular report', () => {
    const style = (doc: string) => doc.slice(doc.indexOf('<style>'), doc.indexOf('</style>'));
    expect(style(html)).toBe(style(page('x', '')));
    expect(html).toContain('<h1>DICOM de-identification</h1>');
    expect(html).toContain('<p class="meta">Policy <b>html-cohort</b>');
  });

  it('names how pixels were written: original bytes, lossless re-encode, or not known lossless', () => {
    const pixels = (transferSyntax: string) => ({ input: 'a.dcm', status: 'ok' as const, pixels: { scanned: true, reason: '', regions: [], transferSyntax, verification: 'passed' as const, ms: 1 } });
    expect(pixelEncoding(pixels('kept'))).toBe('original bytes');
    expect(pixelEncoding(pixels('same'))).toEqual({ text: 'lossless re-encode (same transfer syntax)', mark: 'ok' });
    expect(pixelEncoding(pixels('1.2.840.10008.1.2.1'))).toEqual({ text: 'lossless re-encode (1.2.840.10008.1.2.1)', mark: 'ok' });
    expect(pixelEncoding(pixels('1.2.840.10008.1.2.4.50'))).toMatchObject({ mark: 'bad' });
    expect(pixelEncoding({ input: 'b.dcm', status: 'ok' })).toBe('-');
  });
});
