import { readFileSync } from 'node:fs';
import path from 'node:path';
import { constants, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MAX_INFLATED_BYTES, readDicom } from '../../src/dicom/codec/read.js';
import { DicomDamagedError } from '../../src/dicom/codec/types.js';
import { deidentifyBytes } from '../../src/dicom/file.js';
import { dicomSchema } from '../../src/policy/sections/dicom.js';
import { SECRET, sharedDicom } from './helpers.js';

/**
 * The meta header of a real deflated file followed by a deflate stream of `mib` MiB of zeros:
 * one MiB deflated with a full flush (byte-aligned, dictionary reset) repeated, then an empty
 * final block. About 1 KiB of file per MiB it inflates to.
 */
function deflateBomb(mib: number): Uint8Array {
  const real = readFileSync(path.join(sharedDicom, 'image_dfl.dcm'));
  const metaLength = real.readUInt32LE(132 + 8); // (0002,0000) group length value
  const bodyStart = 132 + 12 + metaLength;
  const oneMib = deflateRawSync(Buffer.alloc(1 << 20), { finishFlush: constants.Z_FULL_FLUSH });
  return new Uint8Array(Buffer.concat([real.subarray(0, bodyStart), ...Array<Buffer>(mib).fill(oneMib), Buffer.from([0x03, 0x00])]));
}

describe('deflated data sets', () => {
  it('a deflate bomb is refused as damaged at the inflation limit, not inflated whole', () => {
    const mib = MAX_INFLATED_BYTES / (1 << 20) + 64;
    const bomb = deflateBomb(mib);
    expect(bomb.length).toBeLessThan(mib * 1100);
    expect(() => readDicom(bomb)).toThrow(DicomDamagedError);
    expect(() => readDicom(bomb)).toThrow(/expands beyond 256 MiB/);
  });

  it('a deflate bomb is a rejected file with a reason in a run, and a real deflated file still reads', async () => {
    const settings = { dicom: dicomSchema.parse({}), secret: SECRET, returnOriginalIds: false };
    const { result } = await deidentifyBytes(deflateBomb(300), { inputPath: '', relativePath: 'bomb.dcm', outputPath: 'out.dcm' }, settings);
    expect(result.status).toBe('rejected');
    expect(result.reason).toMatch(/deflate bomb/);
    expect(readDicom(readFileSync(path.join(sharedDicom, 'image_dfl.dcm'))).transferSyntax.deflated).toBe(true);
  });
});
