/**
 * The square windows BlazeFace looks at. BlazeFace sees 256×256 pixels and finds faces
 * down to about 1/16 of its input, so small faces in a group photo need closer looks:
 * level 0 is the whole image (letterboxed), each further level halves the window and
 * tiles the image with 50% overlap, so that any face at most half a window wide lies
 * whole inside some window of its level.
 */
export interface Tile {
  /** Top-left in image pixels (may be negative: letterbox padding). */
  x: number;
  y: number;
  size: number;
  level: number;
}

export interface TileOptions {
  /** How many levels at most (1 = whole image only). */
  maxLevels: number;
  /** No window smaller than this many image pixels (smaller ones would upsample). */
  minTileSize: number;
}

/** Start positions covering [0, length) with windows of `size` and ≥ 50% overlap. */
export function positions(length: number, size: number): number[] {
  if (length <= size) return [Math.round((length - size) / 2)];
  const steps = Math.ceil((length - size) / (size / 2));
  const out: number[] = [];
  for (let i = 0; i <= steps; i++) out.push(Math.round(((length - size) * i) / steps));
  return out;
}

export function planTiles(width: number, height: number, options: TileOptions): Tile[] {
  const tiles: Tile[] = [];
  const full = Math.max(width, height);
  for (let level = 0; level < options.maxLevels; level++) {
    const size = Math.round(full / 2 ** level);
    if (level > 0 && size < options.minTileSize) break;
    for (const y of positions(height, size)) for (const x of positions(width, size)) tiles.push({ x, y, size, level });
  }
  return tiles;
}
