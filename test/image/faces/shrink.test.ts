import { describe, expect, it } from 'vitest';
import { shrinkRaster } from '../../../src/image/faces/detector.js';

describe('shrinkRaster', () => {
  it('averages factor × factor blocks, partial blocks over what they hold', () => {
    // 3×2 grey: [10 20 30 / 30 40 50] by 2 → [(10+20+30+40)/4, (30+50)/2] = [25, 40].
    const out = shrinkRaster({ width: 3, height: 2, channels: 1, data: Uint8Array.from([10, 20, 30, 30, 40, 50]) }, 2);
    expect([out.width, out.height]).toEqual([2, 1]);
    expect(Array.from(out.data)).toEqual([25, 40]);
  });

  it('keeps RGB channels apart', () => {
    const out = shrinkRaster({ width: 2, height: 1, channels: 3, data: Uint8Array.from([0, 100, 200, 10, 110, 210]) }, 2);
    expect(Array.from(out.data)).toEqual([5, 105, 205]);
  });
});
