/**
 * Detection-only sweep over detector options (issue 14): recall on composites + real
 * photos, false positives per face-free photo and per composite, ms per image.
 * Usage: npx tsx scripts/faces-eval-sweep.ts '{"minTileSize":192}' '{...}' …
 */
import { createFaceDetector, type FaceDetectorOptions } from '../src/image/faces/index.js';
import type { BlazeFaceDetector } from '../src/image/faces/detector.js';
import { buildFaceEvalSet, buildRealPhotoSet, type EvalImage } from './faces-eval-set.js';
import { matchFaces } from './faces-eval-metrics.js';

const set = await buildFaceEvalSet();
const real = await buildRealPhotoSet();
const configs = process.argv.slice(2).map((a) => JSON.parse(a) as FaceDetectorOptions);
for (const options of configs.length ? configs : [{}]) {
  const detector = (await createFaceDetector(options)) as BlazeFaceDetector;
  // Count 256² inferences: under a shared machine's load they say more than wall time.
  let windows = 0;
  const run = detector.runTile.bind(detector);
  detector.runTile = (input, minScore) => {
    windows++;
    return run(input, minScore);
  };
  await detector.detect(set[0] as EvalImage);
  let faces = 0;
  let found = 0;
  let fpComposite = 0;
  let fpRealFaces = 0;
  let fpFree = 0;
  let ms = 0;
  const missed: string[] = [];
  const fps: string[] = [];
  windows = 0;
  for (const img of [...set, ...real.withFaces, ...real.faceFree]) {
    const t0 = performance.now();
    const det = await detector.detect(img);
    ms += performance.now() - t0;
    const { matched, falsePositives } = matchFaces(img.faces, det);
    faces += img.faces.length;
    found += matched.size;
    img.faces.forEach((f, i) => { if (!matched.has(i)) missed.push(`${img.name}@${Math.round(f.x)},${Math.round(f.y)}/${Math.round(f.size)}`); });
    if (falsePositives) fps.push(`${img.name} ${falsePositives}`);
    if (img.kind === 'face-free') fpFree += falsePositives;
    else if (img.kind === 'real') fpRealFaces += falsePositives;
    else fpComposite += falsePositives;
  }
  const allWindows = windows;
  const sizes = [[640, 480], [1920, 1080]].map(([w, h]) => set.find((i) => i.width === w && i.height === h) as EvalImage);
  const speed: string[] = [];
  for (const img of sizes) {
    windows = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) await detector.detect(img);
    const cpu = process.cpuUsage(cpu0);
    speed.push(`${img.width}x${img.height}: ${windows / 3} windows, ${((performance.now() - t0) / 3).toFixed(0)} ms wall, ${((cpu.user + cpu.system) / 3000).toFixed(0)} ms cpu`);
  }
  console.log(JSON.stringify(options));
  console.log(`  recall ${found}/${faces} = ${((100 * found) / faces).toFixed(1)}%  FP/face-free ${(fpFree / real.faceFree.length).toFixed(3)} (${fpFree})  FP/composite ${(fpComposite / set.length).toFixed(2)}  FP real-with-faces ${fpRealFaces}  total ms ${ms.toFixed(0)}, windows ${allWindows}  ${speed.join('  ')}`);
  console.log(`  missed: ${missed.join(', ')}`);
  console.log(`  FP: ${fps.join(', ')}`);
  await detector.close();
}
