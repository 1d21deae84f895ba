import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { VeilError } from '../errors.js';

/**
 * Reads a pre-assigned trial-ID map: CSV with two columns, original PatientID and
 * pseudonym (a header line "original,pseudonym" is allowed). Errors name the line, never a value.
 */
export async function loadPatientMap(baseDir: string, file: string): Promise<Record<string, string>> {
  const path = resolve(baseDir, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new VeilError('FILE_NOT_FOUND', 'cannot read the patient ID map', { file: path, field: 'dicom.patientIdMap' });
  }
  const map: Record<string, string> = Object.create(null) as Record<string, string>;
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    const cells = line.split(/[,;]/).map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
    if (index === 0 && /^original/i.test(cells[0] ?? '')) return;
    if (cells.length !== 2 || !cells[0] || !cells[1]) {
      throw new VeilError('CSV_INVALID', 'expected two columns: original PatientID, pseudonym', { file: path, line: index + 1 });
    }
    if (cells[0] in map) throw new VeilError('CSV_INVALID', 'this original PatientID is listed twice', { file: path, line: index + 1 });
    if (seen.has(cells[1])) throw new VeilError('CSV_INVALID', 'this pseudonym is given to two patients', { file: path, line: index + 1 });
    if (cells[1].length > 64) throw new VeilError('CSV_INVALID', 'a pseudonym holds at most 64 characters (LO)', { file: path, line: index + 1 });
    map[cells[0]] = cells[1];
    seen.add(cells[1]);
  });
  return map;
}
