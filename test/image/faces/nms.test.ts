import { describe, expect, it } from 'vitest';
import type { RawDetection } from '../../../src/image/faces/decode.js';
import { iou, weightedNms } from '../../../src/image/faces/nms.js';

function det(x1: number, y1: number, size: number, score: number): RawDetection {
  return { x1, y1, x2: x1 + size, y2: y1 + size, score, keypoints: [{ x: x1, y: y1 }] };
}

const options = { iouThreshold: 0.3, containThreshold: 0.6 };

describe('weightedNms', () => {
  it('merges overlapping boxes into their score-weighted mean, keeping the best score', () => {
    const [merged, ...rest] = weightedNms([det(0, 0, 100, 0.9), det(10, 0, 100, 0.3)], options);
    expect(rest).toHaveLength(0);
    expect(merged?.score).toBe(0.9);
    expect(merged?.x1).toBeCloseTo((0 * 0.9 + 10 * 0.3) / 1.2, 6);
    expect(merged?.keypoints[0]?.x).toBeCloseTo((0 * 0.9 + 10 * 0.3) / 1.2, 6);
  });

  it('keeps faces that do not overlap, best first', () => {
    const kept = weightedNms([det(0, 0, 50, 0.6), det(200, 0, 50, 0.8)], options);
    expect(kept.map((d) => d.score)).toEqual([0.8, 0.6]);
  });

  it('drops a weaker box lying inside a stronger one (a cut face, or the same face at another scale)', () => {
    const kept = weightedNms([det(0, 0, 200, 0.9), det(20, 20, 40, 0.7)], options);
    expect(kept).toHaveLength(1);
    expect(kept[0]?.x2).toBe(200);
  });

  it('computes IoU of disjoint, equal and nested boxes', () => {
    expect(iou(det(0, 0, 10, 1), det(20, 20, 10, 1))).toBe(0);
    expect(iou(det(0, 0, 10, 1), det(0, 0, 10, 1))).toBe(1);
    expect(iou(det(0, 0, 10, 1), det(0, 0, 5, 1))).toBeCloseTo(0.25, 6);
  });
});
