import { Tensor, type InferenceSession } from 'onnxruntime-node';
import type { Box, Raster8 } from '../raster.js';
import { cropRaster, resizeBilinear } from './resize.js';
import { buildDetectionInput, planTiles } from './detectionInput.js';
import { buildMosaic, slotInput, slotMap } from './mosaic.js';
import { DEFAULT_INSTANCE_OPTIONS, instancesFromMap, mergeInstances, type InstanceOptions, type TextInstance } from './instances.js';
import { memoOf, type RunMemo, tensorKey } from './runMemo.js';
import { loadModel } from './session.js';

/**
 * DBNet as the detection code uses it: an input tensor (1×3×height×width) in, the text
 * probability map (height×width) out. Maps of inputs already run come from a memo (runMemo.ts).
 */
export interface DetectionModel {
  probabilities(tensor: Float32Array, height: number, width: number): Promise<Float32Array>;
}

/** Probability maps kept per detector (a 640×832 map is 2 MB). */
const MAPS_KEPT_BYTES = 48 * 1024 * 1024;

const mapMemos = new WeakMap<object, RunMemo<Float32Array>>();

export function detectionModel(session: InferenceSession): DetectionModel {
  const maps = memoOf(mapMemos, session, MAPS_KEPT_BYTES);
  return {
    async probabilities(tensor, height, width) {
      const dims = [1, 3, height, width];
      const key = tensorKey(tensor, dims);
      const kept = maps.get(key);
      if (kept) return kept;
      const output = await session.run({ [session.inputNames[0]]: new Tensor('float32', tensor, dims) });
      const map = output[session.outputNames[0]];
      const prob = (map.data as Float32Array).slice();
      map.dispose();
      maps.set(key, prob, prob.byteLength);
      return prob;
    },
  };
}

export interface DetectorOptions extends InstanceOptions {
  /** Black border added around each tile, in image pixels. */
  pad: number;
  /**
   * Border around each region of a closer look: these are crops from inside the view,
   * with real context around the text, so a narrower border does (and costs less: the
   * border is most of a thin strip read at ×2).
   */
  regionPad: number;
  /** Largest tile side (image pixels, before padding); larger images are tiled, never shrunk. */
  maxTile: number;
  overlap: number;
  /** Images whose long side is at most this are read at ×2 (small text on small images). */
  upscaleBelow: number;
  /** Instances taller than the larger of these (pixels; share of the short side) are not text lines. */
  maxLineHeight: number;
  maxLineShare: number;
}

export const DEFAULT_DETECTOR_OPTIONS: DetectorOptions = {
  ...DEFAULT_INSTANCE_OPTIONS,
  pad: 16,
  regionPad: 8,
  maxTile: 1280,
  overlap: 96,
  upscaleBelow: 256,
  maxLineHeight: 64,
  maxLineShare: 0.1,
};

/**
 * `known`: boxes (view coordinates) of text already found; their coloured pixels do not
 * call for a chroma pass (see detectText).
 */
export interface TextDetector {
  detect(view: Raster8): Promise<TextInstance[]>;
  /**
   * Detection inside several regions at once, read at `scale` (closer looks around PHI
   * lines): one DBNet run over all of them (mosaic.ts). Instances per region, clipped to
   * it, in view coordinates.
   */
  detectInRegions(view: Raster8, regions: readonly Box[], scale: number, known?: readonly Box[]): Promise<TextInstance[][]>;
  /**
   * Detection inside windows of the view only (verification around regions just filled),
   * read at the scale `detect` reads the whole view; instances cut by a window's inner
   * edge are dropped (the pass over the whole view already saw them whole).
   */
  detectInWindows(view: Raster8, windows: readonly Box[], known?: readonly Box[]): Promise<TextInstance[]>;
}

/** Rows `y` to `y + height` of a view, full width. */
export interface Band {
  y: number;
  height: number;
}

export async function createTextDetector(threads = 1, options: Partial<DetectorOptions> = {}): Promise<TextDetector & { session: InferenceSession }> {
  const { session } = await loadModel('ocr-det-ppocrv4', threads);
  const settings = { ...DEFAULT_DETECTOR_OPTIONS, ...options };
  const model = detectionModel(session);
  return {
    session,
    detect: (view) => detectText(model, view, settings),
    detectInRegions: (view, regions, scale, known = []) => detectInRegions(model, view, regions, scale, { ...settings, pad: settings.regionPad }, known),
    detectInWindows: async (view, windows, known = []) => {
      const perWindow = await detectInRegions(model, view, windows, upscaleOf(view, settings), settings, known);
      return perWindow.flatMap((instances, n) => instances.filter((instance) => !cutByInnerEdge(instance.box, windows[n], view)));
    },
  };
}

/** Whether a box touches an edge of its window that is not also an edge of the view. */
export function cutByInnerEdge(box: Box, window: Box, view: { width: number; height: number }): boolean {
  const left = window.x > 0 && box.x <= window.x + 1;
  const top = window.y > 0 && box.y <= window.y + 1;
  const right = window.x + window.width < view.width && box.x + box.width >= window.x + window.width - 1;
  const bottom = window.y + window.height < view.height && box.y + box.height >= window.y + window.height - 1;
  return left || top || right || bottom;
}

/**
 * Detection in regions of a view, all in one mosaic run, then one chroma mosaic run over
 * the rows of each region that hold coloured pixels no text found explains.
 */
export async function detectInRegions(
  model: DetectionModel,
  view: Raster8,
  regions: readonly Box[],
  scale: number,
  options: DetectorOptions,
  known: readonly Box[] = [],
): Promise<TextInstance[][]> {
  const crops = regions.map((r) => cropRaster(view, r.x, r.y, r.width, r.height));
  const found = await detectRasters(model, crops, scale, options);
  const chromaParts: Raster8[] = [];
  const owners: { region: number; dy: number }[] = [];
  crops.forEach((crop, n) => {
    const region = regions[n];
    const chroma = chromaView(crop, [...shiftBoxes(known, -region.x, -region.y), ...found[n].map((i) => i.box)]);
    if (!chroma) return;
    for (const band of chroma.bands) {
      chromaParts.push(cropRaster(chroma.view, 0, band.y, crop.width, band.height));
      owners.push({ region: n, dy: band.y });
    }
  });
  const chromaFound = await detectRasters(model, chromaParts, scale, options);
  chromaFound.forEach((instances, k) => {
    const { region, dy } = owners[k];
    found[region].push(...shiftInstances(instances, 0, dy));
  });
  const tallest = tallestLine(view, options);
  return found.map((instances, n) =>
    shiftInstances(
      owners.some((o) => o.region === n) ? mergeInstances(instances) : instances,
      regions[n].x,
      regions[n].y,
    ).filter((instance) => instance.box.height <= tallest),
  );
}

/** Largest mosaic (tensor pixels) read in one run; more regions are split over several runs. */
const MOSAIC_PIXELS = 1600 * 1600;

/**
 * DBNet over whole rasters packed into mosaics; instances per raster, in its own
 * coordinates. A raster too large for one tile is read alone, tiled (detectPass).
 */
async function detectRasters(model: DetectionModel, rasters: readonly Raster8[], scale: number, options: DetectorOptions): Promise<TextInstance[][]> {
  const found: TextInstance[][] = rasters.map(() => []);
  const large = rasters.map((r) => Math.max(r.width, r.height) * scale > options.maxTile);
  for (let n = 0; n < rasters.length; n++) if (large[n]) found[n] = await detectPass(model, rasters[n], options, scale);
  const small = rasters.map((_, n) => n).filter((n) => !large[n]);
  const pad = Math.round(options.pad * scale);
  const parts = rasters.map((r, n) => (large[n] || scale === 1 ? r : resizeBilinear(r, Math.max(1, Math.round(r.width * scale)), Math.max(1, Math.round(r.height * scale)))));
  for (const members of mosaicGroups(small.map((n) => (parts[n].width + 2 * pad) * (parts[n].height + 2 * pad)))) {
    const group = members.map((k) => small[k]);
    const mosaic = buildMosaic(
      group.map((n) => parts[n]),
      pad,
    );
    const prob = await model.probabilities(mosaic.tensor, mosaic.height, mosaic.width);
    group.forEach((n, k) => {
      const slot = mosaic.slots[k];
      const raster = rasters[n];
      found[n] = instancesFromMap(slotMap(prob, mosaic.width, slot), slotInput(slot, pad, scale, raster), raster.width, raster.height, options);
    });
  }
  return found;
}

/** Consecutive indices grouped so that each group's area stays under MOSAIC_PIXELS. */
function mosaicGroups(areas: readonly number[]): number[][] {
  const groups: number[][] = [];
  let current: number[] = [];
  let total = 0;
  areas.forEach((area, n) => {
    if (current.length > 0 && total + area > MOSAIC_PIXELS) {
      groups.push(current);
      current = [];
      total = 0;
    }
    current.push(n);
    total += area;
  });
  if (current.length > 0) groups.push(current);
  return groups;
}

function shiftInstances(instances: readonly TextInstance[], dx: number, dy: number): TextInstance[] {
  return dx === 0 && dy === 0 ? [...instances] : instances.map((i) => ({ ...i, box: { ...i.box, x: i.box.x + dx, y: i.box.y + dy } }));
}

function shiftBoxes(boxes: readonly Box[], dx: number, dy: number): Box[] {
  return boxes.map((box) => ({ ...box, x: box.x + dx, y: box.y + dy }));
}

/**
 * Detection over the view, plus a second pass over its chroma when the view has coloured
 * pixels: coloured overlay text on grey anatomy (ultrasound, annotated captures) often has
 * little luminance contrast but stands out completely in saturation. Coloured pixels
 * inside text already found (this pass or `known`) are explained; the chroma pass reads
 * only the rows around the others.
 */
export async function detectText(model: DetectionModel, view: Raster8, options: DetectorOptions, scale?: number, known: readonly Box[] = []): Promise<TextInstance[]> {
  const found = await detectPass(model, view, options, scale);
  const chroma = chromaView(view, [...known, ...found.map((i) => i.box)]);
  const all = chroma ? mergeInstances([...found, ...(await detectInRows(model, chroma.view, chroma.bands, options, scale ?? upscaleOf(view, options)))]) : found;
  // Burned-in text lines are short; a tall "instance" is texture (ultrasound speckle, tissue).
  const tallest = tallestLine(view, options);
  return all.filter((instance) => instance.box.height <= tallest);
}

/** DBNet over full-width bands of a view only (one mosaic run); instances in view coordinates. */
async function detectInRows(model: DetectionModel, view: Raster8, bands: readonly Band[], options: DetectorOptions, scale: number): Promise<TextInstance[]> {
  if (bands.length === 1 && bands[0].y === 0 && bands[0].height === view.height) return detectPass(model, view, options, scale);
  const crops = bands.map((band) => cropRaster(view, 0, band.y, view.width, band.height));
  const found = await detectRasters(model, crops, scale, options);
  return found.flatMap((instances, n) => shiftInstances(instances, 0, bands[n].y));
}

function tallestLine(view: Raster8, options: DetectorOptions): number {
  return Math.max(options.maxLineHeight, Math.round(options.maxLineShare * Math.min(view.width, view.height)));
}

function upscaleOf(view: Raster8, options: DetectorOptions): number {
  return Math.max(view.width, view.height) <= options.upscaleBelow ? 2 : 1;
}

/** Pixels whose channels differ by more than this count as coloured. */
const CHROMA_MIN = 48;
/** Coloured pixels needed before the chroma pass runs. */
const CHROMA_PIXELS = 40;
/** Share of coloured pixels above which a view is a colour image, not grey with overlays. */
const CHROMA_BUSY_SHARE = 0.15;
/** Rows kept above and below coloured pixels, so DBNet sees each coloured glyph with context. */
const CHROMA_REACH = 32;

/** Pixels around a known text box whose colour it explains (anti-aliased glyph edges). */
const EXPLAINED_MARGIN = 2;

/**
 * max − min per pixel, stretched, with the full-width bands that hold its coloured pixels
 * outside the `explained` boxes (the chroma pass reads only those: elsewhere the chroma
 * view is dark, or its colour belongs to text already found); undefined for grey views
 * or views without such colour.
 */
export function chromaView(view: Raster8, explained: readonly Box[] = []): { view: Raster8; bands: Band[] } | undefined {
  if (view.channels !== 3) return undefined;
  const { width, height } = view;
  const data = new Uint8Array(width * height);
  const colouredRows = new Uint8Array(height);
  const skip = explainedMask(width, height, explained);
  let coloured = 0;
  const rgb = view.data;
  for (let y = 0; y < height; y++) {
    const rowEnd = (y + 1) * width;
    for (let i = y * width; i < rowEnd; i++) {
      const r = rgb[i * 3];
      const g = rgb[i * 3 + 1];
      const b = rgb[i * 3 + 2];
      const high = r > g ? (r > b ? r : b) : g > b ? g : b;
      const low = r < g ? (r < b ? r : b) : g < b ? g : b;
      const chroma = high - low;
      if (chroma > CHROMA_MIN && !(skip && skip[i])) {
        coloured++;
        colouredRows[y] = 1;
      }
      data[i] = chroma > 127 ? 255 : chroma * 2;
    }
  }
  if (coloured < CHROMA_PIXELS) return undefined;
  // A colour image (a photo, a colour map): colour no longer singles out overlay text, and
  // the chroma view is as busy as the view itself.
  if (coloured > CHROMA_BUSY_SHARE * width * height) return undefined;
  return { view: { width, height, channels: 1, data }, bands: rowBands(colouredRows, CHROMA_REACH) };
}

function explainedMask(width: number, height: number, boxes: readonly Box[]): Uint8Array | undefined {
  if (boxes.length === 0) return undefined;
  const mask = new Uint8Array(width * height);
  for (const box of boxes) {
    const x0 = Math.max(0, box.x - EXPLAINED_MARGIN);
    const x1 = Math.min(width, box.x + box.width + EXPLAINED_MARGIN);
    const y0 = Math.max(0, box.y - EXPLAINED_MARGIN);
    const y1 = Math.min(height, box.y + box.height + EXPLAINED_MARGIN);
    for (let y = y0; y < y1; y++) mask.fill(1, y * width + x0, y * width + Math.max(x0, x1));
  }
  return mask;
}

/** Runs of marked rows, each grown by `reach` rows on both sides, merged where they touch. */
export function rowBands(rows: Uint8Array, reach: number): Band[] {
  const bands: Band[] = [];
  for (let y = 0; y < rows.length; y++) {
    if (!rows[y]) continue;
    let end = y;
    while (end + 1 < rows.length && rows[end + 1]) end++;
    const y0 = Math.max(0, y - reach);
    const y1 = Math.min(rows.length, end + 1 + reach);
    const last = bands.at(-1);
    if (last && y0 <= last.y + last.height) last.height = y1 - last.y;
    else bands.push({ y: y0, height: y1 - y0 });
    y = end;
  }
  return bands;
}

/** DBNet over every tile of the view; instances from all tiles, merged where tiles overlap. */
export async function detectPass(model: DetectionModel, view: Raster8, options: DetectorOptions, fixedScale?: number): Promise<TextInstance[]> {
  const scale = fixedScale ?? upscaleOf(view, options);
  const tiles = planTiles(view.width, view.height, Math.floor(options.maxTile / scale), options.overlap);
  const found: TextInstance[] = [];
  for (const tile of tiles) {
    const input = buildDetectionInput(view, tile, scale, options.pad);
    const prob = await model.probabilities(input.tensor, input.height, input.width);
    found.push(...instancesFromMap(prob, input, view.width, view.height, options));
  }
  return tiles.length > 1 ? mergeInstances(found) : found;
}
