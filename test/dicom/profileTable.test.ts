import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PROFILE_TABLE } from '../../src/dicom/profile/table.js';
import { lookupTag } from '../../src/standard/dicomDictionary.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const standardFile = path.resolve(root, '../shared/data/dicom-standard/confidentiality_profile_attributes.json');

interface StandardRow {
  name: string;
  tag: string;
  basicProfile: string;
  [option: string]: string;
}

const OPTION_COLUMNS: Record<string, string> = {
  rtnSafePrivOpt: 'retainSafePrivate',
  rtnUIDsOpt: 'retainUIDs',
  rtnDevIdOpt: 'retainDeviceIdentity',
  rtnInstIdOpt: 'retainInstitutionIdentity',
  rtnPatCharsOpt: 'retainPatientCharacteristics',
  rtnLongFullDatesOpt: 'retainLongitudinalFullDates',
  rtnLongModifDatesOpt: 'retainLongitudinalModifiedDates',
  cleanDescOpt: 'cleanDescriptors',
  cleanStructContOpt: 'cleanStructuredContent',
  cleanGraphOpt: 'cleanGraphics',
};

function normalizeTag(tag: string): string {
  return tag.startsWith('(GGGG,EEEE)') ? '(gggg,eeee)odd' : tag.toUpperCase();
}

describe('PS3.15 Table E.1-1 as project data', () => {
  const standard = JSON.parse(readFileSync(standardFile, 'utf8')) as StandardRow[];
  const ours = new Map(PROFILE_TABLE.map((row) => [row[0].toUpperCase().replace('(GGGG,EEEE)ODD', '(gggg,eeee)odd'), row]));

  it('has exactly the rows of the published table', () => {
    expect(PROFILE_TABLE.length).toBe(standard.length);
    expect(new Set(PROFILE_TABLE.map((r) => r[0])).size).toBe(PROFILE_TABLE.length);
  });

  it.each(standard.map((row) => [row.tag, row] as const))('row %s has the same Basic Profile and option codes', (_tag, row) => {
    const mine = ours.get(normalizeTag(row.tag));
    expect(mine, `missing row ${row.tag}`).toBeDefined();
    if (!mine) return;
    expect(mine[2]).toBe(row.basicProfile);
    const expectedOptions: Record<string, string> = {};
    for (const [column, option] of Object.entries(OPTION_COLUMNS)) if (row[column]) expectedOptions[option] = row[column];
    expect(mine[3] ?? {}).toEqual(expectedOptions);
  });

  it('names each literal tag with its data-dictionary keyword', () => {
    let checked = 0;
    for (const [tag, keyword] of PROFILE_TABLE) {
      if (!/^\([0-9A-F]{4},[0-9A-F]{4}\)$/.test(tag)) continue;
      const entry = lookupTag(parseInt(tag.slice(1, 5) + tag.slice(6, 10), 16) >>> 0);
      if (entry) {
        expect(entry.keyword).toBe(keyword);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(600);
  });
});
