import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDicom } from '../../src/dicom/codec/read.js';
import { writeDicom } from '../../src/dicom/codec/write.js';
import { textValue } from '../../src/dicom/codec/values.js';
import type { DicomDataset } from '../../src/dicom/codec/types.js';
import { containsWord, findResidualValues } from '../../src/dicom/residual.js';
import { sharedDicom } from './helpers.js';

/**
 * The reference the one-pass matcher must agree with (the search as it was): one whole-word
 * search per value over each chunk and over a window across each seam.
 */
function reference(output: Uint8Array[], identifying: Map<string, string>): string[] {
  const pieces = output.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  const margin = Math.max(...[...identifying.keys()].map((v) => v.length)) + 1;
  for (let i = 0; i + 1 < output.length; i++) {
    pieces.push(Buffer.concat([output[i].subarray(Math.max(0, output[i].length - margin)), output[i + 1].subarray(0, margin)]));
  }
  const keywords = new Set<string>();
  for (const [value, keyword] of identifying) if (pieces.some((piece) => containsWord(piece, value))) keywords.add(keyword);
  return [...keywords].sort();
}

function texts(dataset: DicomDataset, into: string[] = []): string[] {
  for (const e of dataset) {
    if (e.items) for (const item of e.items) texts(item, into);
    else if (e.value && e.value.length >= 4 && e.value.length < 200) into.push(textValue(e.value).trim());
  }
  return into;
}

describe('residual-PHI matcher (one pass over the bytes for every value)', () => {
  it('finds exactly the values the per-value whole-word search finds, on every readable file of ../shared/data/dicom', () => {
    let files = 0;
    let hits = 0;
    for (const name of readdirSync(sharedDicom).filter((n) => n.endsWith('.dcm'))) {
      let chunks: Uint8Array[];
      let values: string[];
      try {
        const file = readDicom(readFileSync(path.join(sharedDicom, name)));
        chunks = writeDicom(file);
        values = texts(file.dataset);
      } catch {
        continue; // damaged files are the codec tests' business
      }
      // the file's own values (present), their inner pieces (inside longer words: no hit) and absent ones
      const identifying = new Map<string, string>();
      values.forEach((v, i) => {
        if (v.length >= 4) identifying.set(v, `K${i}`);
        if (v.length >= 8) identifying.set(v.slice(1, -1), `inner${i}`);
      });
      identifying.set('NOT-IN-ANY-FILE-4242', 'absent');
      const expected = reference(chunks, identifying);
      expect(findResidualValues(chunks, identifying), name).toEqual(expected);
      files++;
      hits += expected.length;
    }
    expect(files).toBeGreaterThan(20);
    expect(hits).toBeGreaterThan(100);
  });

  it('applies the word rule at both ends and across chunk seams', () => {
    const bytes = (text: string) => Buffer.from(text, 'latin1');
    const values = new Map([
      ['MARY', 'PatientName'],
      ['SMITH', 'OtherPatientNames'],
      ['1.2.3.4', 'StudyInstanceUID'],
      ['JONES', 'ReferringPhysicianName'],
    ]);
    // MARY only inside PRIMARY; SMITH split over two chunks; the UID between separators; JONES absent
    const chunks = [bytes('ORIGINAL\\PRIMARY\\SM'), bytes('ITH^A'), bytes('\u00001.2.3.4\u0000')];
    expect(findResidualValues(chunks, values)).toEqual(['OtherPatientNames', 'StudyInstanceUID']);
    expect(findResidualValues([bytes('XMARY MARYX _MARY')], values)).toEqual([]);
    expect(findResidualValues([bytes('(MARY)')], values)).toEqual(['PatientName']);
    // a value whose ends are not word characters matches next to letters
    expect(findResidualValues([bytes('a^SMITH^b')], new Map([['^SMITH^', 'x']]))).toEqual(['x']);
  });
  it('agrees with the per-value search on random bytes with planted values of every length, in several chunks', () => {
    // seeded (mulberry32), so a failure repeats
    let seed = 0x5eed;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const alphabet = 'AB12.^ _x\u0000';
    const word = (length: number) => Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    let hits = 0;
    for (let round = 0; round < 300; round++) {
      const identifying = new Map<string, string>();
      const shortest = 1 + Math.floor(random() * 6);
      for (let v = 0; v < 6; v++) identifying.set(word(shortest + Math.floor(random() * 5)), `K${v}`);
      const values = [...identifying.keys()];
      let text = word(Math.floor(random() * 40));
      for (let k = 0; k < 4; k++) text += values[Math.floor(random() * values.length)] + word(Math.floor(random() * 6));
      const bytes = Buffer.from(text, 'latin1');
      const cuts = [Math.floor(random() * bytes.length), Math.floor(random() * bytes.length)].sort((a, b) => a - b);
      const chunks = [bytes.subarray(0, cuts[0]), bytes.subarray(cuts[0], cuts[1]), bytes.subarray(cuts[1])];
      const expected = reference(chunks, identifying);
      expect(findResidualValues(chunks, identifying), `round ${round}`).toEqual(expected);
      hits += expected.length;
    }
    expect(hits).toBeGreaterThan(300);
  });
});
