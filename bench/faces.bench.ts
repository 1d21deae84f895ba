/**
 * Face detection speed on one core (onnxruntime intra-op threads = 1): ms per 640×480 and
 * per 1920×1080 image (target ≤ 80 ms at 640×480), with the number of 256² windows the
 * pyramid runs, the cost of one window, and the cost of hiding. Images: the synthetic
 * composites of real face crops from scripts/faces-eval-set.ts. Prints figures only.
 *
 *   npx tsx bench/faces.bench.ts [rounds]
 */
import { loadavg } from 'node:os';
import { BlazeFaceDetector } from '../src/image/faces/detector.js';
import { hideFaces } from '../src/image/faces/index.js';
import { planTiles } from '../src/image/faces/tiles.js';
import type { Raster8 } from '../src/image/raster.js';
import { buildFaceEvalSet } from '../scripts/faces-eval-set.js';

const rounds = Number(process.argv[2] ?? 5);

function stats(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  return `median ${median.toFixed(1)} ms, mean ${mean.toFixed(1)} ms, min ${(sorted[0] ?? 0).toFixed(1)} ms`;
}

const set = await buildFaceEvalSet();
const small = set.filter((i) => i.width === 640 && i.height === 480);
const large = set.filter((i) => i.width === 1920 && i.height === 1080);
const detector = await BlazeFaceDetector.create({ threads: 1 });
console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (figures on a shared machine are upper bounds)`);

// One window alone.
const window = new Float32Array(256 * 256 * 3).fill(0);
for (let i = 0; i < 3; i++) await detector.runTile(window);
const windowMs: number[] = [];
for (let i = 0; i < 20; i++) {
  const t = performance.now();
  await detector.runTile(window);
  windowMs.push(performance.now() - t);
}
console.log(`one 256×256 window (onnxruntime, 1 thread): ${stats(windowMs)}`);

for (const [label, images] of [
  ['640×480', small],
  ['1920×1080', large],
] as const) {
  const first = images[0] as Raster8;
  const windows = planTiles(first.width, first.height, detector.options).length;
  await detector.detect(first);
  const detectMs: number[] = [];
  const hideMs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const image of images) {
      const t = performance.now();
      const faces = await detector.detect(image);
      detectMs.push(performance.now() - t);
      const copy = { ...image, data: new Uint8Array(image.data) };
      const h = performance.now();
      hideFaces(copy, faces, 'blur');
      hideMs.push(performance.now() - h);
    }
  }
  console.log(`${label}: ${windows} windows; detect ${stats(detectMs)}; blur of the faces found ${stats(hideMs)} (${images.length} images × ${rounds} rounds)`);
}
await detector.close();
