import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatTag, lookupKeyword, lookupTag, parseTag } from '../../src/standard/dicomDictionary.js';

/**
 * src/standard/dicomDictionaryData.ts is generated from dcmjs's dictionary (loading dcmjs whole
 * cost every DICOM worker thread ≈ 0.1 s). This test compares it with dcmjs entry by entry;
 * `VEIL_WRITE_DICTIONARY=1 npx vitest run test/standard/dicomDictionary.test.ts` rewrites it
 * (after a dcmjs upgrade).
 */
const dataFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/standard/dicomDictionaryData.ts');

interface DcmjsEntry {
  tag: string;
  vr: string;
  name: string;
}

function dcmjsEntries(): DcmjsEntry[] {
  const dcmjs = createRequire(import.meta.url)('dcmjs') as { data: { DicomMetaDictionary: { nameMap: Record<string, DcmjsEntry> } } };
  return Object.values(dcmjs.data.DicomMetaDictionary.nameMap);
}

/** dcmjs writes ambiguous VRs in lower case ("ox", "xs"); the usual one is kept (as Veil always did). */
function normalizeVr(vr: string): string {
  if (vr === 'ox' || vr === 'OB|OW' || vr === 'OW|OB') return 'OW';
  if (vr === 'xs' || vr === 'US|SS') return 'US';
  if (vr.length !== 2) return 'UN';
  return vr.toUpperCase();
}

/** The generated module's text: one line per dcmjs entry, "ggggeeee" + VR + keyword, in dcmjs's order. */
function generated(): string {
  const main = createRequire(import.meta.url).resolve('dcmjs');
  const packageJson = path.join(main.slice(0, main.lastIndexOf(`${path.sep}node_modules${path.sep}dcmjs${path.sep}`)), 'node_modules/dcmjs/package.json');
  const version = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
  const lines: string[] = [];
  for (const entry of dcmjsEntries()) {
    const match = /^\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)$/.exec(entry.tag);
    if (!match) continue;
    lines.push(`${(match[1] + match[2]).toUpperCase()}${normalizeVr(entry.vr)}${entry.name}`);
  }
  return [
    `// Generated from dcmjs@${version} by test/standard/dicomDictionary.test.ts (VEIL_WRITE_DICTIONARY=1); do not edit.`,
    '// One entry per line: tag as 8 hex digits, VR (2 letters), keyword. A later line for the same tag wins.',
    `export const DICTIONARY_LINES: string = ${JSON.stringify(lines.join('\n'))};`,
    '',
  ].join('\n');
}

describe('DICOM data dictionary (generated from dcmjs)', () => {
  it('the generated module matches dcmjs entry by entry', () => {
    const expected = generated();
    if (process.env.VEIL_WRITE_DICTIONARY === '1') writeFileSync(dataFile, expected);
    expect(readFileSync(dataFile, 'utf8')).toBe(expected);
  });

  it('answers every dcmjs tag and keyword as dcmjs does, with folded repeating groups', () => {
    const byTag = new Map<number, { keyword: string; vr: string }>();
    const byKeyword = new Map<string, { tag: number; vr: string }>();
    for (const entry of dcmjsEntries()) {
      const tag = parseTag(entry.tag);
      if (tag === undefined) continue;
      byTag.set(tag, { keyword: entry.name, vr: normalizeVr(entry.vr) });
      byKeyword.set(entry.name, { tag, vr: normalizeVr(entry.vr) });
    }
    expect(byTag.size).toBeGreaterThan(4000);
    for (const [tag, entry] of byTag) {
      if ((tag & 0xffff) === 0 || (tag >>> 16) % 2 === 1) continue; // group lengths and private creators are answered by rule
      expect(lookupTag(tag), formatTag(tag)).toEqual({ tag, ...entry });
    }
    for (const [keyword, entry] of byKeyword) expect(lookupKeyword(keyword), keyword).toEqual({ keyword, ...entry });
    expect(lookupTag(0x00100010)).toEqual({ tag: 0x00100010, keyword: 'PatientName', vr: 'PN' });
    expect(lookupTag(0x60023000)).toEqual({ tag: 0x60023000, keyword: 'OverlayData', vr: 'OW' });
    expect(lookupTag(0x00280000)).toEqual({ tag: 0x00280000, keyword: 'GroupLength', vr: 'UL' });
    expect(lookupTag(0x00090010)).toEqual({ tag: 0x00090010, keyword: 'PrivateCreator', vr: 'LO' });
    expect(lookupTag(0x00091001)).toBeUndefined();
    expect(lookupKeyword('NoSuchKeyword')).toBeUndefined();
  });
});
