import { describe, expect, it } from 'vitest';
import { widthBatches } from '../../../src/image/text/recognizer.js';

describe('widthBatches', () => {
  it('keeps lines of similar width together and starts a new batch when a line is much wider', () => {
    const widths = [100, 110, 125, 200, 240, 900];
    expect(widthBatches([0, 1, 2, 3, 4, 5], (i) => widths[i])).toEqual([[0, 1, 2], [3, 4], [5]]);
  });

  it('never puts more than 8 lines in one batch', () => {
    const order = Array.from({ length: 19 }, (_, i) => i);
    expect(widthBatches(order, () => 100).map((batch) => batch.length)).toEqual([8, 8, 3]);
  });
});
