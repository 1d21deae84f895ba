import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readMetaGroup } from '../../src/dicom/codec/metaGroup.js';
import { readDicom } from '../../src/dicom/codec/read.js';
import { writeDicom } from '../../src/dicom/codec/write.js';
import { DicomDamagedError, NotDicomError, type DicomDataset } from '../../src/dicom/codec/types.js';
import { sharedDicom } from './helpers.js';

/** A comparable summary of a data set: tags, VRs and value bytes, nested. */
function shape(dataset: DicomDataset): unknown[] {
  return dataset.map((e) => [e.tag, e.items ? e.items.map(shape) : Buffer.from(e.value ?? e.verbatim ?? new Uint8Array(0)).toString('hex')]);
}

const files = readdirSync(sharedDicom).filter((f) => f.endsWith('.dcm'));

describe('DICOM codec', () => {
  it.each(files)('%s: reads, or fails with a reason', (name) => {
    const bytes = readFileSync(path.join(sharedDicom, name));
    let file;
    try {
      file = readDicom(bytes);
    } catch (error) {
      expect(error instanceof DicomDamagedError || error instanceof NotDicomError, String(error)).toBe(true);
      expect(['MR_truncated.dcm', 'no_meta.dcm']).toContain(name);
      return;
    }
    const written = Buffer.concat(writeDicom(file));
    const again = readDicom(written);
    expect(again.transferSyntax.uid).toBe(file.transferSyntax.uid);
    // values are kept exactly; odd lengths are padded to even on write
    const strip = (s: unknown[]): string => JSON.stringify(s).replace(/(20|00)"/g, '"');
    expect(strip(shape(again.dataset))).toBe(strip(shape(file.dataset)));
    expect(written.subarray(128, 132).toString('latin1')).toBe('DICM');
  });

  it('writes the same bytes into a lent scratch buffer, file after file, as into buffers of its own', () => {
    const readable = files.flatMap((name) => {
      try {
        return [readDicom(readFileSync(path.join(sharedDicom, name)))];
      } catch {
        return [];
      }
    });
    expect(readable.length).toBeGreaterThan(20);
    const scratch = { buffer: Buffer.alloc(0) };
    for (const file of [...readable, ...readable]) {
      const lent = writeDicom(file, scratch);
      // copied before the next call reuses the buffer
      expect(Buffer.concat(lent).equals(Buffer.concat(writeDicom(file)))).toBe(true);
    }
    // a small output's bytes are views of the scratch buffer itself (it is reused, not reallocated)
    const small = readable.find((f) => !f.transferSyntax.deflated && Buffer.concat(writeDicom(f)).length < 60000)!;
    const chunks = writeDicom(small, scratch);
    expect(chunks[0].buffer).toBe(scratch.buffer.buffer);
  });

  it('gives the meta group its length, whether its elements are plain values or not', () => {
    const file = readDicom(readFileSync(path.join(sharedDicom, 'CT_small.dcm')));
    const groupLength = (bytes: Buffer) => bytes.readUInt32LE(132 + 8);
    const plain = Buffer.concat(writeDicom(file));
    const metaEnd = (bytes: Buffer) => {
      let at = 132;
      while (bytes.readUInt16LE(at) === 0x0002) {
        const vr = bytes.toString('latin1', at + 4, at + 6);
        at += ['OB', 'SQ', 'UN', 'UT'].includes(vr) ? 12 + bytes.readUInt32LE(at + 8) : 8 + bytes.readUInt16LE(at + 6);
      }
      return at;
    };
    expect(groupLength(plain)).toBe(metaEnd(plain) - (132 + 12));
    // a sequence in the meta group (not something Veil writes) takes the general path
    const odd = { ...file, meta: [...file.meta, { tag: 0x00020100, vr: 'SQ', items: [[{ tag: 0x00020101, vr: 'LO', value: Buffer.from('ABC') }]] }] };
    const written = Buffer.concat(writeDicom(odd));
    expect(readDicom(written).meta.some((e) => e.tag === 0x00020100)).toBe(true);
    expect(groupLength(written)).toBeGreaterThan(groupLength(plain));
    expect(readDicom(written).dataset.length).toBe(file.dataset.length);
  });

  it('reads the meta group UIDs from raw bytes as the full reader does, and where the data set starts', () => {
    let checked = 0;
    for (const name of files) {
      const bytes = readFileSync(path.join(sharedDicom, name));
      if (bytes.toString('latin1', 128, 132) !== 'DICM') continue;
      let file;
      try {
        file = readDicom(bytes);
      } catch {
        continue;
      }
      const uid = (tag: number) => Buffer.from(file.meta.find((e) => e.tag === tag)?.value ?? new Uint8Array(0)).toString('latin1').replace(/[\0 ]+$/, '');
      const meta = readMetaGroup(bytes);
      expect({ name, sop: meta.sopInstanceUid, cls: meta.sopClassUid, ts: meta.transferSyntaxUid }).toEqual({ name, sop: uid(0x00020003), cls: uid(0x00020002), ts: uid(0x00020010) });
      expect(bytes.readUInt16LE(meta.datasetOffset), name).not.toBe(0x0002);
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('reads big endian, implicit VR, deflated, no-meta and damaged-prefix files', () => {
    const ts = (name: string) => readDicom(readFileSync(path.join(sharedDicom, name))).transferSyntax;
    expect(ts('MR_small_bigendian.dcm')).toMatchObject({ littleEndian: false, explicit: true });
    expect(ts('MR_small_implicit.dcm')).toMatchObject({ explicit: false });
    expect(ts('image_dfl.dcm')).toMatchObject({ deflated: true });
    expect(readDicom(readFileSync(path.join(sharedDicom, 'rtstruct.dcm'))).warnings).toContain('no file meta information');
    expect(readDicom(readFileSync(path.join(sharedDicom, 'JLSN_RGB_ILV0.dcm'))).warnings.length).toBeGreaterThan(0);
  });

  it('reads a sequence encoded as UN into items', () => {
    const file = readDicom(readFileSync(path.join(sharedDicom, 'UN_sequence.dcm')));
    expect(file.dataset.some((e) => e.items && e.items.length > 0)).toBe(true);
  });

  it('reports a truncated file with the element that runs past the end', () => {
    expect(() => readDicom(readFileSync(path.join(sharedDicom, 'MR_truncated.dcm')))).toThrow(/truncated: \(7FE0,0010\)/);
  });
});

describe('damaged input', () => {
  it('never throws on truncated or corrupted files: each is rejected or read', async () => {
    const { deidentifyBytes } = await import('../../src/dicom/file.js');
    const { dicomSchema } = await import('../../src/policy/sections/dicom.js');
    const settings = { dicom: dicomSchema.parse({}), secret: Buffer.from('fuzz-secret-0123456789'), returnOriginalIds: false };
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const statuses = new Set<string>();
    for (const name of ['CT_small.dcm', 'rtplan.dcm', 'test-SR.dcm', 'UN_sequence.dcm', 'image_dfl.dcm', 'MR_small_bigendian.dcm']) {
      const original = readFileSync(path.join(sharedDicom, name));
      for (let k = 0; k < 40; k++) {
        const bytes = Buffer.from(original);
        let input: Buffer = bytes;
        if (k % 2 === 0) input = bytes.subarray(0, Math.floor(random() * Math.min(bytes.length, 3000)));
        else for (let j = 0; j < 4; j++) bytes[Math.floor(random() * Math.min(bytes.length, 3000))] = Math.floor(random() * 256);
        const { result } = await deidentifyBytes(input, { inputPath: '', relativePath: name, outputPath: 'x.dcm' }, settings);
        statuses.add(result.status);
        if (result.status !== 'ok') expect(result.reason, name).toBeTruthy();
      }
    }
    expect(statuses.has('rejected')).toBe(true);
  });
});
