import type { Box } from '../raster.js';

/**
 * Groups instances that sit on one text line: DBNet often splits a line at wide spaces
 * ("26 DEC 1997" → "26 DEC" + "1997"), and a fragment alone ("1997", "99") can look
 * harmless. Returns groups of indices, each ordered left to right.
 */
export function groupLines(boxes: readonly Box[], gapFactor = 1.2): number[][] {
  const parent = boxes.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      if (sameLine(boxes[i], boxes[j], gapFactor)) parent[find(i)] = find(j);
    }
  }
  const groups = new Map<number, number[]>();
  boxes.forEach((_, i) => {
    const root = find(i);
    groups.set(root, [...(groups.get(root) ?? []), i]);
  });
  return [...groups.values()].map((group) => group.sort((a, b) => boxes[a].x - boxes[b].x));
}

function sameLine(a: Box, b: Box, gapFactor: number): boolean {
  const overlap = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  const smaller = Math.min(a.height, b.height);
  const larger = Math.max(a.height, b.height);
  if (overlap < 0.5 * smaller || larger > 2 * smaller) return false;
  const gap = Math.max(a.x, b.x) - Math.min(a.x + a.width, b.x + b.width);
  return gap <= gapFactor * larger;
}

export function unionBox(boxes: readonly Box[]): Box {
  const x0 = Math.min(...boxes.map((b) => b.x));
  const y0 = Math.min(...boxes.map((b) => b.y));
  const x1 = Math.max(...boxes.map((b) => b.x + b.width));
  const y1 = Math.max(...boxes.map((b) => b.y + b.height));
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}
