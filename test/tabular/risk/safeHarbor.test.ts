import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readZipPopulation, safeHarborCheck } from '../../../src/tabular/risk/index.js';
import { tableFromRows } from '../../../src/tabular/table.js';
import { tempDir } from '../../helpers.js';

const dir = tempDir('veil-harbor-');
const missingValues = new Set(['', 'NA']);

/** One column per Safe Harbor identifier kind, each violating its rule in one cell (row 0). */
const VIOLATIONS: { rule: string; column: string; value: string }[] = [
  { rule: 'A', column: 'patient_name', value: 'Ada Lovelace' },
  { rule: 'B', column: 'zip', value: '02139' },
  { rule: 'C', column: 'visit_date', value: '2019-03-04' },
  { rule: 'C', column: 'age', value: '93' },
  { rule: 'D', column: 'contact_phone', value: '617-555-0100' },
  { rule: 'E', column: 'fax', value: '617-555-0199x' },
  { rule: 'F', column: 'contact', value: 'ada@example.org' },
  { rule: 'G', column: 'code', value: '078-05-1120' },
  { rule: 'H', column: 'mrn', value: 'M0042' },
  { rule: 'I', column: 'health_plan_id', value: 'HP-7' },
  { rule: 'J', column: 'account_number', value: 'AC-9' },
  { rule: 'K', column: 'license_number', value: 'LN-3' },
  { rule: 'L', column: 'car', value: '1HGCM82633A004352' },
  { rule: 'M', column: 'device_serial', value: 'SN-77' },
  { rule: 'N', column: 'homepage', value: 'https://ada.example.org/about' },
  { rule: 'O', column: 'origin', value: '10.1.2.3' },
  { rule: 'P', column: 'fingerprint', value: 'FP-1' },
  { rule: 'Q', column: 'photo', value: 'ada.jpg' },
];
const ROWS = 20;

function violatingTable() {
  const header = [...VIOLATIONS.map((v) => v.column), 'ticket', 'diagnosis'];
  const rows = Array.from({ length: ROWS }, (_, r) => [
    ...VIOLATIONS.map((v) => (r === 0 ? v.value : v.column === 'age' ? '40' : '')),
    `T-${1000 + r}`, // (R): a code per record
    r % 2 === 0 ? 'flu' : 'asthma',
  ]);
  return tableFromRows(header, rows);
}

describe('HIPAA Safe Harbor check', () => {
  const result = safeHarborCheck(violatingTable(), { missingValues });

  it('finds every one of the 18 rules violated, each in the column built to violate it, with its cell count', () => {
    expect(result.satisfied).toBe(false);
    expect(result.rules.map((r) => r.id)).toEqual('ABCDEFGHIJKLMNOPQR'.split(''));
    for (const rule of result.rules) {
      const expected = VIOLATIONS.filter((v) => v.rule === rule.id).map((v) => ({ column: v.column, cells: 1 }));
      if (rule.id === 'R') expected.push({ column: 'ticket', cells: ROWS });
      expect(rule.status, rule.id).toBe('fail');
      expect(rule.columns, rule.id).toEqual(expected);
    }
  });

  it('never puts a data value in the result', () => {
    const text = JSON.stringify(result);
    for (const v of VIOLATIONS) expect(text).not.toContain(v.value);
    expect(text).not.toContain('T-1000');
  });

  it('passes a table that keeps only what Safe Harbor allows (year, 3-digit ZIP of a large area, 90+ ages, categories, phones masked to one digit, a number above 89 in a column that is not an age)', () => {
    const zipPopulation = new Map([['021', 250_000]]);
    const clean = tableFromRows(['zip3', 'admission_year', 'age', 'diagnosis', 'phone', 'usage'], Array.from({ length: 25 }, (_, r) => ['021**', r % 2 ? '2019' : '[2010-2019]', r % 3 ? '[40-49]' : '90+', r % 2 ? 'flu' : 'asthma', `*********${r % 10}`, '95']));
    const ok = safeHarborCheck(clean, { missingValues, zipPopulation });
    expect(ok.rules.filter((r) => r.status !== 'pass')).toEqual([]);
    expect(ok.satisfied).toBe(true);
  });

  it('3-digit ZIPs: under 20,000 people fails with a ZIP population table, is left for review without one', () => {
    const file = join(dir, 'zip.csv');
    writeFileSync(file, 'zip3,population\n021,250000\n036,9000\n036,8000\n');
    const zipPopulation = readZipPopulation(file, { field: 'tabular.risk.zipPopulation', spec: 'zip.csv' });
    expect(zipPopulation.get('036')).toBe(17000);
    const table = tableFromRows(['zip'], [['021'], ['036'], ['036'], ['000']]);
    const withTable = safeHarborCheck(table, { missingValues, zipPopulation }).rules.find((r) => r.id === 'B');
    expect(withTable?.status).toBe('fail');
    expect(withTable?.columns).toEqual([{ column: 'zip', cells: 2 }]);
    const without = safeHarborCheck(table, { missingValues }).rules.find((r) => r.id === 'B');
    expect(without?.status).toBe('review');
  });

  it('a pseudonym shaped like a VIN in a patient id column is a medical record number, not a vehicle', () => {
    const rules = safeHarborCheck(tableFromRows(['patient_id'], [['P288A4E560BCE3177']]), { missingValues }).rules;
    expect(rules.find((r) => r.id === 'H')?.status).toBe('fail');
    expect(rules.find((r) => r.id === 'L')?.status).toBe('pass');
  });
});
