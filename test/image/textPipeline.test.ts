import { describe, expect, it } from 'vitest';
import { bandsAround } from '../../src/image/textPipeline.js';

describe('bandsAround (verification bands around filled regions)', () => {
  it('grows each region by its margin and max(32 px, twice its height), clipped to the image', () => {
    expect(bandsAround([{ box: { x: 10, y: 100, width: 50, height: 10 } }], 2, 768)).toEqual([{ y: 66, height: 78 }]);
    expect(bandsAround([{ box: { x: 0, y: 5, width: 50, height: 20 } }], 2, 60)).toEqual([{ y: 0, height: 60 }]);
  });

  it('merges bands that touch and keeps distant ones apart, top to bottom', () => {
    const bands = bandsAround(
      [
        { box: { x: 0, y: 600, width: 40, height: 12 } },
        { box: { x: 0, y: 100, width: 40, height: 12 } },
        { box: { x: 300, y: 130, width: 40, height: 12 } },
      ],
      0,
      768,
    );
    expect(bands).toEqual([
      { y: 68, height: 106 },
      { y: 568, height: 76 },
    ]);
  });
});
