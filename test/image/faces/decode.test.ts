import { describe, expect, it } from 'vitest';
import { decodeDetections, REGRESSORS, sigmoid } from '../../../src/image/faces/decode.js';

describe('decodeDetections', () => {
  const anchors = [
    { x: 8, y: 8 },
    { x: 100, y: 50 },
  ];

  it('keeps only anchors whose sigmoid score reaches the threshold', () => {
    const regs = new Float32Array(2 * REGRESSORS).fill(0);
    regs[2] = regs[3] = 10;
    regs[REGRESSORS + 2] = regs[REGRESSORS + 3] = 10;
    const found = decodeDetections([-3, 2], regs, anchors, 0.5);
    expect(found).toHaveLength(1);
    expect(found[0]?.score).toBeCloseTo(sigmoid(2), 6);
  });

  it('adds box and keypoint offsets to the anchor centre; sizes are absolute', () => {
    const regs = new Float32Array(REGRESSORS);
    regs.set([4, -2, 20, 30]);
    for (let k = 0; k < 6; k++) {
      regs[4 + 2 * k] = k;
      regs[5 + 2 * k] = -k;
    }
    const [d] = decodeDetections([5], regs, [{ x: 100, y: 50 }], 0.5);
    expect(d).toBeDefined();
    expect([d?.x1, d?.y1, d?.x2, d?.y2]).toEqual([94, 33, 114, 63]);
    expect(d?.keypoints[3]).toEqual({ x: 103, y: 47 });
    expect(d?.keypoints).toHaveLength(6);
  });

  it('drops boxes of non-positive size', () => {
    const regs = new Float32Array(REGRESSORS);
    expect(decodeDetections([5], regs, [{ x: 0, y: 0 }], 0.5)).toHaveLength(0);
  });

  it('saturates extreme logits instead of overflowing', () => {
    expect(sigmoid(1e9)).toBe(1);
    expect(sigmoid(-1e9)).toBeGreaterThanOrEqual(0);
  });
});
