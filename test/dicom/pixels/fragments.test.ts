import { describe, expect, it } from 'vitest';
import { encapsulate, parseItems, splitFrames } from '../../../src/dicom/pixels/fragments.js';
import { frameByteLength, readSample, toLittleEndian, writeSample, type PixelLayout } from '../../../src/dicom/pixels/layout.js';
import { lookupTable } from '../../../src/dicom/pixels/view.js';

describe('encapsulated pixel data', () => {
  it('round-trips frames through an item stream with an offset table', () => {
    const frames = [new Uint8Array([0xff, 0xd8, 1, 2, 3]), new Uint8Array([0xff, 0xd8, 9, 9])];
    const stream = encapsulate(frames);
    const { offsets, fragments } = parseItems(stream);
    expect(offsets).toEqual([0, 14]);
    expect(fragments.map((f) => f.bytes.length)).toEqual([6, 4]); // odd frame padded to even length
    const back = splitFrames(stream, 2);
    expect(Array.from(back[1])).toEqual([0xff, 0xd8, 9, 9]);
  });

  it('joins several fragments of one frame; splits by start markers without an offset table', () => {
    const item = (bytes: number[]): number[] => [0xfe, 0xff, 0x00, 0xe0, bytes.length, 0, 0, 0, ...bytes];
    const stream = new Uint8Array([...item([]), ...item([0xff, 0xd8, 1, 2]), ...item([3, 4]), ...item([0xff, 0xd8, 5, 6])]);
    expect(splitFrames(stream, 1)[0].length).toBe(10);
    const two = splitFrames(stream, 2);
    expect(Array.from(two[0])).toEqual([0xff, 0xd8, 1, 2, 3, 4]);
    expect(Array.from(two[1])).toEqual([0xff, 0xd8, 5, 6]);
    expect(() => splitFrames(stream, 4)).toThrow();
  });
});

describe('native sample access', () => {
  const layout: PixelLayout = { rows: 1, columns: 2, samples: 1, bitsAllocated: 16, bitsStored: 12, signed: true, planar: false, photometric: 'MONOCHROME2' };

  it('sign-extends from Bits Stored and writes signed values back', () => {
    const frame = new Uint8Array([0xff, 0x0f, 0x05, 0x00]); // 0x0FFF = -1 in 12 bits, 5
    expect(readSample(frame, layout, 0, 0)).toBe(-1);
    expect(readSample(frame, layout, 1, 0)).toBe(5);
    writeSample(frame, layout, 1, 0, -2048);
    expect(readSample(frame, layout, 1, 0)).toBe(-2048);
  });

  it('keeps bits above Bits Stored for unsigned data', () => {
    const unsigned = { ...layout, signed: false };
    const frame = new Uint8Array([0x34, 0xf2, 0, 0]); // overlay bits in 0xF000
    writeSample(frame, unsigned, 0, 0, 0);
    expect(Array.from(frame.subarray(0, 2))).toEqual([0x00, 0xf0]);
  });

  it('addresses YBR_FULL_422 pairs and planar RGB', () => {
    const ybr: PixelLayout = { rows: 1, columns: 2, samples: 3, bitsAllocated: 8, bitsStored: 8, signed: false, planar: false, photometric: 'YBR_FULL_422' };
    expect(frameByteLength(ybr)).toBe(4);
    const frame = new Uint8Array([10, 20, 128, 130]);
    expect([readSample(frame, ybr, 1, 0), readSample(frame, ybr, 1, 1), readSample(frame, ybr, 1, 2)]).toEqual([20, 128, 130]);
    const planar: PixelLayout = { ...ybr, photometric: 'RGB', planar: true };
    expect(readSample(new Uint8Array([1, 2, 3, 4, 5, 6]), planar, 1, 2)).toBe(6);
  });

  it('swaps big-endian words', () => {
    expect(Array.from(toLittleEndian(new Uint8Array([1, 2, 3, 4]), 16))).toEqual([2, 1, 4, 3]);
  });

  it('reads 16-bit and packed 8-bit palettes as 8-bit values', () => {
    expect(lookupTable([[4, 0, 16], new Uint16Array([0, 0x4000, 0x8000, 0xffff])])(2)).toBe(0x80);
    expect(lookupTable([[4, 10, 8], new Uint16Array([0x0201, 0x0403])])(13)).toBe(4);
  });
});
