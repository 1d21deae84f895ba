import { describe, expect, it } from 'vitest';
import { planTiles, positions } from '../../../src/image/faces/tiles.js';

describe('planTiles', () => {
  it('starts with one letterboxed window over the whole image', () => {
    const [first] = planTiles(640, 480, { maxLevels: 3, minTileSize: 256 });
    expect(first).toEqual({ x: 0, y: -80, size: 640, level: 0 });
  });

  it('halves the window per level and stops below the minimum size', () => {
    const tiles = planTiles(640, 480, { maxLevels: 3, minTileSize: 256 });
    expect(new Set(tiles.map((t) => t.size))).toEqual(new Set([640, 320]));
    expect(planTiles(1920, 1080, { maxLevels: 3, minTileSize: 256 }).map((t) => t.level).filter((l) => l === 2).length).toBeGreaterThan(0);
  });

  it('puts every face at most half a window wide wholly inside some window of its level', () => {
    const width = 1920;
    const height = 1080;
    const tiles = planTiles(width, height, { maxLevels: 3, minTileSize: 256 }).filter((t) => t.level === 2);
    const face = tiles[0]!.size / 2;
    for (let y = 0; y + face <= height; y += 37) {
      for (let x = 0; x + face <= width; x += 41) {
        const covered = tiles.some((t) => t.x <= x && t.y <= y && t.x + t.size >= x + face && t.y + t.size >= y + face);
        expect(covered, `face at ${x},${y}`).toBe(true);
      }
    }
  });

  it('spreads positions from edge to edge', () => {
    expect(positions(640, 320)).toEqual([0, 160, 320]);
    expect(positions(100, 320)).toEqual([-110]);
  });
});
