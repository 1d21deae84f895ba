import type { Raster8 } from './raster.js';
import type { TextInstance } from './text/instances.js';
import type { TextEngine } from './textPipeline.js';

/**
 * The cheap first look of `scan: auto`: the text detector (DBNet) alone, on the frame's
 * 8-bit view at native size (the same call that opens the full pipeline, so triage misses
 * nothing the full pipeline would have found first; the costly part it skips on clean
 * frames is recognition, classification and verification). A frame with any text-like
 * region goes through the full pipeline.
 */
export async function triageFrame(engine: TextEngine, view: Raster8): Promise<TextInstance[]> {
  return engine.detector.detect(view);
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

/** A sample that moved by at least this many grey levels counts as changed (noise stays below). */
const CHANGED_LEVELS = 40;
/** Changed samples that make a frame differ from the last triaged one: fewer than a small glyph. */
const CHANGED_SAMPLES = 12;

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

export function framesDiffer(a: Raster8, b: Raster8): boolean {
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) return true;
  let changed = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i] - b.data[i];
    if ((d >= CHANGED_LEVELS || d <= -CHANGED_LEVELS) && ++changed >= CHANGED_SAMPLES) return true;
  }
  return false;
}
