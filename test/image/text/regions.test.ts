import { describe, expect, it } from 'vitest';
import type { Box } from '../../../src/image/raster.js';
import { generateImage } from '../../../src/image/synth/generator.js';
import { createTextDetector, type TextDetector } from '../../../src/image/text/detector.js';

function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  return (w * h) / (a.width * a.height + b.width * b.height - w * h);
}

describe('detection in regions and windows (packed runs)', () => {
  /** One detector for both tests: loading the model once is enough. */
  let loaded: Promise<TextDetector> | undefined;
  it('finds in a window covering the view what the pass over the whole view finds, for a view wider than one tile', async () => {
    const detector = await (loaded ??= createTextDetector(1));
    const { image } = await generateImage(7600, { width: 1600, height: 320, phiLines: 4, safeLines: 3 });
    const whole = await detector.detect(image);
    expect(whole.length).toBeGreaterThanOrEqual(4);
    const windowed = await detector.detectInWindows(image, [{ x: 0, y: 0, width: image.width, height: image.height }]);
    const matched = whole.filter((w) => windowed.some((v) => iou(w.box, v.box) > 0.5));
    expect(matched.length / whole.length).toBeGreaterThanOrEqual(0.8);
  }, 60_000);

  it('reads several small regions in one run and returns their instances in view coordinates', async () => {
    const detector = await (loaded ??= createTextDetector(1));
    const { image } = await generateImage(7601, { width: 768, height: 768, phiLines: 4, safeLines: 3 });
    const whole = await detector.detect(image);
    // One region around each of the first three instances, 24 px of margin.
    const regions = whole.slice(0, 3).map(({ box }) => ({ x: Math.max(0, box.x - 24), y: Math.max(0, box.y - 24), width: Math.min(768, box.x + box.width + 24) - Math.max(0, box.x - 24), height: Math.min(768, box.y + box.height + 24) - Math.max(0, box.y - 24) }));
    const perRegion = await detector.detectInRegions(image, regions, 1);
    expect(perRegion).toHaveLength(regions.length);
    perRegion.forEach((instances, n) => {
      for (const i of instances) {
        expect(i.box.x).toBeGreaterThanOrEqual(regions[n].x);
        expect(i.box.x + i.box.width).toBeLessThanOrEqual(regions[n].x + regions[n].width);
      }
      expect(instances.some((i) => iou(i.box, whole[n].box) > 0.5)).toBe(true);
    });
  }, 60_000);
});
