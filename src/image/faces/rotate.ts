import type { Raster8 } from '../raster.js';
import type { RawDetection } from './decode.js';

/** Quarter turns (clockwise) the detector can look at an image in. */
export type Rotation = 0 | 90 | 180 | 270;

/** The image turned clockwise by `rotation` (a copy; 0 returns the input). */
export function rotateRaster(view: Raster8, rotation: Rotation): Raster8 {
  if (rotation === 0) return view;
  const { width: w, height: h, channels, data } = view;
  const turned = rotation === 180 ? { width: w, height: h } : { width: h, height: w };
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [tx, ty] = rotation === 90 ? [h - 1 - y, x] : rotation === 180 ? [w - 1 - x, h - 1 - y] : [y, w - 1 - x];
      const src = (y * w + x) * channels;
      const dst = (ty * turned.width + tx) * channels;
      for (let c = 0; c < channels; c++) out[dst + c] = data[src + c] as number;
    }
  }
  return { ...turned, channels, data: out };
}

/** Maps a point of the turned image back to the original (w × h) image. */
export function unrotatePoint(x: number, y: number, rotation: Rotation, w: number, h: number): { x: number; y: number } {
  if (rotation === 90) return { x: y, y: h - x };
  if (rotation === 180) return { x: w - x, y: h - y };
  if (rotation === 270) return { x: w - y, y: x };
  return { x, y };
}

/** A detection found in the turned image, in original image coordinates (keypoints keep their meaning). */
export function unrotateDetection(d: RawDetection, rotation: Rotation, w: number, h: number): RawDetection {
  if (rotation === 0) return d;
  const a = unrotatePoint(d.x1, d.y1, rotation, w, h);
  const b = unrotatePoint(d.x2, d.y2, rotation, w, h);
  return {
    x1: Math.min(a.x, b.x),
    y1: Math.min(a.y, b.y),
    x2: Math.max(a.x, b.x),
    y2: Math.max(a.y, b.y),
    score: d.score,
    keypoints: d.keypoints.map((p) => unrotatePoint(p.x, p.y, rotation, w, h)),
  };
}
