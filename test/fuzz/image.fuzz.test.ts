/**
 * Mutated PNG, JPEG and TIFF files (truncated, bytes flipped, dimensions blown up) through
 * readImage and encodeImage, the image pipeline's decoding and writing edges. A file must
 * decode and re-encode, or be refused as IMAGE_INVALID; nothing else may be thrown.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeImage, readImage } from '../../src/image/imageFile.js';
import { tempDir } from '../helpers.js';
import { fuzzSeed, mutate, NO_PROBLEMS, outcomeOfError, Prng, problemsOf, Tally, type Outcome } from './fuzz.js';

const SEED = fuzzSeed(1306);
const CASES = 300;

/** Small images of every supported kind, made here so the suite needs no image files. */
async function samples(): Promise<{ name: string; bytes: Buffer }[]> {
  const rgb = { width: 48, height: 32, channels: 3 as const };
  const pixels = Buffer.alloc(48 * 32 * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37) % 256;
  const grey16 = new Uint16Array(40 * 24);
  for (let i = 0; i < grey16.length; i++) grey16[i] = (i * 997) % 65536;
  const page = await sharp(pixels, { raw: rgb }).png().toBuffer();
  return [
    { name: 'png', bytes: page },
    { name: 'jpeg', bytes: await sharp(pixels, { raw: rgb }).jpeg({ quality: 80 }).toBuffer() },
    { name: 'tiff', bytes: await sharp(pixels, { raw: rgb }).tiff({ compression: 'lzw' }).toBuffer() },
    { name: 'png16', bytes: await sharp(grey16, { raw: { width: 40, height: 24, channels: 1 } }).toColourspace('grey16').png().toBuffer() },
    { name: 'tiff-2-pages', bytes: await sharp(Buffer.concat([pixels, pixels]), { raw: { ...rgb, height: 64, pageHeight: 32 } }).tiff().toBuffer() },
  ];
}

/** CRC-32 as PNG chunks use it (ISO 3309, reflected, 0xEDB88320). */
function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Blows up the declared size of a PNG (IHDR) or the first SOF of a JPEG. */
function hugeDimensions(rng: Prng, bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  const ihdr = copy.indexOf('IHDR');
  if (ihdr >= 0) {
    copy.writeUInt32BE(rng.pick([0, 1, 65535, 200_000, 0x7fffffff, 0xffffffff]), ihdr + 4);
    copy.writeUInt32BE(rng.pick([0, 1, 65535, 200_000, 0x7fffffff]), ihdr + 8);
    // a valid CRC, so the decoder gets past the chunk check to the size itself
    copy.writeUInt32BE(crc32(copy.subarray(ihdr, ihdr + 17)), ihdr + 17);
    return copy;
  }
  const sof = copy.indexOf(Buffer.from([0xff, 0xc0]));
  if (sof >= 0 && sof + 9 <= copy.length) {
    copy.writeUInt16BE(rng.pick([0, 1, 0xffff]), sof + 5);
    copy.writeUInt16BE(rng.pick([0, 1, 0xffff]), sof + 7);
  }
  return copy;
}

describe(`image fuzz (seed ${SEED})`, () => {
  const dir = tempDir('veil-fuzz-image-');
  const tally = new Tally();
  let bases: { name: string; bytes: Buffer }[] = [];
  beforeAll(async () => {
    bases = await samples();
  });
  afterAll(() => console.log(tally.summary(`image seed=${SEED}`)));

  it(`${CASES} mutated images through readImage and encodeImage: decoded and re-encoded, or IMAGE_INVALID`, async () => {
    const rng = new Prng(SEED);
    for (let n = 0; n < CASES; n++) {
      const base = rng.pick(bases);
      const roll = rng.next();
      const { bytes, how } =
        roll < 0.2
          ? { bytes: hugeDimensions(rng, base.bytes), how: 'declared size blown up' }
          : roll < 0.3
            ? { bytes: Buffer.concat([base.bytes, mutate(rng, base.bytes).bytes]), how: 'a mutated copy appended after the end' }
            : mutate(rng, base.bytes);
      const id = `image seed=${SEED} case=${n} (${base.name}: ${how})`;
      const file = join(dir, `in-${n}.${base.name.startsWith('png') ? 'png' : base.name.startsWith('tiff') ? 'tif' : 'jpg'}`);
      writeFileSync(file, bytes);
      let outcome: Outcome = { kind: 'ok' };
      try {
        const decoded = await readImage(file);
        const encoded = await encodeImage(decoded.image, decoded.format, decoded.pageHeight);
        const back = await sharp(encoded, decoded.pages > 1 ? { pages: -1 } : {}).metadata();
        if (back.width !== decoded.image.width) outcome = { kind: 'internal', what: 'the re-encoded image has another width' };
      } catch (error) {
        outcome = outcomeOfError(error);
      }
      tally.record('image', id, outcome);
    }
    expect(problemsOf(tally, 'image')).toEqual(NO_PROBLEMS);
  });
});
