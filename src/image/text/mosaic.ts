import type { Raster8 } from '../raster.js';
import { blackTensor, roundUp32, writeDetectionPixels, type DetectionInput } from './detectionInput.js';

/**
 * Several small regions read by DBNet in one run: each region, with its own black border,
 * is placed on shelves of one tensor. One run over a packed tensor costs far less than a
 * run per region, where the border and the rounding to multiples of 32 are most of each
 * small tensor.
 */
export interface Slot {
  /** Top-left corner of the region's bordered slot in the tensor. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Packing {
  slots: Slot[];
  width: number;
  height: number;
}

/**
 * Shelf packing, first fit by decreasing height: each slot goes on the first shelf with
 * room left, else on a new shelf; shelves are `maxWidth` wide (or the widest slot); tensor
 * sides rounded up to multiples of 32.
 */
export function packShelves(sizes: readonly { width: number; height: number }[], maxWidth: number): Packing {
  const widest = Math.max(0, ...sizes.map((s) => s.width));
  const width = roundUp32(Math.max(widest, maxWidth));
  const order = sizes.map((_, i) => i).sort((a, b) => sizes[b].height - sizes[a].height || sizes[b].width - sizes[a].width);
  const slots: Slot[] = new Array<Slot>(sizes.length);
  const shelves: { y: number; height: number; used: number }[] = [];
  let bottom = 0;
  for (const i of order) {
    const { width: w, height: h } = sizes[i];
    let shelf = shelves.find((s) => s.used + w <= width);
    if (!shelf) {
      shelf = { y: bottom, height: h, used: 0 };
      shelves.push(shelf);
      bottom += h;
    }
    slots[i] = { x: shelf.used, y: shelf.y, width: w, height: h };
    shelf.used += w;
  }
  return { slots, width, height: roundUp32(bottom) };
}

/** Most shelf widths tried by packTightly. */
const WIDTH_CANDIDATES = 48;

/**
 * The tightest of many shelf widths (multiples of 32 from the widest slot to three times
 * a square's side): packing is cheap next to a DBNet run over the area it saves.
 */
export function packTightly(sizes: readonly { width: number; height: number }[]): Packing {
  const widest = roundUp32(Math.max(0, ...sizes.map((s) => s.width)));
  const side = Math.sqrt(sizes.reduce((sum, s) => sum + s.width * s.height, 0));
  const widestTried = Math.max(widest, roundUp32(3 * side));
  const step = roundUp32((widestTried - widest) / WIDTH_CANDIDATES);
  let best: Packing | undefined;
  for (let width = widest; width <= widestTried; width += step) {
    const packing = packShelves(sizes, width);
    if (!best || packing.width * packing.height < best.width * best.height) best = packing;
  }
  return best ?? { slots: [], width: 32, height: 32 };
}

export interface Mosaic {
  tensor: Float32Array;
  width: number;
  height: number;
  slots: Slot[];
}

/**
 * The DBNet input for parts (already scaled) each bordered by `pad` black pixels: BGR,
 * ImageNet mean/std, as buildDetectionInput.
 */
export function buildMosaic(parts: readonly Raster8[], pad: number): Mosaic {
  const sizes = parts.map((p) => ({ width: p.width + 2 * pad, height: p.height + 2 * pad }));
  const { slots, width, height } = packTightly(sizes);
  const tensor = blackTensor(width, height);
  parts.forEach((part, n) => writeDetectionPixels(part, tensor, width, height, slots[n].x + pad, slots[n].y + pad));
  return { tensor, width, height, slots };
}

/** The probability map of one slot, copied out of the mosaic's map. */
export function slotMap(map: Float32Array, mosaicWidth: number, slot: Slot): Float32Array {
  const out = new Float32Array(slot.width * slot.height);
  for (let y = 0; y < slot.height; y++) {
    const from = (slot.y + y) * mosaicWidth + slot.x;
    out.set(map.subarray(from, from + slot.width), y * slot.width);
  }
  return out;
}

/** Describes a slot's map as the detection input of its region alone (for instancesFromMap). */
export function slotInput(slot: Slot, pad: number, scale: number, region: { width: number; height: number }): DetectionInput {
  return { tensor: new Float32Array(0), width: slot.width, height: slot.height, pad: pad / scale, scale, tile: { x: 0, y: 0, width: region.width, height: region.height } };
}
