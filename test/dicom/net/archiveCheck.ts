import { expect } from 'vitest';
import { readDicom } from '../../../src/dicom/codec/read.js';
import type { DicomDataset } from '../../../src/dicom/codec/types.js';
import { getText } from '../../../src/dicom/marking.js';
import { containsWord } from '../../../src/dicom/residual.js';
import type { Orthanc } from './orthanc.js';

/** Every element with its value bytes, nested: what must match (Orthanc re-encodes sequence lengths when it stores). */
export function elementsOf(dataset: DicomDataset): unknown[] {
  return dataset.map((e) => [e.tag, e.vr, Buffer.from(e.value ?? e.verbatim ?? []).toString('hex'), e.items?.map(elementsOf)]);
}

export interface FolderPathExpectation {
  /** The data sets sent, by any id. */
  inputs: Map<string, DicomDataset>;
  /** Identifying values collected from the inputs: none may be in any stored file. */
  identifying: Set<string>;
  /** `veil dicom deidentify` output of the same files with the same key, by new SOPInstanceUID. */
  folderBySop: Map<string, Buffer>;
}

/**
 * Checks every instance a research archive holds: no original UID, no identifying value of any
 * input, and element for element the folder path's output. Returns the Orthanc ids and the
 * StudyInstanceUIDs seen.
 */
export async function checkArchiveAgainstFolder(target: Orthanc, expected: FolderPathExpectation): Promise<{ ids: string[]; studies: Set<string> }> {
  const originalUids = new Set([...expected.inputs.values()].flatMap((d) => [getText(d, 0x0020000d), getText(d, 0x0020000e), getText(d, 0x00080018)]));
  const ids = await target.get<string[]>('/instances');
  const studies = new Set<string>();
  for (const id of ids) {
    const bytes = await target.get<Buffer>(`/instances/${id}/file`);
    const dataset = readDicom(bytes).dataset;
    const study = getText(dataset, 0x0020000d) ?? '';
    studies.add(study);
    expect(originalUids.has(study)).toBe(false);
    expect(originalUids.has(getText(dataset, 0x00080018))).toBe(false);
    for (const value of expected.identifying) expect(containsWord(bytes, value), 'an identifying value of an input').toBe(false);
    const folder = expected.folderBySop.get(getText(dataset, 0x00080018) ?? '');
    expect(folder, 'an instance the folder path also wrote').toBeDefined();
    // pixel data and every other element as the folder path wrote them
    expect(elementsOf(dataset)).toEqual(elementsOf(readDicom(folder as Buffer).dataset));
  }
  return { ids, studies };
}
