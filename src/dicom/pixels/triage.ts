import { framesDiffer, nearWhiteTextRegions, type Raster8, type RasterLook } from '../../image/index.js';
import type { PixelLayout } from './layout.js';
import { displayWindow, rangeView, storedRange, storedSamples, type StoredRange, type ViewSettings } from './view.js';

/**
 * The DICOM side of `scan: auto` triage (the raster side, detection on 8-bit views, is
 * src/image/triage.ts): the stored-value look at a monochrome frame, and which frames of a
 * multi-frame image are triaged.
 *
 * The look is for text the display window hides: devices burn text at one stored value,
 * usually the frame's maximum, and a window that renders the tissue under it white renders
 * the text white too. `view` is the frame's whole stored range, linear; `range` the stored
 * values it spans (the full pipeline re-renders the view with it after each fill); `whole`:
 * the window leaves out part of the range, so the full pipeline also reads the whole view.
 */
export interface StoredLook extends RasterLook {
  range: StoredRange;
}

/** The window shows the stored range when it spans at least this share of it. */
const WINDOW_SPANS = 0.9;

export function storedLook(frame: Uint8Array, layout: PixelLayout, settings: ViewSettings): StoredLook | undefined {
  const samples = storedSamples(frame, layout);
  const range = samples && storedRange(samples);
  if (!samples || !range) return undefined;
  const view = rangeView(samples, layout, range);
  const ends = [range.min * settings.slope + settings.intercept, range.max * settings.slope + settings.intercept];
  const [lo, hi] = [Math.min(...ends), Math.max(...ends)];
  const [wlo, whi] = displayWindow(samples, settings);
  const shown = Math.max(0, Math.min(hi, whi) - Math.max(lo, wlo)) / (hi - lo);
  return { view, range, whole: shown < WINDOW_SPANS, regions: nearWhiteTextRegions(view) };
}

/**
 * Multi-frame rule: the first, middle and last frame are always triaged, and so is every
 * frame whose view differs from the last triaged frame's (≥ 12 samples moved by ≥ 40 grey
 * levels anywhere in the frame — text bands included, since the whole frame is compared).
 * A frame not triaged is a copy of the last triaged one within noise and takes its verdict:
 * when that frame had text, this one goes through the full pipeline too.
 */
export function mustTriage(frame: number, count: number, view: Raster8, lastTriaged: Raster8 | undefined): boolean {
  if (frame === 0 || frame === count - 1 || frame === Math.floor((count - 1) / 2) || !lastTriaged) return true;
  return framesDiffer(view, lastTriaged);
}
