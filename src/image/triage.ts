import type { Box, Raster8 } from './raster.js';
import { groupLines, unionBox } from './text/lines.js';
import type { TextInstance } from './text/instances.js';
import type { TextEngine } from './textPipeline.js';

/**
 * The cheap first look of `scan: auto`: the text detector (DBNet) alone, on the frame's
 * 8-bit view at native size (the same call that opens the full pipeline, so triage misses
 * nothing the full pipeline would have found first; the costly part it skips on clean
 * frames is recognition, classification and verification). When that finds nothing and
 * the frame is monochrome, the near-white text-like rows of the stored-range view are read
 * at ×2 (a `RasterLook`, built by src/dicom/pixels/triage.ts: text burned at a value the window renders like the tissue under
 * it; a few ms when there are none). A frame with any text-like region in either goes
 * through the full pipeline, which reads both views (the stored-range view whole as well
 * when the window leaves out part of the range).
 */
export interface TriageResult {
  window: TextInstance[];
  /** Instances in the near-white rows of the stored-range view; empty when the window view already had text (not looked at). */
  stored: TextInstance[];
}

export async function triageFrame(engine: TextEngine, view: Raster8, look?: RasterLook): Promise<TriageResult> {
  const window = await engine.detector.detect(view);
  if (window.length > 0 || !look) return { window, stored: [] };
  return { window, stored: await detectStored(engine, { ...look, whole: false }) };
}

export function hasText(result: TriageResult): boolean {
  return result.window.length > 0 || result.stored.length > 0;
}

/**
 * The second look at a monochrome frame, for text its display window hides: devices burn
 * text at one stored value, usually the frame's maximum, and a window that renders the
 * tissue under it white renders the text white too. `view` is an 8-bit rendering of the
 * frame's whole stored range, linear (built by the DICOM side, src/dicom/pixels/triage.ts);
 * `regions`: where it is near white in text-like shapes (read at ×2, by triage and by the
 * full pipeline); `whole`: the window leaves out part of the range, so the full pipeline
 * also reads the whole view (triage does not: it found nothing more on the eval's 600
 * frames, and would double triage's cost on every CT slice).
 */
export interface RasterLook {
  view: Raster8;
  whole: boolean;
  regions: Box[];
}

/** Grey level from which a pixel of the range view counts as burned at the top of the range (2% of it). */
const NEAR_WHITE = 250;
/** Glyph components: at least this many pixels, 3–48 px tall, at most 8 heights wide. */
const GLYPH_MIN_PIXELS = 3;
const GLYPH_MIN_HEIGHT = 3;
const GLYPH_MAX_HEIGHT = 48;
/** Rows read at ×2: at most this many, the ones with the most glyphs (one DBNet run over all). */
const MAX_REGIONS = 24;

/**
 * Where the range view is near white in shapes like a line of glyphs: connected
 * components of glyph size, grouped into rows (two or more side by side, or one at least
 * twice as wide as tall: touching glyphs), each row widened by its height.
 */
export function nearWhiteTextRegions(view: Raster8): Box[] {
  const glyphs = glyphComponents(view);
  if (glyphs.length === 0) return [];
  const rows = glyphs.length > 2000 ? [] : groupLines(glyphs, 1.5);
  const found = rows
    .filter((row) => row.length >= 2 || glyphs[row[0]].width >= 2 * glyphs[row[0]].height)
    .sort((a, b) => b.length - a.length)
    .slice(0, MAX_REGIONS)
    .map((row) => {
      const box = unionBox(row.map((n) => glyphs[n]));
      const x0 = Math.max(0, box.x - box.height);
      const y0 = Math.max(0, box.y - Math.ceil(box.height / 2));
      const x1 = Math.min(view.width, box.x + box.width + box.height);
      const y1 = Math.min(view.height, box.y + box.height + Math.ceil(box.height / 2));
      return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
    });
  return found;
}

function glyphComponents(view: Raster8): Box[] {
  const { width, height, data } = view;
  const seen = new Uint8Array(width * height);
  const stack: number[] = [];
  const boxes: Box[] = [];
  for (let start = 0; start < width * height; start++) {
    if (seen[start] || data[start] < NEAR_WHITE) continue;
    seen[start] = 1;
    stack.push(start);
    let [minX, minY, maxX, maxY, count] = [width, height, -1, -1, 0];
    while (stack.length > 0) {
      const i = stack.pop()!;
      const x = i % width;
      const y = (i - x) / width;
      count++;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
          const j = ny * width + nx;
          if (!seen[j] && data[j] >= NEAR_WHITE) {
            seen[j] = 1;
            stack.push(j);
          }
        }
      }
    }
    const w = maxX - minX + 1;
    const h = maxY - minY + 1;
    if (count >= GLYPH_MIN_PIXELS && h >= GLYPH_MIN_HEIGHT && h <= GLYPH_MAX_HEIGHT && w <= 8 * h) boxes.push({ x: minX, y: minY, width: w, height: h });
  }
  return boxes;
}

/**
 * Text in the stored-range view: DBNet on the whole view when the window hides part of
 * the range, and on the near-white text-like rows at ×2 in any case (`rows`: what an
 * earlier read of those rows found); instances a row adds where the whole view already
 * has one are dropped.
 */
export async function detectStored(engine: TextEngine, look: RasterLook, rows?: TextInstance[]): Promise<TextInstance[]> {
  const whole = look.whole ? await engine.detector.detect(look.view) : [];
  if (look.regions.length === 0) return whole;
  const closer = rows ?? (await engine.detector.detectInRegions(look.view, look.regions, 2, whole.map((i) => i.box))).flat();
  return [...whole, ...closer.filter((c) => !whole.some((w) => overlaps(w.box, c.box)))];
}

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/**
 * An engine whose first whole-view detection of `view` returns what triage already found
 * (the full pipeline then starts from it instead of running DBNet again).
 */
export function primedEngine(engine: TextEngine, view: Raster8, found: TextInstance[]): TextEngine {
  let used = false;
  return {
    ...engine,
    detector: {
      ...engine.detector,
      detect: (v) => {
        if (v === view && !used) {
          used = true;
          return Promise.resolve(found);
        }
        return engine.detector.detect(v);
      },
    },
  };
}

/**
 * An engine whose first whole-view detection of `look.view` is the stored-value detection
 * (`detectStored`: the whole view only when the window hides part of the range, plus the
 * near-white rows at ×2; `rows`: what triage already found in those rows).
 */
export function storedEngine(engine: TextEngine, look: RasterLook, rows?: TextInstance[]): TextEngine {
  let used = false;
  return {
    ...engine,
    detector: {
      ...engine.detector,
      detect: (v) => {
        if (v === look.view && !used) {
          used = true;
          return detectStored(engine, look, rows);
        }
        return engine.detector.detect(v);
      },
    },
  };
}

/** A sample that moved by at least this many grey levels counts as changed (noise stays below). */
const CHANGED_LEVELS = 40;
/** Changed samples that make a frame differ from the last triaged one: fewer than a small glyph. */
const CHANGED_SAMPLES = 12;

/** Whether two views differ by more than noise: at least 12 samples moved by at least 40 grey levels (a small glyph). */
export function framesDiffer(a: Raster8, b: Raster8): boolean {
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) return true;
  let changed = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i] - b.data[i];
    if ((d >= CHANGED_LEVELS || d <= -CHANGED_LEVELS) && ++changed >= CHANGED_SAMPLES) return true;
  }
  return false;
}
