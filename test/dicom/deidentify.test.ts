import { describe, expect, it } from 'vitest';
import { collectIdentifyingValues, deidentifyDataset, cleanText } from '../../src/dicom/deidentify.js';
import { resolveCombined, rowAction } from '../../src/dicom/profile/compile.js';
import { remapUid } from '../../src/dicom/uids.js';
import type { DicomDataset } from '../../src/dicom/codec/types.js';
import { context, el, seq, SECRET, textOf } from './helpers.js';

const counts = () => ({ actions: {} as Record<string, number>, origins: {} as Record<string, number> });

function run(dataset: DicomDataset, ctx = context()) {
  const identifying = collectIdentifyingValues(dataset, ctx);
  return deidentifyDataset(dataset, ctx, [...identifying.keys()], counts());
}

describe('profile actions', () => {
  it('X removes, Z empties, D writes a dummy of the VR, K keeps', () => {
    const out = run([
      el(0x00080050, 'SH', 'ACC12345'), // AccessionNumber: Z
      el(0x00080080, 'LO', 'General Hospital'), // InstitutionName: X/Z/D → D
      el(0x00081040, 'LO', 'Radiology Dept'), // InstitutionalDepartmentName: X
      el(0x00080060, 'CS', 'CT'), // Modality: not listed → kept
      el(0x00100030, 'DA', '19500101'), // PatientBirthDate: Z
    ]);
    expect(textOf(out, 0x00080050)).toBe('');
    expect(textOf(out, 0x00080080)).toBe('ANONYMIZED');
    expect(out.find((e) => e.tag === 0x00081040)).toBeUndefined();
    expect(textOf(out, 0x00080060)).toBe('CT');
    expect(textOf(out, 0x00100030)).toBe('');
  });

  it('U remaps UIDs to 2.25 with the key, the same way everywhere, standard UIDs untouched', () => {
    const study = '1.2.3.4.5.6.7';
    const out = run([
      el(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.2'),
      el(0x00080018, 'UI', '1.2.3.4.5.6.8'),
      seq(0x00081115, [[el(0x00081155, 'UI', study)]]),
      el(0x0020000d, 'UI', study),
    ]);
    expect(textOf(out, 0x00080016)).toBe('1.2.840.10008.5.1.4.1.1.2');
    const mapped = textOf(out, 0x0020000d) as string;
    expect(mapped).toMatch(/^2\.25\.\d+$/);
    expect(mapped.length).toBeLessThanOrEqual(64);
    const nested = out.find((e) => e.tag === 0x00081115)?.items?.[0];
    expect(textOf(nested as DicomDataset, 0x00081155)).toBe(mapped);
    expect(remapUid(SECRET, study)).toBe(mapped);
    expect(remapUid(Buffer.from('another-key-0123456789'), study)).not.toBe(mapped);
    expect(textOf(out, 0x00080018)).not.toBe(mapped);
  });

  it('retainUIDs keeps every UID, listed or not', () => {
    const out = run([el(0x00080018, 'UI', '1.2.3.4.5.6.8'), el(0x00041432, 'UI', '1.2.3.9')], context(['retainUIDs']));
    expect(textOf(out, 0x00080018)).toBe('1.2.3.4.5.6.8');
    expect(textOf(out, 0x00041432)).toBe('1.2.3.9');
    expect(textOf(run([el(0x00041432, 'UI', '1.2.3.9')]), 0x00041432)).toMatch(/^2\.25\./);
  });

  it('pseudonymizes PatientID and PatientName with the patient pseudonym', () => {
    const out = run([el(0x00100010, 'PN', 'DOE^JANE'), el(0x00100020, 'LO', 'MRN0001')]);
    expect(textOf(out, 0x00100010)).toBe('VEIL-TESTPATIENT');
    expect(textOf(out, 0x00100020)).toBe('VEIL-TESTPATIENT');
  });

  it('walks sequences at any depth and removes private elements and overlay groups', () => {
    const out = run([
      seq(0x00081032, [[el(0x00080100, 'SH', 'X1'), seq(0x00081084, [[el(0x00081060, 'PN', 'SMITH^JOHN')]])]]),
      el(0x00090010, 'LO', 'ACME private'),
      el(0x00091001, 'LO', 'secret'),
      { tag: 0x60000010, vr: 'US', value: Uint8Array.of(1, 0) },
      { tag: 0x60003000, vr: 'OW', value: new Uint8Array(8) },
      { tag: 0x50000010, vr: 'US', value: Uint8Array.of(1, 0) },
    ]);
    const nested = out.find((e) => e.tag === 0x00081032)?.items?.[0]?.find((e) => e.tag === 0x00081084)?.items?.[0];
    expect(nested && textOf(nested, 0x00081060)).not.toBe('SMITH^JOHN');
    expect(out.some((e) => (e.tag >>> 16) % 2 === 1)).toBe(false);
    expect(out.some((e) => (e.tag >>> 16) >= 0x5000 && (e.tag >>> 16) <= 0x60ff)).toBe(false);
  });

  it('Modified Dates shifts every date of the patient by the same offset and keeps times', () => {
    const ctx = context(['retainLongitudinalModifiedDates'], [], { dateOffsetDays: 100 });
    const out = run([el(0x00080020, 'DA', '20200410'), el(0x00080021, 'DA', '20200411'), el(0x00080030, 'TM', '101500'), el(0x0008002a, 'DT', '20200411083000.000000')], ctx);
    expect(textOf(out, 0x00080020)).toBe('20200101');
    expect(textOf(out, 0x00080021)).toBe('20200102');
    expect(textOf(out, 0x00080030)).toBe('101500');
    expect(textOf(out, 0x0008002a)).toBe('20200102083000.000000');
  });

  it('Full Dates keeps dates; without a dates option they are emptied or dummied', () => {
    expect(textOf(run([el(0x00080020, 'DA', '20200410')], context(['retainLongitudinalFullDates'])), 0x00080020)).toBe('20200410');
    expect(textOf(run([el(0x00080020, 'DA', '20200410')]), 0x00080020)).toBe('');
  });

  it('options retain what they name (K beats C beats the Basic Profile)', () => {
    const ds = [el(0x00100040, 'CS', 'F'), el(0x00081010, 'SH', 'STATION7'), el(0x00080080, 'LO', 'General Hospital')];
    const out = run(ds, context(['retainPatientCharacteristics', 'retainDeviceIdentity', 'retainInstitutionIdentity']));
    expect(textOf(out, 0x00100040)).toBe('F');
    expect(textOf(out, 0x00081010)).toBe('STATION7');
    expect(textOf(out, 0x00080080)).toBe('General Hospital');
    expect(rowAction(['(0010,2110)', 'Allergies', 'X', { retainPatientCharacteristics: 'C', cleanDescriptors: 'C' }], new Set(['cleanDescriptors'])).action).toBe('C');
  });

  it('resolves combined codes to the conformant action', () => {
    expect(resolveCombined('X/Z', 'AccessionNumber')).toBe('Z');
    expect(resolveCombined('X/Z', 'ReferencedStudySequence')).toBe('X');
    expect(resolveCombined('X/D')).toBe('D');
    expect(resolveCombined('X/Z/D')).toBe('D');
    expect(resolveCombined('Z/D')).toBe('D');
    expect(resolveCombined('X/Z/U*')).toBe('U');
  });

  it('Clean Descriptors keeps descriptions but cuts identifying values out of them', () => {
    const ds = [el(0x00100010, 'PN', 'DOE^JANE'), el(0x00081030, 'LO', 'CT HEAD for DOE')];
    const out = run(ds, context(['cleanDescriptors']));
    expect(textOf(out, 0x00081030)).toBe('CT HEAD for *');
    expect(cleanText('a JANE b', ['JANE'])).toBe('a * b');
  });

  it('applies overrides by keyword or tag: keep, remove, empty, replace, pseudonymize', () => {
    const ctx = context([], [
      { tag: 0x00100040, keyword: 'PatientSex', action: 'keep' },
      { tag: 0x00080060, keyword: 'Modality', action: 'remove' },
      { tag: 0x00081030, keyword: 'StudyDescription', action: 'replace', value: 'STUDY' },
      { tag: 0x00080050, keyword: 'AccessionNumber', action: 'pseudonymize' },
      { tag: 0x00100020, keyword: 'PatientID', action: 'empty' },
    ]);
    const out = run([el(0x00080050, 'SH', 'ACC1'), el(0x00080060, 'CS', 'CT'), el(0x00081030, 'LO', 'x'), el(0x00100020, 'LO', 'MRN'), el(0x00100040, 'CS', 'M')], ctx);
    expect(textOf(out, 0x00100040)).toBe('M');
    expect(out.find((e) => e.tag === 0x00080060)).toBeUndefined();
    expect(textOf(out, 0x00081030)).toBe('STUDY');
    expect(textOf(out, 0x00080050)).toMatch(/^[0-9A-F]{16}$/);
    expect(textOf(out, 0x00100020)).toBe('');
  });

  it('unlistedElements: remove drops unlisted free text but keeps coded and numeric values', () => {
    const ctx = context([], [], { unlisted: 'remove' });
    const out = run([el(0x00080070, 'LO', 'ACME'), el(0x00280010, 'US', '\x00\x02'), el(0x00080060, 'CS', 'CT')], ctx);
    expect(out.find((e) => e.tag === 0x00080070)).toBeUndefined();
    expect(out.find((e) => e.tag === 0x00280010)).toBeDefined();
    expect(textOf(out, 0x00080060)).toBe('CT');
  });

  it('keeps safe private elements listed by the policy under retainSafePrivate', () => {
    const ctx = context(['retainSafePrivate'], [], { safePrivate: new Map([['0019|ACME', new Set([0x01])]]) });
    const out = run([el(0x00190010, 'LO', 'ACME'), el(0x00191001, 'DS', '1.5'), el(0x00191002, 'LO', 'other')], ctx);
    expect(textOf(out, 0x00191001)).toBe('1.5');
    expect(textOf(out, 0x00190010)).toBe('ACME');
    expect(out.find((e) => e.tag === 0x00191002)).toBeUndefined();
  });
});
