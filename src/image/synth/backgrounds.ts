import type { Raster8 } from '../raster.js';
import type { Random } from './random.js';

/** `mr` is only drawn when asked for (the default mix of `generateImage` stays as it was). */
export type BackgroundKind = 'ct' | 'mr' | 'ultrasound' | 'radiograph' | 'photo';

/** Smooth value noise: random values on a coarse grid, bilinearly interpolated. */
function smoothNoise(random: Random, width: number, height: number, cell: number): Float32Array {
  const gw = Math.ceil(width / cell) + 2;
  const gh = Math.ceil(height / cell) + 2;
  const grid = Float32Array.from({ length: gw * gh }, () => random.next());
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const fy = y / cell;
    const y0 = Math.floor(fy);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = x / cell;
      const x0 = Math.floor(fx);
      const wx = fx - x0;
      const a = grid[y0 * gw + x0];
      const b = grid[y0 * gw + x0 + 1];
      const c = grid[(y0 + 1) * gw + x0];
      const d = grid[(y0 + 1) * gw + x0 + 1];
      out[y * width + x] = (a + (b - a) * wx) * (1 - wy) + (c + (d - c) * wx) * wy;
    }
  }
  return out;
}

/**
 * A plausible medical-looking background without any text: a CT-like slice, an MR-like
 * head, an ultrasound sector with speckle, a bright radiograph, or a colourful "photo".
 */
export function renderBackground(random: Random, kind: BackgroundKind, width: number, height: number): Raster8 {
  const data = new Uint8Array(width * height * 3);
  const coarse = smoothNoise(random, width, height, Math.max(8, Math.round(Math.min(width, height) / 8)));
  const fine = smoothNoise(random, width, height, 3);
  const cx = width / 2 + (random.next() - 0.5) * width * 0.1;
  const cy = height / 2 + (random.next() - 0.5) * height * 0.1;
  const rx = width * (0.3 + random.next() * 0.12);
  const ry = height * (0.3 + random.next() * 0.12);
  const tint = [random.int(200, 255), random.int(80, 200), random.int(30, 160)];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const e = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2;
      let v: number;
      let rgb: [number, number, number] | undefined;
      if (kind === 'ct') {
        v = e < 1 ? 70 + coarse[i] * 80 + fine[i] * 25 + (e > 0.85 ? 90 : 0) : 8 + fine[i] * 6;
      } else if (kind === 'mr') {
        // a head: grey tissue with darker CSF-like patches, no bright skull rim, dark air
        v = e < 1 ? 45 + coarse[i] * 110 + fine[i] * 30 - (coarse[i] > 0.7 ? 40 : 0) : 3 + fine[i] * 10;
      } else if (kind === 'ultrasound') {
        const angle = Math.atan2(x - width / 2, y + height * 0.05);
        const radius = Math.hypot(x - width / 2, y + height * 0.05);
        const inside = Math.abs(angle) < 0.6 && radius > height * 0.12 && radius < height * 0.92;
        v = inside ? 20 + coarse[i] * 90 + (fine[i] > 0.7 ? 90 : fine[i] * 40) : 0;
      } else if (kind === 'radiograph') {
        v = 90 + coarse[i] * 110 + fine[i] * 20 - Math.min(60, Math.abs(x - cx) / 6);
      } else {
        const t = coarse[i];
        rgb = [tint[0] * t + fine[i] * 30, tint[1] * (1 - t) + fine[i] * 30, tint[2] * 0.5 + fine[i] * 40];
        v = 0;
      }
      const [r, g, b] = rgb ?? [v, v, v];
      data[i * 3] = Math.max(0, Math.min(255, Math.round(r)));
      data[i * 3 + 1] = Math.max(0, Math.min(255, Math.round(g)));
      data[i * 3 + 2] = Math.max(0, Math.min(255, Math.round(b)));
    }
  }
  return { width, height, channels: 3, data };
}
