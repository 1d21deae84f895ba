import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeImage, readImage } from '../../src/image/imageFile.js';
import { planJobs } from '../../src/image/redactImages.js';
import { isVeilError } from '../../src/errors.js';

/**
 * A minimal uncompressed grey TIFF with one IFD per page, built by hand: sharp cannot write
 * float samples or pages of different sizes. `float` pages hold 32-bit floats, others bytes.
 */
function handTiff(pages: { width: number; height: number; float?: boolean }[]): Buffer {
  const tagCount = 10;
  const ifdSize = 2 + tagCount * 12 + 4;
  const sizes = pages.map((p) => p.width * p.height * (p.float ? 4 : 1));
  const total = 8 + pages.length * ifdSize + sizes.reduce((a, b) => a + b, 0);
  const buffer = Buffer.alloc(total);
  buffer.write('II', 0, 'ascii');
  buffer.writeUInt16LE(42, 2);
  buffer.writeUInt32LE(8, 4);
  let dataAt = 8 + pages.length * ifdSize;
  pages.forEach((page, n) => {
    const ifd = 8 + n * ifdSize;
    const tags: [number, number, number][] = [
      // tag, type (3 = SHORT, 4 = LONG), value
      [256, 3, page.width],
      [257, 3, page.height],
      [258, 3, page.float ? 32 : 8],
      [259, 3, 1],
      [262, 3, 1],
      [273, 4, dataAt],
      [277, 3, 1],
      [278, 3, page.height],
      [279, 4, sizes[n]],
      [339, 3, page.float ? 3 : 1],
    ];
    buffer.writeUInt16LE(tags.length, ifd);
    tags.forEach(([tag, type, value], i) => {
      const at = ifd + 2 + i * 12;
      buffer.writeUInt16LE(tag, at);
      buffer.writeUInt16LE(type, at + 2);
      buffer.writeUInt32LE(1, at + 4);
      if (type === 3) buffer.writeUInt16LE(value, at + 8);
      else buffer.writeUInt32LE(value, at + 8);
    });
    buffer.writeUInt32LE(n + 1 < pages.length ? ifd + ifdSize : 0, ifd + 2 + tags.length * 12);
    for (let i = 0; i < page.width * page.height; i++) {
      if (page.float) buffer.writeFloatLE(0.5, dataAt + i * 4);
      else buffer.writeUInt8((i * 7) % 256, dataAt + i);
    }
    dataAt += sizes[n];
  });
  return buffer;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'veil-imgfile-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('image files', () => {
  it.each([
    ['png', 4],
    ['jpeg', 3],
    ['tiff', 1],
  ] as const)('reads and writes %s with %i channel(s), same size and format', async (format, channels) => {
    const data = new Uint8Array(40 * 30 * channels).map((_, i) => (i * 7) % 256);
    const path = join(dir, `a.${format}`);
    const written = sharp(data, { raw: { width: 40, height: 30, channels } });
    // sharp writes one channel as RGB unless told it is grey; TIFF's default JPEG compression is RGB only
    await (channels <= 2 ? written.toColourspace('b-w') : written).toFormat(format, format === 'tiff' ? { compression: 'lzw' } : {}).toFile(path);
    const { image, format: read, pages } = await readImage(path);
    expect(read).toBe(format);
    expect([image.width, image.height, image.channels, pages]).toEqual([40, 30, channels, 1]);
    const encoded = await encodeImage(image, read);
    const meta = await sharp(encoded).metadata();
    expect([meta.width, meta.height, meta.format, meta.channels]).toEqual([40, 30, format, channels]);
    if (format !== 'jpeg') {
      // lossless formats keep every sample
      const again = join(dir, `again.${format}`);
      await writeFile(again, encoded);
      const back = (await readImage(again)).image;
      expect(back.channels).toBe(channels);
      expect(Array.from(back.data)).toEqual(Array.from(image.data));
    }
  });

  it.each([
    ['png', 1],
    ['png', 3],
    ['tiff', 1],
    ['tiff', 4],
  ] as const)('reads and writes 16-bit %s with %i channel(s) at 16 bits, every sample kept', async (format, channels) => {
    const samples = new Uint16Array(40 * 30 * channels).map((_, i) => (i * 2971) % 65536);
    const path = join(dir, `deep-${channels}.${format}`);
    await sharp(samples, { raw: { width: 40, height: 30, channels } })
      .toColourspace(channels <= 2 ? 'grey16' : 'rgb16')
      // sharp's TIFF default (JPEG compression) would bring it down to 8 bits
      .toFormat(format, format === 'tiff' ? { compression: 'deflate' } : {})
      .toFile(path);
    const { image } = await readImage(path);
    expect(image.data).toBeInstanceOf(Uint16Array);
    expect(image.channels).toBe(channels);
    expect(Array.from(image.data)).toEqual(Array.from(samples));
    const encoded = await encodeImage(image, format);
    const meta = await sharp(encoded).metadata();
    expect([meta.width, meta.height, meta.format, meta.depth, meta.channels]).toEqual([40, 30, format, 'ushort', channels]);
    const again = join(dir, `deep-again-${channels}.${format}`);
    await writeFile(again, encoded);
    expect(Array.from((await readImage(again)).image.data)).toEqual(Array.from(samples));
  });

  it('reads a multi-page TIFF whole (pages stacked) and writes every page back', async () => {
    const page = 40 * 30;
    const samples = new Uint8Array(page * 3).map((_, i) => (i * 13) % 256);
    const path = join(dir, 'pages.tiff');
    await sharp(samples, { raw: { width: 40, height: 90, channels: 1, pageHeight: 30 } }).toColourspace('b-w').tiff({ compression: 'lzw' }).toFile(path);
    const { image, pageHeight, pages } = await readImage(path);
    expect([image.width, image.height, image.channels, pageHeight, pages]).toEqual([40, 90, 1, 30, 3]);
    expect(Array.from(image.data)).toEqual(Array.from(samples));
    const encoded = await encodeImage(image, 'tiff', pageHeight);
    const meta = await sharp(encoded).metadata();
    expect([meta.pages, meta.width, meta.height]).toEqual([3, 40, 30]);
    const again = join(dir, 'pages-again.tiff');
    await writeFile(again, encoded);
    expect(Array.from((await readImage(again)).image.data)).toEqual(Array.from(samples));
  });

  it('refuses float samples, TIFF pages of different sizes, truncated and non-images with IMAGE_INVALID naming the file', async () => {
    const floats = join(dir, 'float.tiff');
    await writeFile(floats, handTiff([{ width: 4, height: 4, float: true }]));
    expect((await sharp(floats).metadata()).depth).toBe('float');
    const uneven = join(dir, 'uneven.tiff');
    await writeFile(uneven, handTiff([{ width: 40, height: 30 }, { width: 24, height: 20 }]));
    expect((await sharp(uneven).metadata()).pages).toBe(2);
    const fake = join(dir, 'fake.png');
    await writeFile(fake, 'nope');
    // A PNG cut short: its header reads, its pixels do not.
    const whole = await sharp(new Uint8Array(64 * 64 * 3).map((_, i) => (i * 31) % 256), { raw: { width: 64, height: 64, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
    const truncated = join(dir, 'truncated.png');
    await writeFile(truncated, whole.subarray(0, Math.floor(whole.length * 0.6)));
    for (const path of [floats, uneven, fake, truncated]) {
      const error = await readImage(path).catch((e: unknown) => e);
      expect(isVeilError(error) && error.code === 'IMAGE_INVALID' && error.location.file === path).toBe(true);
    }
  });

  it('plans one output per image, never over the input', async () => {
    await mkdir(join(dir, 'tree', 'sub'), { recursive: true });
    await writeFile(join(dir, 'tree', 'sub', 'x.PNG'), '');
    await writeFile(join(dir, 'tree', 'y.txt'), '');
    const jobs = await planJobs(join(dir, 'tree'), join(dir, 'out'));
    expect(jobs.map((j) => j.relative)).toEqual([join('sub', 'x.PNG')]);
    expect(jobs[0].output).toBe(join(dir, 'out', 'sub', 'x.PNG'));
    await expect(planJobs(join(dir, 'tree'), join(dir, 'tree'))).rejects.toThrow(/differ/);
    await expect(planJobs(join(dir, 'missing'), join(dir, 'o'))).rejects.toThrow(/does not exist/);
  });
});
