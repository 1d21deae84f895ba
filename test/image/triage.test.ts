import { describe, expect, it } from 'vitest';
import { framesDiffer, mustTriage } from '../../src/image/triage.js';
import type { Raster8 } from '../../src/image/raster.js';

function grey(width: number, height: number, value: number): Raster8 {
  return { width, height, channels: 1, data: new Uint8Array(width * height).fill(value) };
}

describe('multi-frame triage rule', () => {
  it('always triages the first, middle and last frame', () => {
    const view = grey(8, 8, 10);
    for (const frame of [0, 4, 9]) expect(mustTriage(frame, 10, view, view)).toBe(true);
    expect(mustTriage(3, 10, view, view)).toBe(false);
  });

  it('triages a frame whose pixels differ from the last triaged frame by as little as a small glyph', () => {
    const before = grey(64, 64, 20);
    const noisy = grey(64, 64, 20);
    for (let i = 0; i < noisy.data.length; i += 7) noisy.data[i] = 45; // noise below 40 levels
    expect(framesDiffer(noisy, before)).toBe(false);
    const glyph = grey(64, 64, 20);
    for (let i = 0; i < 12; i++) glyph.data[5 * 64 + 40 + i] = 255; // one short white stroke
    expect(framesDiffer(glyph, before)).toBe(true);
    expect(mustTriage(3, 10, glyph, before)).toBe(true);
  });
});
