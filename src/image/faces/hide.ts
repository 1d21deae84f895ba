import { VeilError } from '../../errors.js';
import type { Box, Raster8 } from '../raster.js';
import { ellipseBounds, faceEllipse, featheredEllipse, featherWeight, insideEllipse, type Ellipse } from './mask.js';
import type { FaceAction, FaceDetection } from './types.js';

export interface HideOptions {
  /** Growth of the face ellipse beyond the BlazeFace box (hair, ears, chin). Default 0.25. */
  margin?: number;
  /** Blur radius as a share of the face size. Default 0.4 (three box passes ≈ a Gaussian of that σ). */
  blurStrength?: number;
  /** Blocks across the face box when pixelating. Default 3 (at 4 BlazeFace still finds some faces). */
  pixelBlocks?: number;
  /** Grey level written by `fill`. Default: the mean colour around the face ellipse, so the
   * filled oval does not look like a dark head to the verifying detector. */
  fillValue?: number;
}

function checkRaster(image: Raster8): void {
  const { width, height, channels, data } = image;
  if (!(width > 0 && height > 0) || (channels !== 1 && channels !== 3) || data.length < width * height * channels) {
    throw new VeilError('IMAGE_INVALID', 'expected an 8-bit grey or RGB raster whose data matches its size');
  }
}

/**
 * Hides every face in place: the pixels inside each face's ellipse (see mask.ts) are
 * blurred, pixelated or filled; nothing outside the ellipses changes. Works on 8-bit grey
 * or interleaved RGB. Returns how many pixels changed. Cost ∝ the faces' area.
 *
 * @example
 *   const faces = await detector.detect(view);
 *   hideFaces(view, faces, 'blur');
 */
export function hideFaces(image: Raster8, faces: FaceDetection[], action: FaceAction, options: HideOptions = {}): number {
  checkRaster(image);
  const margin = options.margin ?? 0.25;
  const before = new Uint8Array(image.data);
  const touched: Box[] = [];
  for (const face of faces) {
    const ellipse = faceEllipse(face, margin);
    const bounds = ellipseBounds(action === 'pixelate' ? ellipse : featheredEllipse(ellipse), image.width, image.height);
    if (bounds.width === 0 || bounds.height === 0) continue;
    const size = Math.max(face.box.width, face.box.height);
    if (action === 'blur') blurInside(image, ellipse, bounds, Math.max(4, Math.round((options.blurStrength ?? 0.4) * size)));
    else if (action === 'pixelate') pixelateInside(image, ellipse, bounds, Math.max(3, Math.round(size / (options.pixelBlocks ?? 3))));
    else fillInside(image, ellipse, bounds, options.fillValue === undefined ? ringMean(image, ellipse) : [options.fillValue]);
    touched.push(bounds);
  }
  return countChanged(before, image, touched);
}

function countChanged(before: Uint8Array, image: Raster8, regions: Box[]): number {
  const { width, channels, data } = image;
  const seen = new Uint8Array(image.width * image.height);
  let changed = 0;
  for (const r of regions) {
    for (let y = r.y; y < r.y + r.height; y++) {
      for (let x = r.x; x < r.x + r.width; x++) {
        const p = y * width + x;
        if (seen[p]) continue;
        seen[p] = 1;
        for (let c = 0; c < channels; c++) {
          if (before[p * channels + c] !== data[p * channels + c]) {
            changed++;
            break;
          }
        }
      }
    }
  }
  return changed;
}

/** Mean colour of a thin ring just outside the feathered ellipse. */
function ringMean(image: Raster8, e: Ellipse): number[] {
  const { width, height, channels, data } = image;
  const inner = featheredEllipse(e);
  const outer: Ellipse = { ...inner, rx: inner.rx * 1.1, ry: inner.ry * 1.1 };
  const b = ellipseBounds(outer, width, height);
  const sum = new Float64Array(channels);
  let n = 0;
  for (let y = b.y; y < b.y + b.height; y++) {
    for (let x = b.x; x < b.x + b.width; x++) {
      if (!insideEllipse(outer, x, y) || insideEllipse(inner, x, y)) continue;
      for (let c = 0; c < channels; c++) sum[c] = (sum[c] as number) + (data[(y * width + x) * channels + c] as number);
      n++;
    }
  }
  return Array.from(sum, (s) => (n > 0 ? s / n : 0));
}

function fillInside(image: Raster8, e: Ellipse, b: Box, value: number[]): void {
  const { width, channels, data } = image;
  const v = Array.from({ length: channels }, (_, c) => Math.max(0, Math.min(255, Math.round(value[c] ?? value[0] ?? 0))));
  for (let y = b.y; y < b.y + b.height; y++) {
    for (let x = b.x; x < b.x + b.width; x++) {
      const w = featherWeight(e, x, y);
      if (w <= 0) continue;
      for (let c = 0; c < channels; c++) {
        const p = (y * width + x) * channels + c;
        data[p] = Math.round(w * (v[c] as number) + (1 - w) * (data[p] as number));
      }
    }
  }
}

/** Blocks aligned to the ellipse's bounds; each block takes the mean of its pixels. */
function pixelateInside(image: Raster8, e: Ellipse, b: Box, block: number): void {
  const { width, channels, data } = image;
  const mean = new Float64Array(channels);
  for (let by = b.y; by < b.y + b.height; by += block) {
    for (let bx = b.x; bx < b.x + b.width; bx += block) {
      const y1 = Math.min(b.y + b.height, by + block);
      const x1 = Math.min(b.x + b.width, bx + block);
      mean.fill(0);
      let n = 0;
      for (let y = by; y < y1; y++)
        for (let x = bx; x < x1; x++) {
          for (let c = 0; c < channels; c++) mean[c] = (mean[c] as number) + (data[(y * width + x) * channels + c] as number);
          n++;
        }
      for (let y = by; y < y1; y++)
        for (let x = bx; x < x1; x++) {
          if (!insideEllipse(e, x, y)) continue;
          for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = Math.round((mean[c] as number) / n);
        }
    }
  }
}

/**
 * Three separable box blurs of `radius` (≈ a Gaussian) over the ellipse's bounds grown by
 * the radius (so the face blends with its surroundings), written back only inside the
 * feathered ellipse. The blur is strong, so it runs on a copy shrunk by radius/3 and is
 * read back bilinearly: the cost no longer grows with the radius.
 */
function blurInside(image: Raster8, e: Ellipse, b: Box, radius: number): void {
  const { width, height, channels, data } = image;
  const x0 = Math.max(0, b.x - radius);
  const y0 = Math.max(0, b.y - radius);
  const x1 = Math.min(width, b.x + b.width + radius);
  const y1 = Math.min(height, b.y + b.height + radius);
  const step = Math.max(1, Math.floor(radius / 3));
  const sw = Math.ceil((x1 - x0) / step);
  const sh = Math.ceil((y1 - y0) / step);
  const small = Math.max(1, Math.round(radius / step));
  const plane = new Float32Array(sw * sh);
  const scratch = new Float32Array(Math.max(sw, sh));
  for (let c = 0; c < channels; c++) {
    shrink(image, c, x0, y0, x1, y1, step, plane, sw, sh);
    for (let pass = 0; pass < 3; pass++) {
      for (let y = 0; y < sh; y++) boxLine(plane, y * sw, 1, sw, small, scratch);
      for (let x = 0; x < sw; x++) boxLine(plane, x, sw, sh, small, scratch);
    }
    for (let y = b.y; y < b.y + b.height; y++) {
      const fy = Math.min(sh - 1, Math.max(0, (y - y0 + 0.5) / step - 0.5));
      const ya = Math.floor(fy);
      const yb = Math.min(sh - 1, ya + 1);
      const wy = fy - ya;
      for (let x = b.x; x < b.x + b.width; x++) {
        const weight = featherWeight(e, x, y);
        if (weight <= 0) continue;
        const fx = Math.min(sw - 1, Math.max(0, (x - x0 + 0.5) / step - 0.5));
        const xa = Math.floor(fx);
        const xb = Math.min(sw - 1, xa + 1);
        const wx = fx - xa;
        const top = (plane[ya * sw + xa] as number) * (1 - wx) + (plane[ya * sw + xb] as number) * wx;
        const bottom = (plane[yb * sw + xa] as number) * (1 - wx) + (plane[yb * sw + xb] as number) * wx;
        const p = (y * width + x) * channels + c;
        data[p] = Math.round(weight * (top * (1 - wy) + bottom * wy) + (1 - weight) * (data[p] as number));
      }
    }
  }
}

/** Block means of one channel of the region [x0, x1) × [y0, y1) into `plane` (sw × sh). */
function shrink(image: Raster8, c: number, x0: number, y0: number, x1: number, y1: number, step: number, plane: Float32Array, sw: number, sh: number): void {
  const { width, channels, data } = image;
  for (let sy = 0; sy < sh; sy++) {
    const ya = y0 + sy * step;
    const yb = Math.min(y1, ya + step);
    for (let sx = 0; sx < sw; sx++) {
      const xa = x0 + sx * step;
      const xb = Math.min(x1, xa + step);
      let sum = 0;
      for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) sum += data[(y * width + x) * channels + c] as number;
      plane[sy * sw + sx] = sum / ((yb - ya) * (xb - xa));
    }
  }
}

/** Running-mean box filter along one line of `n` values (edges clamped). */
function boxLine(values: Float32Array, start: number, step: number, n: number, radius: number, scratch: Float32Array): void {
  for (let i = 0; i < n; i++) scratch[i] = values[start + i * step] as number;
  const last = n - 1;
  let sum = 0;
  for (let i = -radius; i <= radius; i++) sum += scratch[i < 0 ? 0 : i > last ? last : i] as number;
  const size = 2 * radius + 1;
  for (let i = 0; i < n; i++) {
    values[start + i * step] = sum / size;
    const add = i + radius + 1;
    const drop = i - radius;
    sum += (scratch[add > last ? last : add] as number) - (scratch[drop < 0 ? 0 : drop] as number);
  }
}
