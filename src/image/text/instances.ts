import type { Box } from '../raster.js';
import type { DetectionInput } from './detectionInput.js';

/**
 * One text instance, as a Mask R-CNN would give it: a box and a per-pixel mask, both in
 * image pixels. `mask` covers `box` row by row (1 = text region, already grown by the
 * DBNet unclip distance).
 */
export interface TextInstance {
  box: Box;
  mask: Uint8Array;
  /** Mean text probability over the component (0..1). */
  score: number;
}

export interface InstanceOptions {
  /** Pixels above this probability are text (DBNet's binarization threshold). */
  threshold: number;
  /** Components whose mean probability is lower are dropped. */
  minScore: number;
  /** Components whose smaller side (map pixels) is lower are dropped. */
  minSide: number;
  /** Grow factor of DBNet's unclip: distance = area × ratio / perimeter. */
  unclipRatio: number;
}

export const DEFAULT_INSTANCE_OPTIONS: InstanceOptions = { threshold: 0.3, minScore: 0.5, minSide: 3, unclipRatio: 1.5 };

interface Component {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  count: number;
  sum: number;
  label: number;
}

let floodStack = new Int32Array(0);

/** 8-connected components of `prob > threshold`; `labels` receives 1-based labels. */
export function labelComponents(prob: Float32Array, width: number, height: number, threshold: number, labels: Int32Array): Component[] {
  const components: Component[] = [];
  // Reused between calls: allocating (and zeroing) a map-sized stack each time cost more
  // than the labelling of a mostly empty map.
  if (floodStack.length < width * height) floodStack = new Int32Array(width * height);
  const stack = floodStack;
  for (let start = 0; start < prob.length; start++) {
    if (labels[start] !== 0 || prob[start] <= threshold) continue;
    const label = components.length + 1;
    const c: Component = { minX: width, minY: height, maxX: -1, maxY: -1, count: 0, sum: 0, label };
    let top = 0;
    stack[top++] = start;
    labels[start] = label;
    while (top > 0) {
      const index = stack[--top];
      const x = index % width;
      const y = (index - x) / width;
      c.count++;
      c.sum += prob[index];
      if (x < c.minX) c.minX = x;
      if (x > c.maxX) c.maxX = x;
      if (y < c.minY) c.minY = y;
      if (y > c.maxY) c.maxY = y;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const n = ny * width + nx;
          if (labels[n] === 0 && prob[n] > threshold) {
            labels[n] = label;
            stack[top++] = n;
          }
        }
      }
    }
    components.push(c);
  }
  return components;
}

/** Turns one DBNet probability map into instances in image coordinates (clipped to the image). */
export function instancesFromMap(
  prob: Float32Array,
  input: DetectionInput,
  imageWidth: number,
  imageHeight: number,
  options: InstanceOptions = DEFAULT_INSTANCE_OPTIONS,
): TextInstance[] {
  const { width, height, scale, pad, tile } = input;
  const labels = new Int32Array(width * height);
  const components = labelComponents(prob, width, height, options.threshold, labels);
  const instances: TextInstance[] = [];
  for (const c of components) {
    const w = c.maxX - c.minX + 1;
    const h = c.maxY - c.minY + 1;
    const score = c.sum / c.count;
    if (score < options.minScore || Math.min(w, h) < options.minSide) continue;
    const grow = Math.ceil((w * h * options.unclipRatio) / (2 * (w + h)));
    // Grown component mask in map pixels (square dilation by `grow`).
    const gx0 = c.minX - grow;
    const gy0 = c.minY - grow;
    const gw = w + 2 * grow;
    const gh = h + 2 * grow;
    const own = new Uint8Array(gw * gh);
    for (let y = c.minY; y <= c.maxY; y++) {
      for (let x = c.minX; x <= c.maxX; x++) if (labels[y * width + x] === c.label) own[(y - gy0) * gw + (x - gx0)] = 1;
    }
    const grown = dilateSquare(own, gw, gh, grow);
    // Image-space box of the grown map box, clipped to the tile's image.
    const toImageX = (mx: number): number => tile.x + mx / scale - pad;
    const toImageY = (my: number): number => tile.y + my / scale - pad;
    const x0 = Math.max(0, Math.floor(toImageX(gx0)));
    const y0 = Math.max(0, Math.floor(toImageY(gy0)));
    const x1 = Math.min(imageWidth, Math.ceil(toImageX(gx0 + gw)));
    const y1 = Math.min(imageHeight, Math.ceil(toImageY(gy0 + gh)));
    if (x1 <= x0 || y1 <= y0) continue;
    const box = { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
    const mask = new Uint8Array(box.width * box.height);
    for (let y = 0; y < box.height; y++) {
      const my = Math.min(gh - 1, Math.max(0, Math.floor((y0 + y + 0.5 - tile.y + pad) * scale) - gy0));
      for (let x = 0; x < box.width; x++) {
        const mx = Math.min(gw - 1, Math.max(0, Math.floor((x0 + x + 0.5 - tile.x + pad) * scale) - gx0));
        mask[y * box.width + x] = grown[my * gw + mx];
      }
    }
    instances.push({ box, mask, score });
  }
  return instances;
}

/** Square (Chebyshev) dilation of a binary mask by `radius`, separably. */
export function dilateSquare(mask: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  if (radius <= 0) return mask.slice();
  const rows = new Uint8Array(mask.length);
  for (let y = 0; y < height; y++) {
    let last = -Infinity;
    // forward pass remembers the last set pixel, backward pass the next one
    for (let x = 0; x < width; x++) {
      if (mask[y * width + x]) last = x;
      if (x - last <= radius) rows[y * width + x] = 1;
    }
    let next = Infinity;
    for (let x = width - 1; x >= 0; x--) {
      if (mask[y * width + x]) next = x;
      if (next - x <= radius) rows[y * width + x] = 1;
    }
  }
  const out = new Uint8Array(mask.length);
  for (let x = 0; x < width; x++) {
    let last = -Infinity;
    for (let y = 0; y < height; y++) {
      if (rows[y * width + x]) last = y;
      if (y - last <= radius) out[y * width + x] = 1;
    }
    let next = Infinity;
    for (let y = height - 1; y >= 0; y--) {
      if (rows[y * width + x]) next = y;
      if (next - y <= radius) out[y * width + x] = 1;
    }
  }
  return out;
}

/**
 * Merges instances found twice in overlapping tiles (or cut by a tile border): two
 * instances are one when their boxes intersect and share most of their height.
 */
export function mergeInstances(instances: TextInstance[]): TextInstance[] {
  const list = instances.slice();
  let merged = true;
  while (merged) {
    merged = false;
    outer: for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        if (sameLine(list[i].box, list[j].box)) {
          list[i] = union(list[i], list[j]);
          list.splice(j, 1);
          merged = true;
          break outer;
        }
      }
    }
  }
  return list;
}

function sameLine(a: Box, b: Box): boolean {
  const ix = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const iy = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (ix <= 0 || iy <= 0) return false;
  return iy >= 0.6 * Math.min(a.height, b.height);
}

function union(a: TextInstance, b: TextInstance): TextInstance {
  const x0 = Math.min(a.box.x, b.box.x);
  const y0 = Math.min(a.box.y, b.box.y);
  const x1 = Math.max(a.box.x + a.box.width, b.box.x + b.box.width);
  const y1 = Math.max(a.box.y + a.box.height, b.box.y + b.box.height);
  const box = { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
  const mask = new Uint8Array(box.width * box.height);
  for (const part of [a, b]) {
    for (let y = 0; y < part.box.height; y++) {
      for (let x = 0; x < part.box.width; x++) {
        if (part.mask[y * part.box.width + x]) mask[(part.box.y - y0 + y) * box.width + (part.box.x - x0 + x)] = 1;
      }
    }
  }
  const areaA = a.box.width * a.box.height;
  const areaB = b.box.width * b.box.height;
  return { box, mask, score: (a.score * areaA + b.score * areaB) / (areaA + areaB) };
}
