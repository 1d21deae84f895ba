import type { Raster8 } from '../raster.js';
import { cropRaster, resizeBilinear } from './resize.js';

/**
 * DBNet input for one tile of the detection view: black padding around the tile (text
 * touching the image edge is common and DBNet misses it without context), optional
 * scaling (small text on small images), sides rounded up to multiples of 32, BGR planes
 * normalized with the ImageNet mean and std the model was trained with.
 */
export interface DetectionTile {
  /** Tile origin and size in image pixels. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface DetectionInput {
  tensor: Float32Array;
  /** Tensor width and height (multiples of 32). */
  width: number;
  height: number;
  /** Map pixel (mx, my) ↔ image pixel (tile.x + mx / scale - pad, tile.y + my / scale - pad). */
  pad: number;
  scale: number;
  tile: DetectionTile;
}

export const DETECTION_MEAN = [0.485, 0.456, 0.406];
export const DETECTION_STD = [0.229, 0.224, 0.225];

/** Normalized value of every 8-bit sample, per BGR plane (the same arithmetic as per pixel). */
const NORMALIZED = [0, 1, 2].map((c) => Float32Array.from({ length: 256 }, (_, v) => (v / 255 - DETECTION_MEAN[c]) / DETECTION_STD[c]));

export function roundUp32(value: number): number {
  return Math.max(32, Math.ceil(value / 32) * 32);
}

/**
 * Writes a raster into a DBNet input tensor (planes of `width` × `height`) with its top-left
 * corner at (left, top): BGR channel order, as PaddleOCR feeds OpenCV images, normalized
 * with the ImageNet mean and std.
 */
export function writeDetectionPixels(part: Raster8, tensor: Float32Array, width: number, height: number, left: number, top: number): void {
  const plane = width * height;
  const { channels, data } = part;
  const [blue, green, red] = NORMALIZED;
  for (let y = 0; y < part.height; y++) {
    let src = y * part.width * channels;
    const rowStart = (y + top) * width + left;
    const rowEnd = rowStart + part.width;
    if (channels === 3) {
      for (let dst = rowStart; dst < rowEnd; dst++, src += 3) {
        tensor[dst] = blue[data[src + 2]];
        tensor[plane + dst] = green[data[src + 1]];
        tensor[2 * plane + dst] = red[data[src]];
      }
    } else {
      for (let dst = rowStart; dst < rowEnd; dst++, src += channels) {
        const v = data[src];
        tensor[dst] = blue[v];
        tensor[plane + dst] = green[v];
        tensor[2 * plane + dst] = red[v];
      }
    }
  }
}

/** A DBNet input of `width` × `height` that is black everywhere (normalized per plane). */
export function blackTensor(width: number, height: number): Float32Array {
  const plane = width * height;
  const tensor = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) tensor.fill(NORMALIZED[c][0], c * plane, (c + 1) * plane);
  return tensor;
}

export function buildDetectionInput(view: Raster8, tile: DetectionTile, scale: number, pad: number): DetectionInput {
  let part = cropRaster(view, tile.x, tile.y, tile.width, tile.height);
  if (scale !== 1) part = resizeBilinear(part, Math.max(1, Math.round(part.width * scale)), Math.max(1, Math.round(part.height * scale)));
  const scaledPad = Math.round(pad * scale);
  const width = roundUp32(part.width + 2 * scaledPad);
  const height = roundUp32(part.height + 2 * scaledPad);
  const tensor = blackTensor(width, height);
  writeDetectionPixels(part, tensor, width, height, scaledPad, scaledPad);
  return { tensor, width, height, pad: scaledPad / scale, scale, tile };
}

/**
 * Splits an image into overlapping tiles no larger than `maxSide` (before padding), so
 * that large images are read at full resolution instead of being shrunk (8 px text
 * shrunk by half is no longer found).
 */
export function planTiles(width: number, height: number, maxSide: number, overlap: number): DetectionTile[] {
  const axis = (length: number): [number, number][] => {
    if (length <= maxSide) return [[0, length]];
    const count = Math.ceil((length - overlap) / (maxSide - overlap));
    const step = (length - maxSide) / (count - 1);
    const spans: [number, number][] = [];
    for (let i = 0; i < count; i++) {
      const start = Math.round(i * step);
      spans.push([start, Math.min(maxSide, length - start)]);
    }
    return spans;
  };
  const tiles: DetectionTile[] = [];
  for (const [y, h] of axis(height)) for (const [x, w] of axis(width)) tiles.push({ x, y, width: w, height: h });
  return tiles;
}
