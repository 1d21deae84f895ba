import { describe, expect, it } from 'vitest';
import { BufferPool } from '../../../src/dicom/net/bufferPool.js';

/**
 * The pool of buffers the listener copies each received instance into: a buffer given back is
 * taken again for an instance of the same size or smaller (no new allocation), a larger one gets
 * a new buffer, and the pool keeps at most `keep` buffers, the largest.
 */
describe('BufferPool', () => {
  it('gives back the same buffer for the next instance that fits, a new one for a larger', () => {
    const pool = new BufferPool(4);
    const first = pool.take(513_000);
    expect(first.length).toBeGreaterThanOrEqual(513_000);
    pool.give(first);
    expect(pool.size).toBe(1);
    const again = pool.take(400_000);
    expect(again).toBe(first);
    expect(pool.size).toBe(0);
    pool.give(again);
    const larger = pool.take(first.length + 1);
    expect(larger).not.toBe(first);
    expect(larger.length).toBeGreaterThan(first.length);
    // the smaller one is still there for a small instance
    expect(pool.take(10)).toBe(first);
  });

  it('keeps at most `keep` buffers, the largest, and none above its limit', () => {
    const pool = new BufferPool(2, 4 * 1024 * 1024);
    const sizes = [100_000, 300_000, 200_000, 1_000_000];
    const buffers = sizes.map((s) => pool.take(s));
    for (const b of buffers) pool.give(b);
    expect(pool.size).toBe(2);
    expect(pool.take(900_000)).toBe(buffers[3]);
    expect(pool.take(250_000)).toBe(buffers[1]);
    expect(pool.size).toBe(0);
    pool.give(pool.take(5 * 1024 * 1024));
    expect(pool.size).toBe(0);
  });
});
