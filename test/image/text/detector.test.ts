import { describe, expect, it } from 'vitest';
import { chromaView, rowBands } from '../../../src/image/text/detector.js';

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
});
