import { describe, expect, it } from 'vitest';
import { chromaView, cutByInnerEdge, rowBands } from '../../../src/image/text/detector.js';

describe('rowBands', () => {
  it('grows runs of marked rows by the reach and merges runs whose bands touch', () => {
    const rows = new Uint8Array(200);
    rows.fill(1, 10, 15);
    rows.fill(1, 40, 42);
    rows.fill(1, 150, 151);
    expect(rowBands(rows, 8)).toEqual([
      { y: 2, height: 21 },
      { y: 32, height: 18 },
      { y: 142, height: 17 },
    ]);
    expect(rowBands(rows, 16)).toEqual([
      { y: 0, height: 58 },
      { y: 134, height: 33 },
    ]);
  });

  it('returns no band when no row is marked', () => {
    expect(rowBands(new Uint8Array(50), 32)).toEqual([]);
  });
});

describe('chromaView', () => {
  const grey = (width: number, height: number): { width: number; height: number; channels: 3; data: Uint8Array } => ({ width, height, channels: 3, data: new Uint8Array(width * height * 3).fill(128) });

  it('is undefined for a grey view', () => {
    expect(chromaView(grey(64, 64))).toBeUndefined();
  });

  it('limits the chroma pass to the bands around coloured rows', () => {
    const view = grey(100, 300);
    for (let y = 200; y < 210; y++) for (let x = 10; x < 30; x++) view.data.set([255, 255, 0], (y * 100 + x) * 3);
    const chroma = chromaView(view);
    expect(chroma?.bands).toEqual([{ y: 168, height: 74 }]);
    expect(chroma?.view.data[205 * 100 + 20]).toBe(255);
    expect(chroma?.view.data[50 * 100 + 20]).toBe(0);
  });

  it('skips coloured pixels that text already found explains', () => {
    const view = grey(100, 300);
    for (let y = 200; y < 210; y++) for (let x = 10; x < 30; x++) view.data.set([255, 255, 0], (y * 100 + x) * 3);
    expect(chromaView(view, [{ x: 8, y: 198, width: 24, height: 14 }])).toBeUndefined();
    // A box that covers only part of the colour leaves the rest to the chroma pass.
    expect(chromaView(view, [{ x: 8, y: 198, width: 10, height: 14 }])?.bands).toEqual([{ y: 168, height: 74 }]);
  });

  it('is undefined for a colour image (more than 15% of its pixels coloured)', () => {
    const view = grey(100, 100);
    for (let i = 0; i < 100 * 20; i++) view.data.set([200, 40, 40], i * 3);
    expect(chromaView(view)).toBeUndefined();
  });
});

describe('cutByInnerEdge', () => {
  const window = { x: 100, y: 100, width: 200, height: 80 };
  const size = { width: 768, height: 768 };

  it('drops boxes touching an edge inside the view, keeps boxes inside or on the view border', () => {
    expect(cutByInnerEdge({ x: 150, y: 120, width: 40, height: 12 }, window, size)).toBe(false);
    expect(cutByInnerEdge({ x: 100, y: 120, width: 40, height: 12 }, window, size)).toBe(true);
    expect(cutByInnerEdge({ x: 150, y: 170, width: 40, height: 10 }, window, size)).toBe(true);
    expect(cutByInnerEdge({ x: 0, y: 120, width: 40, height: 12 }, { x: 0, y: 100, width: 200, height: 80 }, size)).toBe(false);
  });
});
