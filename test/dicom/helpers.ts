import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DicomDataset, DicomElement } from '../../src/dicom/codec/types.js';
import { encodeText, textValue } from '../../src/dicom/codec/values.js';
import { compileProfile, type TagOverride } from '../../src/dicom/profile/compile.js';
import type { DeidentifyContext } from '../../src/dicom/deidentify.js';
import type { DicomOption } from '../../src/policy/sections/dicom.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const sharedDicom = path.resolve(repoRoot, '../shared/data/dicom');
export const SECRET = Buffer.from('test-secret-for-veil-dicom-0123456789');

export function el(tag: number, vr: string, text: string): DicomElement {
  return { tag, vr, value: encodeText(text) };
}

export function seq(tag: number, items: DicomDataset[]): DicomElement {
  return { tag, vr: 'SQ', items };
}

export function textOf(dataset: DicomDataset, tag: number): string | undefined {
  const e = dataset.find((x) => x.tag === tag);
  return e?.value ? textValue(e.value) : undefined;
}

export function context(options: DicomOption[] = [], overrides: TagOverride[] = [], extra: Partial<DeidentifyContext> = {}): DeidentifyContext {
  return {
    profile: compileProfile(options, overrides),
    secret: SECRET,
    unlisted: 'keep',
    patientPseudonym: 'VEIL-TESTPATIENT',
    safePrivate: new Map(),
    ...extra,
  };
}

export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}
