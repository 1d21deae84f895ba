import { Tensor, type InferenceSession } from 'onnxruntime-node';
import type { Box, Raster8 } from '../raster.js';
import { cropRaster } from './resize.js';
import { buildDetectionInput, planTiles } from './detectionInput.js';
import { DEFAULT_INSTANCE_OPTIONS, instancesFromMap, mergeInstances, type InstanceOptions, type TextInstance } from './instances.js';
import { loadModel } from './session.js';

export interface DetectorOptions extends InstanceOptions {
  /** Black border added around each tile, in image pixels. */
  pad: number;
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
  maxTile: 1280,
  overlap: 96,
  upscaleBelow: 256,
  maxLineHeight: 64,
  maxLineShare: 0.1,
};

export interface TextDetector {
  detect(view: Raster8): Promise<TextInstance[]>;
  /** Detection inside one region only, read at `scale` (a closer look around a PHI line). */
  detectIn(view: Raster8, region: Box, scale: number): Promise<TextInstance[]>;
  /**
   * Detection inside full-width bands of the view only (verification around regions just
   * filled), read as `detect` reads the whole view; instances cut by a band's inner edge
   * are dropped (the pass over the whole view already saw them whole).
   */
  detectInBands(view: Raster8, bands: readonly Band[]): Promise<TextInstance[]>;
}

/** Rows `y` to `y + height` of a view, full width. */
export interface Band {
  y: number;
  height: number;
}

export async function createTextDetector(threads = 1, options: Partial<DetectorOptions> = {}): Promise<TextDetector & { session: InferenceSession }> {
  const { session } = await loadModel('ocr-det-ppocrv4', threads);
  const settings = { ...DEFAULT_DETECTOR_OPTIONS, ...options };
  return {
    session,
    detect: (view) => detectText(session, view, settings),
    detectIn: async (view, region, scale) => {
      const crop = cropRaster(view, region.x, region.y, region.width, region.height);
      const found = await detectText(session, crop, { ...settings, upscaleBelow: 0 }, scale);
      return found.map((i) => ({ ...i, box: { ...i.box, x: i.box.x + region.x, y: i.box.y + region.y } }));
    },
    detectInBands: async (view, bands) => {
      const scale = upscaleOf(view, settings);
      const tallest = tallestLine(view, settings);
      const found: TextInstance[] = [];
      for (const band of bands) {
        const crop = cropRaster(view, 0, band.y, view.width, band.height);
        const inBand = await detectText(session, crop, { ...settings, maxLineHeight: tallest, maxLineShare: 0 }, scale);
        const top = band.y > 0;
        const bottom = band.y + band.height < view.height;
        for (const instance of inBand) {
          const { box } = instance;
          if ((top && box.y <= 1) || (bottom && box.y + box.height >= crop.height - 1)) continue;
          found.push({ ...instance, box: { ...box, y: box.y + band.y } });
        }
      }
      return found;
    },
  };
}

/**
 * Detection over the view, plus a second pass over its chroma when the view has coloured
 * pixels: coloured overlay text on grey anatomy (ultrasound, annotated captures) often has
 * little luminance contrast but stands out completely in saturation.
 */
export async function detectText(session: InferenceSession, view: Raster8, options: DetectorOptions, scale?: number): Promise<TextInstance[]> {
  const found = await detectPass(session, view, options, scale);
  const chroma = chromaView(view);
  const all = chroma ? mergeInstances([...found, ...(await detectInRows(session, chroma.view, chroma.bands, options, scale ?? upscaleOf(view, options)))]) : found;
  // Burned-in text lines are short; a tall "instance" is texture (ultrasound speckle, tissue).
  const tallest = tallestLine(view, options);
  return all.filter((instance) => instance.box.height <= tallest);
}

/** DBNet over full-width bands of a view only; instances in view coordinates. */
async function detectInRows(session: InferenceSession, view: Raster8, bands: readonly Band[], options: DetectorOptions, scale: number): Promise<TextInstance[]> {
  const found: TextInstance[] = [];
  for (const band of bands) {
    const crop = band.y === 0 && band.height === view.height ? view : cropRaster(view, 0, band.y, view.width, band.height);
    for (const instance of await detectPass(session, crop, options, scale)) found.push({ ...instance, box: { ...instance.box, y: instance.box.y + band.y } });
  }
  return found;
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
/** Rows kept above and below coloured pixels, so DBNet sees each coloured glyph with context. */
const CHROMA_REACH = 32;

/**
 * max − min per pixel, stretched, with the full-width bands that hold its coloured pixels
 * (the chroma pass reads only those: elsewhere the chroma view is dark and holds no text);
 * undefined for grey views or views without colour.
 */
export function chromaView(view: Raster8): { view: Raster8; bands: Band[] } | undefined {
  if (view.channels !== 3) return undefined;
  const { width, height } = view;
  const data = new Uint8Array(width * height);
  const colouredRows = new Uint8Array(height);
  let coloured = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const r = view.data[i * 3];
      const g = view.data[i * 3 + 1];
      const b = view.data[i * 3 + 2];
      const chroma = Math.max(r, g, b) - Math.min(r, g, b);
      if (chroma > CHROMA_MIN) {
        coloured++;
        colouredRows[y] = 1;
      }
      data[i] = Math.min(255, chroma * 2);
    }
  }
  if (coloured < CHROMA_PIXELS) return undefined;
  return { view: { width, height, channels: 1, data }, bands: rowBands(colouredRows, CHROMA_REACH) };
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
export async function detectPass(session: InferenceSession, view: Raster8, options: DetectorOptions, fixedScale?: number): Promise<TextInstance[]> {
  const scale = fixedScale ?? upscaleOf(view, options);
  const tiles = planTiles(view.width, view.height, Math.floor(options.maxTile / scale), options.overlap);
  const found: TextInstance[] = [];
  for (const tile of tiles) {
    const input = buildDetectionInput(view, tile, scale, options.pad);
    const feeds = { [session.inputNames[0]]: new Tensor('float32', input.tensor, [1, 3, input.height, input.width]) };
    const output = await session.run(feeds);
    const map = output[session.outputNames[0]];
    const prob = map.data as Float32Array;
    found.push(...instancesFromMap(prob, input, view.width, view.height, options));
    map.dispose();
  }
  return tiles.length > 1 ? mergeInstances(found) : found;
}
