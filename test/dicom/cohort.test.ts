import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDicom } from '../../src/dicom/codec/read.js';
import { writeDicom } from '../../src/dicom/codec/write.js';
import { encodeText } from '../../src/dicom/codec/values.js';
import { setElement, getText } from '../../src/dicom/marking.js';
import { deidentifyDicomDirectory, type DicomRunReport } from '../../src/dicom/index.js';
import { parsePolicy, unwrap } from '../../src/policy/load.js';
import { repoRoot, SECRET, sharedDicom } from './helpers.js';

let work: string;
const PATIENTS = 24;

/** Two images per patient, each patient with its own ID, sex, age and weight (a seeded spread). */
function buildCorpus(dir: string): void {
  const template = readDicom(readFileSync(path.join(sharedDicom, 'CT_small.dcm')));
  for (let p = 0; p < PATIENTS; p++) {
    for (let image = 0; image < 2; image++) {
      const dataset = [...template.dataset];
      const text = (tag: number, vr: string, value: string) => setElement(dataset, { tag, vr, value: encodeText(value) });
      text(0x00100020, 'LO', `COHORT${1000 + p}`);
      text(0x00100010, 'PN', `PERSON${p}^TEST`);
      text(0x00100040, 'CS', p % 3 === 0 ? 'F' : 'M');
      text(0x00101010, 'AS', `${String(20 + ((p * 7) % 60)).padStart(3, '0')}Y`);
      text(0x00101030, 'DS', String(50 + ((p * 13) % 50)));
      text(0x00080018, 'UI', `1.2.826.0.1.3680043.9999.77.${p}.${image}`);
      const meta = template.meta.map((e) => (e.tag === 0x00020003 ? { ...e, value: encodeText(`1.2.826.0.1.3680043.9999.77.${p}.${image}`) } : e));
      writeFileSync(path.join(dir, `p${p}_${image}.dcm`), Buffer.concat(writeDicom({ ...template, meta, dataset })));
    }
  }
}

function policy(k: number, suppressionLimit: number) {
  const text = `name: cohort
version: 1
dicom:
  profile: basic
  options: [retainLongitudinalModifiedDates, retainPatientCharacteristics]
  cohort: { quasiIdentifiers: [PatientAge, PatientSex, PatientWeight], k: ${k}, suppressionLimit: ${suppressionLimit} }
pixels: { burnedInText: { scan: never } }
`;
  return unwrap(parsePolicy(text, { file: 'cohort.yaml', baseDir: repoRoot }));
}

function readCsv(file: string): string[][] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.match(/("[^"]*"|[^,]*)(,|$)/g)!.map((c) => c.replace(/,$/, '').replace(/^"(.*)"$/, '$1')).slice(0, 4));
}

let report: DicomRunReport;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'veil-dicom-cohort-'));
  mkdirSync(path.join(work, 'in'));
  buildCorpus(path.join(work, 'in'));
  report = await deidentifyDicomDirectory({ policy: policy(4, 0), input: path.join(work, 'in'), output: path.join(work, 'out'), secret: SECRET, jobs: 2 });
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('cohort k-anonymity across patients', () => {
  it('writes cohort.csv with one row per patient, every quasi-identifier combination shared by at least k patients', () => {
    const rows = readCsv(path.join(work, 'out', 'cohort.csv'));
    expect(rows[0]).toEqual(['patient', 'PatientAge', 'PatientSex', 'PatientWeight']);
    const body = rows.slice(1);
    expect(body).toHaveLength(PATIENTS - (report.cohort?.suppressedPatients.length ?? 0));
    const groups = new Map<string, number>();
    for (const row of body) groups.set(row.slice(1).join('|'), (groups.get(row.slice(1).join('|')) ?? 0) + 1);
    for (const size of groups.values()) expect(size).toBeGreaterThanOrEqual(4);
    for (const row of body) expect(row[0]).toMatch(/^VEIL-[0-9A-F]{16}$/);
    expect(report.cohort?.tabular).toMatchObject({ privacy: { k: { required: 4 }, satisfied: true } });
  });

  it('writes generalized values back only where the VR can hold them: AS, CS and DS are emptied when generalized', () => {
    const rows = readCsv(path.join(work, 'out', 'cohort.csv')).slice(1);
    const byPatient = new Map(rows.map((r) => [r[0], r]));
    let checked = 0;
    for (const f of report.files.filter((x) => x.status === 'ok')) {
      const out = readDicom(readFileSync(path.join(work, 'out', f.output as string)));
      const row = byPatient.get(getText(out.dataset, 0x00100020) as string);
      expect(row, f.input).toBeDefined();
      if (!row) continue;
      const age = getText(out.dataset, 0x00101010);
      if (/^\d+$/.test(row[1])) expect(Number(age?.slice(0, 3))).toBe(Number(row[1]));
      else expect(age ?? '').toBe('');
      const sex = getText(out.dataset, 0x00100040);
      expect(sex ?? '').toBe(/^[A-Z]$/.test(row[2]) ? row[2] : '');
      checked++;
    }
    expect(checked).toBe(report.totals.ok);
  });

  it('leaves suppressed patients out of the export and lists them with a reason', async () => {
    const strict = await deidentifyDicomDirectory({ policy: policy(PATIENTS + 1, 1), input: path.join(work, 'in'), output: path.join(work, 'out-all-suppressed'), secret: SECRET, jobs: 2 });
    expect(strict.cohort?.suppressedPatients).toHaveLength(PATIENTS);
    for (const p of strict.cohort?.suppressedPatients ?? []) expect(p.reason).toMatch(/k patients/);
    expect(strict.totals.ok).toBe(0);
    expect(strict.files.every((f) => f.status === 'skipped' && /suppressed/.test(f.reason ?? ''))).toBe(true);
    expect(readCsv(path.join(work, 'out-all-suppressed', 'cohort.csv'))).toHaveLength(1);
    expect(existsSync(path.join(work, 'out-all-suppressed', 'p0_0.dcm'))).toBe(false);
  });

  it('writes outputs dcmdump reads', () => {
    const f = report.files.find((x) => x.status === 'ok');
    expect(spawnSync('dcmdump', ['-q', path.join(work, 'out', f?.output as string)]).status).toBe(0);
  });
});
