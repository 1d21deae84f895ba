import { describe, expect, it } from 'vitest';
import { buildDetectionInput, planTiles } from '../../../src/image/text/detectionInput.js';
import { dilateSquare, instancesFromMap, labelComponents, mergeInstances } from '../../../src/image/text/instances.js';
import { groupLines } from '../../../src/image/text/lines.js';
import { decodeCtc } from '../../../src/image/text/ctc.js';

function mapWith(width: number, height: number, rects: [number, number, number, number, number][]): Float32Array {
  const prob = new Float32Array(width * height);
  for (const [x, y, w, h, p] of rects) for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) prob[j * width + i] = p;
  return prob;
}

describe('probability map → instances', () => {
  it('labels 8-connected components', () => {
    const prob = mapWith(10, 10, [[1, 1, 2, 2, 0.9], [3, 3, 2, 2, 0.9], [7, 7, 2, 2, 0.9]]);
    const components = labelComponents(prob, 10, 10, 0.3, new Int32Array(100));
    expect(components).toHaveLength(2); // the first two touch diagonally
    expect(components[0].count).toBe(8);
  });

  it('drops weak or thin components, grows the rest, maps back through pad and scale', () => {
    const view = { width: 100, height: 60, channels: 1 as const, data: new Uint8Array(6000) };
    const input = buildDetectionInput(view, { x: 0, y: 0, width: 100, height: 60 }, 1, 16);
    expect(input.width % 32).toBe(0);
    expect(input.height % 32).toBe(0);
    const prob = mapWith(input.width, input.height, [
      [36, 36, 40, 8, 0.9], // a text line at image (20, 20)
      [36, 60, 40, 2, 0.9], // too thin
      [90, 40, 10, 10, 0.4], // too weak on average
    ]);
    const instances = instancesFromMap(prob, input, 100, 60);
    expect(instances).toHaveLength(1);
    const { box, mask } = instances[0];
    // grown by ceil(40·8·1.5 / (2·48)) = 5 px on every side
    expect(box).toEqual({ x: 15, y: 15, width: 50, height: 18 });
    expect(mask.length).toBe(50 * 18);
    expect(mask.every((v) => v === 1)).toBe(true);
  });

  it('dilates masks and merges duplicates from overlapping tiles', () => {
    const mask = new Uint8Array(25);
    mask[12] = 1;
    expect(Array.from(dilateSquare(mask, 5, 5, 1)).filter(Boolean)).toHaveLength(9);
    const a = { box: { x: 0, y: 0, width: 50, height: 10 }, mask: new Uint8Array(500).fill(1), score: 0.9 };
    const b = { box: { x: 40, y: 1, width: 50, height: 10 }, mask: new Uint8Array(500).fill(1), score: 0.8 };
    const c = { box: { x: 0, y: 40, width: 10, height: 10 }, mask: new Uint8Array(100).fill(1), score: 0.8 };
    const merged = mergeInstances([a, b, c]);
    expect(merged).toHaveLength(2);
    expect(merged[0].box).toEqual({ x: 0, y: 0, width: 90, height: 11 });
  });

  it('tiles large images with overlap and covers every pixel', () => {
    const tiles = planTiles(2000, 500, 960, 96);
    expect(tiles.length).toBe(3);
    expect(tiles[0].x).toBe(0);
    expect(tiles[2].x + tiles[2].width).toBe(2000);
    for (let i = 1; i < tiles.length; i++) expect(tiles[i - 1].x + tiles[i - 1].width - tiles[i].x).toBeGreaterThanOrEqual(96);
  });

  it('groups fragments of one line', () => {
    const groups = groupLines([
      { x: 0, y: 0, width: 40, height: 12 },
      { x: 50, y: 1, width: 30, height: 11 },
      { x: 200, y: 0, width: 30, height: 12 },
      { x: 0, y: 40, width: 30, height: 12 },
    ]);
    expect(groups.map((g) => g.length).sort()).toEqual([1, 1, 2]);
  });
});

describe('CTC greedy decoding', () => {
  it('collapses repeats, drops blanks, maps class i to dictionary entry i-1', () => {
    const classes = 4;
    const steps = [1, 1, 0, 1, 2, 2, 0, 3];
    const probs = new Float32Array(steps.length * classes);
    steps.forEach((k, t) => (probs[t * classes + k] = 0.9));
    expect(decodeCtc(probs, 0, steps.length, classes, ['A', 'B', ' '])).toEqual({ text: 'AAB ', confidence: expect.closeTo(0.9, 5) as number });
  });
});
