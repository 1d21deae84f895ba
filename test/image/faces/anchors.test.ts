import { describe, expect, it } from 'vitest';
import { blazeFaceAnchors } from '../../../src/image/faces/anchors.js';

describe('blazeFaceAnchors', () => {
  const anchors = blazeFaceAnchors(256);

  it('has 16×16×2 fine anchors then 8×8×6 coarse ones, as the model outputs', () => {
    expect(anchors).toHaveLength(16 * 16 * 2 + 8 * 8 * 6);
  });

  it('centres the fine grid on 16 px cells, two anchors per cell, row by row', () => {
    expect(anchors[0]).toEqual({ x: 8, y: 8 });
    expect(anchors[1]).toEqual({ x: 8, y: 8 });
    expect(anchors[2]).toEqual({ x: 24, y: 8 });
    expect(anchors[32]).toEqual({ x: 8, y: 24 });
    expect(anchors[511]).toEqual({ x: 248, y: 248 });
  });

  it('centres the coarse grid on 32 px cells, six anchors per cell', () => {
    expect(anchors[512]).toEqual({ x: 16, y: 16 });
    expect(anchors[517]).toEqual({ x: 16, y: 16 });
    expect(anchors[518]).toEqual({ x: 48, y: 16 });
    expect(anchors[895]).toEqual({ x: 240, y: 240 });
  });
});
