import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy, unwrap } from '../../src/policy/load.js';
import type { PixelsPolicy } from '../../src/policy/sections/pixels.js';
import { readImage } from '../../src/image/imageFile.js';
import type { ImageFileReport } from '../../src/report/imageReport.js';
import type { Raster8 } from '../../src/image/raster.js';
import { viewOf } from '../../src/image/redact/fillRaster.js';
import { redactImageFile } from '../../src/image/redactFile.js';
import { scoreImage } from '../../src/image/synth/evaluate.js';
import { generateImage, type SyntheticImage } from '../../src/image/synth/generator.js';
import { createFaceDetector } from '../../src/image/faces/index.js';
import { createTextEngine, type TextEngine } from '../../src/image/textPipeline.js';
import { closeTextModels } from '../../src/image/text/session.js';

const root = resolve(import.meta.dirname, '../..');
function pixelsOf(yaml: string): PixelsPolicy {
  const pixels = unwrap(parsePolicy(yaml, { file: 'deep.yaml', baseDir: root })).pixels;
  if (!pixels) throw new Error('the test policy has no pixels section');
  return pixels;
}

const policy = pixelsOf('name: deep\nversion: 1\npixels:\n  burnedInText: { scan: always, redact: phi, fill: black }\n');

// A 12-bit image stored in 16-bit samples, as exports of medical images often are:
// 8-bit grey g is stored as 100 + 16·g.
const OFFSET = 100;
const STEP = 16;

let dir: string;
let synthetic: SyntheticImage;
let grey: Raster8;
let stored: Uint16Array;
let report: ImageFileReport;
/** One text engine for the file (loading its two models is most of a small run's CPU). */
let engine: TextEngine;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'veil-deep-'));
  synthetic = await generateImage(7300, { width: 512, height: 512, phiLines: 4, safeLines: 3 });
  const { width, height, data } = synthetic.image;
  grey = { width, height, channels: 1, data: new Uint8Array(width * height) };
  for (let i = 0; i < width * height; i++) grey.data[i] = Math.max(data[i * 3], data[i * 3 + 1], data[i * 3 + 2]);
  stored = Uint16Array.from(grey.data, (g) => OFFSET + STEP * g);
  await sharp(stored, { raw: { width, height, channels: 1 } }).toColourspace('grey16').png().toFile(join(dir, 'deep.png'));
  engine = await createTextEngine(1);
  report = await redactImageFile(join(dir, 'deep.png'), join(dir, 'out.png'), 'deep.png', policy, engine, undefined);
}, 120_000);

afterAll(() => rm(dir, { recursive: true, force: true }));
// the text model sessions of this thread end with the file (it may share its worker with other files)
afterAll(closeTextModels);

describe('redactImageFile on a 16-bit PNG', () => {
  it('writes a 16-bit PNG of the same size and reports 16 bits per sample', async () => {
    expect(report.status).toBe('redacted');
    expect(report.verification).toBe('passed');
    expect(report.bitsPerSample).toBe(16);
    const meta = await sharp(join(dir, 'out.png')).metadata();
    expect([meta.width, meta.height, meta.depth, meta.channels]).toEqual([512, 512, 'ushort', 1]);
  });

  it('hides the PHI lines in the 16-bit samples and keeps every other sample exactly', async () => {
    const { image } = await readImage(join(dir, 'out.png'));
    if (!(image.data instanceof Uint16Array)) throw new Error('expected 16-bit samples');
    const samples = image.data;
    let changed = 0;
    const after: Raster8 = { width: 512, height: 512, channels: 1, data: new Uint8Array(512 * 512) };
    for (let i = 0; i < samples.length; i++) {
      if (samples[i] !== stored[i]) {
        changed++;
        // filled black: 0, below anything the image held
        expect(samples[i]).toBe(0);
      }
      after.data[i] = Math.max(0, Math.round((samples[i] - OFFSET) / STEP));
    }
    expect(changed).toBe(report.pixelsChanged);
    const score = scoreImage(synthetic.lines, grey, after, report.text);
    expect(score.phiLines).toBeGreaterThanOrEqual(3);
    expect(score.phiHidden / score.phiLines).toBeGreaterThanOrEqual(0.75);
    expect(score.backgroundChanged / score.backgroundPixels).toBeLessThan(0.02);
  });
});

describe('redactImageFile on a 16-bit RGB photo with a face', () => {
  it('fills the face in the 16-bit samples (blur is an 8-bit operation), finds it no more, keeps 16 bits', async () => {
    // ../shared/data/dicom/OT-PAL-8-face.dcm decoded by dcmtk (installed here and in CI).
    const png8 = join(dir, 'face8.png');
    const run = spawnSync('dcm2pnm', ['--write-png', resolve(root, '../shared/data/dicom/OT-PAL-8-face.dcm'), png8], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`dcm2pnm failed: ${run.stderr}`);
    const { data, info } = await sharp(png8).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const deep = Uint16Array.from(data, (v) => v * 257);
    await sharp(deep, { raw: { width: info.width, height: info.height, channels: 3 } }).toColourspace('rgb16').png().toFile(join(dir, 'face16.png'));
    const faces = pixelsOf('name: faces\nversion: 1\npixels:\n  burnedInText: { scan: never }\n  faces: { detect: true, action: blur }\n');
    const detector = await createFaceDetector();
    try {
      const result = await redactImageFile(join(dir, 'face16.png'), join(dir, 'face16-out.png'), 'face16.png', faces, undefined, detector);
      expect(result.status).toBe('redacted');
      expect(result.verification).not.toBe('failed');
      expect(result.faces.length).toBeGreaterThanOrEqual(1);
      const { image } = await readImage(join(dir, 'face16-out.png'));
      expect(image.data).toBeInstanceOf(Uint16Array);
      const box = result.faces[0].box;
      const centre = (Math.round(box.y + box.height / 2) * image.width + Math.round(box.x + box.width / 2)) * 3;
      expect(Array.from(image.data.slice(centre, centre + 3))).toEqual([0, 0, 0]);
      // pixels away from the face keep their 16-bit values
      expect(image.data[0]).toBe(deep[0]);
      expect(result.pixelsChanged).toBeLessThan(0.6 * image.width * image.height);
      expect(await detector.detect(viewOf(image))).toHaveLength(0);
    } finally {
      await detector.close();
    }
  }, 120_000);
});

describe('redactImageFile on a two-page TIFF (a scanned form)', () => {
  it('cleans every page, says which page each region is on and writes both pages back', async () => {
    const pages = await Promise.all([7400, 7401].map((seed) => generateImage(seed, { width: 384, height: 384, phiLines: 3, safeLines: 2 })));
    const stacked = new Uint8Array(384 * 384 * 3 * 2);
    pages.forEach((p, n) => stacked.set(p.image.data, n * 384 * 384 * 3));
    const input = join(dir, 'form.tiff');
    await sharp(stacked, { raw: { width: 384, height: 768, channels: 3, pageHeight: 384 } }).tiff({ compression: 'lzw' }).toFile(input);
    const result = await redactImageFile(input, join(dir, 'form-out.tiff'), 'form.tiff', policy, engine, undefined);
    expect(result.status).toBe('redacted');
    expect(result.verification).toBe('passed');
    expect([result.pages, result.width, result.height]).toEqual([2, 384, 384]);
    expect(new Set(result.text.map((t) => t.page))).toEqual(new Set([0, 1]));
    const out = await readImage(join(dir, 'form-out.tiff'));
    expect([out.pages, out.pageHeight, out.format]).toEqual([2, 384, 'tiff']);
    pages.forEach((p, n) => {
      const size = 384 * 384 * 3;
      const after: Raster8 = { width: 384, height: 384, channels: 3, data: Uint8Array.from(out.image.data.subarray(n * size, (n + 1) * size)) };
      const onPage = result.text.filter((t) => t.page === n);
      const score = scoreImage(p.lines, p.image, after, onPage);
      expect(score.phiLines).toBeGreaterThanOrEqual(2);
      expect(score.phiHidden / score.phiLines).toBeGreaterThanOrEqual(0.66);
      expect(score.backgroundChanged / score.backgroundPixels).toBeLessThan(0.03);
    });
  }, 120_000);
});

describe('pixel-scan status of an image file', () => {
  it('says the pixels were scanned, or under scan: never that they were not examined and why', async () => {
    expect(report.pixelScan).toEqual({ status: 'scanned', reason: 'scan: always' });
    const never = pixelsOf('name: never\nversion: 1\npixels:\n  burnedInText: { scan: never }\n');
    const copied = await redactImageFile(join(dir, 'deep.png'), join(dir, 'copied.png'), 'deep.png', never, undefined, undefined);
    expect(copied.status).toBe('skipped');
    expect(copied.pixelScan.status).toBe('not-scanned');
    expect(copied.pixelScan.reason).toMatch(/not examined.*trusts the provenance/);
  });
});
