/**
 * Issue 14, faces on real photographs (installed npm packages, nothing committed): nothing
 * outside the feathered face ellipses changes, faces are hidden by escalation rather than
 * the file withheld, and lamps are not faces.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFaceDetector, hideFaces, redactFaces, type FaceAction, type FaceDetection, type FaceDetector } from '../../../src/image/faces/index.js';
import { ellipseRadius, faceEllipse, featheredEllipse } from '../../../src/image/faces/mask.js';
import { escalationLadder, type FaceRedaction } from '../../../src/image/faces/verify.js';
import type { Raster8 } from '../../../src/image/raster.js';
import { redactImageFile } from '../../../src/image/redactFile.js';
import { parsePolicy, unwrap } from '../../../src/policy/load.js';
import { humanAsset } from './helpers.js';

/**
 * The detector, answering again without re-running the model for an image it has already seen
 * (same size and bytes). The tests below hide faces in the same photo with each of three
 * actions: detection is deterministic, so the first look at a photo runs once, not once per
 * action; every verification pass sees changed pixels and runs the model.
 */
function rememberingDetector(inner: FaceDetector): FaceDetector {
  const seen = new Map<string, FaceDetection[]>();
  return {
    async detect(view) {
      const key = createHash('sha256').update(`${view.width}x${view.height}x${view.channels}:`).update(view.data).digest('hex');
      let faces = seen.get(key);
      if (!faces) {
        faces = await inner.detect(view);
        seen.set(key, faces);
      }
      // a copy: redactFaces keys its bookkeeping by these objects
      return structuredClone(faces);
    },
    close: () => inner.close(),
  };
}

let detector: FaceDetector;
beforeAll(async () => {
  detector = rememberingDetector(await createFaceDetector());
});
afterAll(async () => {
  await detector.close();
});

type Region = { left: number; top: number; width: number; height: number };

async function photo(file: string, region?: Region, flop = false): Promise<Raster8> {
  let image = sharp(file);
  if (flop) image = sharp(await image.flop().png().toBuffer());
  if (region) image = image.extract(region);
  const { data, info } = await image.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) };
}

function autocannonPhoto(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('autocannon/package.json')), 'test', 'j5.jpeg');
}

/** Pixels that differ, byte by byte, outside the union of the hidden faces' feathered ellipses. */
function changedBeyondFeather(before: Raster8, after: Raster8, result: FaceRedaction, action: FaceAction): number {
  const ladder = escalationLadder(action);
  const ellipses = result.hidden.map((h) => featheredEllipse(faceEllipse(h.face, ladder.find((r) => r.step === h.hiddenBy)?.options.margin ?? 0.25)));
  let outside = 0;
  for (let y = 0; y < before.height; y++) {
    for (let x = 0; x < before.width; x++) {
      const p = (y * before.width + x) * 3;
      if (before.data[p] === after.data[p] && before.data[p + 1] === after.data[p + 1] && before.data[p + 2] === after.data[p + 2]) continue;
      if (!ellipses.some((e) => ellipseRadius(e, x, y) <= 1 + 1e-9)) outside++;
    }
  }
  return outside;
}

const photos: [string, () => Promise<Raster8>][] = [
  // The case: a 500×282 portrait, face right of centre, room behind.
  ['500×282 portrait, face right of centre', () => photo(humanAsset('screenshot-faceid.jpg'), { left: 300, top: 100, width: 500, height: 282 }, true)],
  ['face cards and thumbnails with ~20 px faces', () => photo(humanAsset('screenshot-facedetect.jpg'))],
  ['row of photo thumbnails', () => photo(humanAsset('samples.jpg'), { left: 0, top: 0, width: 1280, height: 160 })],
  ['street photo with a robot and people from behind', () => photo(autocannonPhoto())],
];

describe('hiding on real photographs', () => {
  it.each(photos)('%s: no pixel beyond the feathered ellipses changes, nothing withheld', async (_name, load) => {
    for (const action of ['blur', 'pixelate', 'fill'] as FaceAction[]) {
      const before = await load();
      const after: Raster8 = { ...before, data: new Uint8Array(before.data) };
      const result = await redactFaces(detector, after, action);
      expect(result.pixelsChanged).toBeGreaterThan(0);
      expect(changedBeyondFeather(before, after, result, action)).toBe(0);
      expect(result.pixelsOutside).toBe(0);
      expect(result.verification.passed).toBe(true);
      expect(result.withheld).toBeUndefined();
    }
  });

  it('the 500×282 portrait: the face is found right of centre and the left half is untouched', async () => {
    const before = await photo(humanAsset('screenshot-faceid.jpg'), { left: 300, top: 100, width: 500, height: 282 }, true);
    const after: Raster8 = { ...before, data: new Uint8Array(before.data) };
    const result = await redactFaces(detector, after, 'blur');
    expect(result.faces).toHaveLength(1);
    expect((result.faces[0] as FaceDetection).box.x).toBeGreaterThan(250);
    // the rows' first 250 pixels, byte for byte (compared as buffers: a deep toEqual of 211,500 values took seconds)
    const half = (image: Raster8): Buffer => Buffer.concat(Array.from({ length: image.height }, (_, y) => image.data.subarray(y * image.width * 3, (y * image.width + 250) * 3)));
    expect(half(after).equals(half(before))).toBe(true);
  });
});

describe('hideFaces near edges and with boxes large for the image', () => {
  it('changes nothing beyond the feathered ellipse, for boxes at every edge, up to the whole image, turned', async () => {
    // A busy 500×282 region of a real group photo: every box covers texture.
    const before = await photo(humanAsset('samples.jpg'), { left: 300, top: 500, width: 500, height: 282 });
    const boxes: [number, number, number, number, number][] = [
      // x, y, width, height, roll (radians)
      [380, 60, 90, 90, 0],
      [-20, -20, 120, 120, 0],
      [440, 200, 120, 120, 0.4],
      [0, 100, 60, 60, -0.6],
      [20, 10, 460, 260, 0],
      [100, 0, 400, 282, 0.3],
      [250, 140, 250, 142, -0.2],
    ];
    for (const [x, y, width, height, roll] of boxes) {
      const cx = x + width / 2;
      const cy = y + height / 2;
      const eye = (side: number): { x: number; y: number } => ({ x: cx + side * 0.2 * width * Math.cos(roll), y: cy - 0.1 * height + side * 0.2 * width * Math.sin(roll) });
      const face: FaceDetection = { box: { x, y, width, height }, score: 0.9, keypoints: [eye(-1), eye(1), { x: cx, y: cy }, { x: cx, y: cy + 0.2 * height }, eye(-2), eye(2)] };
      for (const action of ['blur', 'pixelate', 'fill'] as FaceAction[]) {
        const after: Raster8 = { ...before, data: new Uint8Array(before.data) };
        const changed = hideFaces(after, [face], action);
        expect(changed, `${action} box ${x},${y},${width}×${height}`).toBeGreaterThan(0);
        const ellipse = featheredEllipse(faceEllipse(face));
        let outside = 0;
        for (let py = 0; py < before.height; py++) {
          for (let px = 0; px < before.width; px++) {
            const p = (py * before.width + px) * 3;
            const same = before.data[p] === after.data[p] && before.data[p + 1] === after.data[p + 1] && before.data[p + 2] === after.data[p + 2];
            if (!same && ellipseRadius(ellipse, px, py) > 1 + 1e-9) outside++;
          }
        }
        expect(outside, `${action} box ${x},${y},${width}×${height}`).toBe(0);
      }
    }
  });
});

describe('false positives on face-free real photographs', () => {
  it('the chandeliers of samples.jpg are not faces', async () => {
    const ceiling = await photo(humanAsset('samples.jpg'), { left: 250, top: 195, width: 1030, height: 230 });
    expect(await detector.detect(ceiling)).toEqual([]);
    const left = await photo(humanAsset('samples.jpg'), { left: 0, top: 195, width: 640, height: 225 });
    expect(await detector.detect(left)).toEqual([]);
  });

  it('bodies without heads are not faces', async () => {
    expect(await detector.detect(await photo(humanAsset('samples.jpg'), { left: 0, top: 625, width: 1280, height: 270 }))).toEqual([]);
  });

  it('the real faces are still found (webcam portrait, five face cards)', async () => {
    expect(await detector.detect(await photo(humanAsset('screenshot-faceid.jpg')))).toHaveLength(1);
    expect(await detector.detect(await photo(humanAsset('screenshot-facedetect.jpg'), { left: 0, top: 340, width: 800, height: 160 }))).toHaveLength(5);
  });
});

describe('the image report', () => {
  it('says which rung hid each face of a real photo and writes the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'veil-faces-'));
    try {
      const input = join(dir, 'street.png');
      await sharp(autocannonPhoto()).png().toFile(input);
      const root = resolve(import.meta.dirname, '../../..');
      const pixels = unwrap(parsePolicy('name: faces\nversion: 1\npixels:\n  burnedInText: { scan: never }\n  faces: { detect: true, action: fill }\n', { file: 'faces.yaml', baseDir: root })).pixels;
      if (!pixels) throw new Error('the test policy has no pixels section');
      const report = await redactImageFile(input, join(dir, 'out.png'), 'street.png', pixels, undefined, detector);
      expect(report.status).toBe('redacted');
      expect(report.facesWithheld).toBeUndefined();
      expect(report.faces.length).toBeGreaterThan(0);
      for (const face of report.faces) expect(['fill', 'grown-fill']).toContain(face.hiddenBy);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
