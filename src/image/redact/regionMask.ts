import type { Box } from '../raster.js';
import { dilateSquare } from '../text/instances.js';

export type RegionShape = 'box' | 'mask';

/** What is filled for one instance: its box, or its mask dilated to cover anti-aliasing. */
export interface RedactionRegion {
  box: Box;
  mask: Uint8Array;
}

/**
 * A full-image mask (1 = fill) of the union of the regions. `box` fills each box grown by
 * `margin` pixels; `mask` fills each instance mask dilated by `margin`.
 */
export function buildFillMask(width: number, height: number, regions: readonly RedactionRegion[], shape: RegionShape, margin: number): Uint8Array {
  const fill = new Uint8Array(width * height);
  for (const region of regions) {
    const { box } = region;
    if (shape === 'box') {
      // Boxes may be fractional (face detections): cover every pixel they touch.
      const x0 = Math.max(0, Math.floor(box.x - margin));
      const y0 = Math.max(0, Math.floor(box.y - margin));
      const x1 = Math.min(width, Math.ceil(box.x + box.width + margin));
      const y1 = Math.min(height, Math.ceil(box.y + box.height + margin));
      for (let y = y0; y < y1; y++) fill.fill(1, y * width + x0, y * width + x1);
      continue;
    }
    // Pad the instance mask by the margin, then dilate, then paste.
    const pw = box.width + 2 * margin;
    const ph = box.height + 2 * margin;
    const padded = new Uint8Array(pw * ph);
    for (let y = 0; y < box.height; y++) padded.set(region.mask.subarray(y * box.width, (y + 1) * box.width), (y + margin) * pw + margin);
    const grown = dilateSquare(padded, pw, ph, margin);
    for (let y = 0; y < ph; y++) {
      const iy = box.y - margin + y;
      if (iy < 0 || iy >= height) continue;
      for (let x = 0; x < pw; x++) {
        const ix = box.x - margin + x;
        if (ix >= 0 && ix < width && grown[y * pw + x]) fill[iy * width + ix] = 1;
      }
    }
  }
  return fill;
}

/** Share of a box's pixels that are set in a full-image mask. */
export function coveredFraction(mask: Uint8Array, width: number, box: Box): number {
  let covered = 0;
  for (let y = box.y; y < box.y + box.height; y++) for (let x = box.x; x < box.x + box.width; x++) covered += mask[y * width + x];
  return covered / Math.max(1, box.width * box.height);
}

export function countSet(mask: Uint8Array): number {
  let n = 0;
  for (const v of mask) n += v;
  return n;
}
