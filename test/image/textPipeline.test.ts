import { describe, expect, it } from 'vitest';
import { closerRegion, continuesFill, windowsAround } from '../../src/image/textPipeline.js';

const view = { width: 768, height: 768 };

describe('windowsAround (verification windows around filled regions)', () => {
  it('grows each region by its margin, max(32, 2h) above and below and max(32, 4h) left and right, clipped to the view', () => {
    expect(windowsAround([{ box: { x: 100, y: 100, width: 50, height: 10 } }], 2, view)).toEqual([{ x: 58, y: 66, width: 134, height: 78 }]);
    expect(windowsAround([{ box: { x: 0, y: 5, width: 50, height: 20 } }], 2, { width: 100, height: 60 })).toEqual([{ x: 0, y: 0, width: 100, height: 60 }]);
  });

  it('merges windows that overlap and keeps distant ones apart, top to bottom', () => {
    const windows = windowsAround(
      [
        { box: { x: 0, y: 600, width: 40, height: 12 } },
        { box: { x: 0, y: 100, width: 40, height: 12 } },
        { box: { x: 90, y: 130, width: 40, height: 12 } },
        { box: { x: 600, y: 100, width: 40, height: 12 } },
      ],
      0,
      view,
    );
    expect(windows).toEqual([
      { x: 0, y: 68, width: 178, height: 106 },
      { x: 552, y: 68, width: 136, height: 76 },
      { x: 0, y: 568, width: 88, height: 76 },
    ]);
  });

  it('merges chains: a window that overlaps only the union of two others joins them too', () => {
    const windows = windowsAround(
      [
        { box: { x: 100, y: 100, width: 10, height: 10 } },
        { box: { x: 180, y: 200, width: 10, height: 10 } },
        { box: { x: 120, y: 150, width: 10, height: 10 } },
      ],
      0,
      view,
    );
    expect(windows).toHaveLength(1);
  });
});

describe('closerRegion', () => {
  it('reaches 2.5 line heights past each end and half a line height above and below, inside the view', () => {
    expect(closerRegion(view, { x: 200, y: 300, width: 100, height: 20 })).toEqual({ x: 150, y: 290, width: 200, height: 40 });
    expect(closerRegion(view, { x: 10, y: 2, width: 100, height: 20 })).toEqual({ x: 0, y: 0, width: 160, height: 32 });
  });
});

describe('continuesFill', () => {
  const width = 200;
  const height = 100;
  const filledBox = (x0: number, x1: number, y0: number, y1: number): Uint8Array => {
    const filled = new Uint8Array(width * height);
    for (let y = y0; y < y1; y++) filled.fill(1, y * width + x0, y * width + x1);
    return filled;
  };

  it('is true for text just after a filled region on the same row', () => {
    expect(continuesFill(filledBox(20, 80, 40, 60), width, height, { x: 90, y: 40, width: 20, height: 20 })).toBe(true);
  });

  it('is false beyond 1.2 line heights, or for text on another row', () => {
    expect(continuesFill(filledBox(20, 80, 40, 60), width, height, { x: 110, y: 40, width: 20, height: 20 })).toBe(false);
    // Touching only the top rows of the box: a line above, not this one.
    expect(continuesFill(filledBox(20, 80, 20, 43), width, height, { x: 90, y: 40, width: 20, height: 20 })).toBe(false);
  });
});
