import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeImage, readImage } from '../../src/image/imageFile.js';
import { planJobs } from '../../src/image/redactImages.js';
import { isVeilError } from '../../src/errors.js';

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
    await sharp(data, { raw: { width: 40, height: 30, channels } }).toFormat(format).toFile(path);
    const { image, format: read } = await readImage(path);
    expect(read).toBe(format);
    expect([image.width, image.height]).toEqual([40, 30]);
    const encoded = await encodeImage(image, read);
    const meta = await sharp(encoded).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([40, 30, format]);
    if (format !== 'jpeg') {
      // lossless formats keep every sample
      const back = await sharp(encoded).raw().toBuffer();
      expect(Buffer.compare(back, Buffer.from(image.data))).toBe(0);
    }
  });

  it('refuses 16-bit images and non-images with IMAGE_INVALID naming the file', async () => {
    const path16 = join(dir, 'deep.png');
    await sharp(new Uint16Array(16).fill(1000), { raw: { width: 4, height: 4, channels: 1 } }).toColourspace('grey16').png().toFile(path16);
    for (const path of [path16, join(dir, 'fake.png')]) {
      if (path.endsWith('fake.png')) await writeFile(path, 'nope');
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
