/**
 * `npm run eval:pixels [-- --images N --seed S --size PX --jobs J]`: renders seeded images
 * with PHI and non-PHI text, runs `redactImages` on them with
 * pixels: {burnedInText: {scan: always, redact: phi, fill: black}}, and prints detection
 * recall, PHI hidden, non-PHI kept, PHI precision, background change and ms per image.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { parsePolicy, unwrap } from '../src/policy/load.js';
import { redactImages } from '../src/image/redactImages.js';
import { generateImage, writePng, type SyntheticImage } from '../src/image/synth/generator.js';
import { addScores, scoreImage, type ImageScore } from '../src/image/synth/evaluate.js';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

const images = flag('images', 60);
const seed = flag('seed', 1000);
const size = flag('size', 768);
const jobs = flag('jobs', 1);
const redact = process.argv.includes('--all') ? 'all' : 'phi';
const region = process.argv.includes('--mask') ? 'mask' : 'box';

const dir = await mkdtemp(join(tmpdir(), 'veil-eval-'));
try {
  const inDir = join(dir, 'in');
  const outDir = join(dir, 'out');
  const truth: SyntheticImage[] = [];
  for (let i = 0; i < images; i++) {
    const synthetic = await generateImage(seed + i, { width: size, height: size });
    truth.push(synthetic);
    await writePng(synthetic.image, join(inDir, `img-${String(i).padStart(3, '0')}.png`));
  }
  const policy = unwrap(
    parsePolicy(`name: eval\nversion: 1\npixels:\n  burnedInText: { scan: always, redact: ${redact}, fill: black, region: ${region} }\n  faces: { detect: false }\n`, { file: '<eval>', baseDir: dir }),
  );
  const report = await redactImages({ policy, input: inDir, output: outDir, jobs });
  let total: ImageScore | undefined;
  const bySize = new Map<string, { phi: number; hidden: number; found: number; lines: number }>();
  let flagged = 0;
  let ms = 0;
  for (let i = 0; i < images; i++) {
    const file = report.files[i];
    ms += file.ms;
    if (file.status === 'flagged') flagged++;
    const name = join(outDir, file.file);
    const after = file.status === 'flagged' ? truth[i].image : await readRgb(name);
    const score = scoreImage(truth[i].lines, truth[i].image, after, file.text);
    total = total ? addScores(total, score) : score;
    if (process.argv.includes('--verbose')) {
      process.stdout.write(`${file.file} ${truth[i].background} ${file.status} passes ${file.passes} ms ${file.ms} PHI ${score.phiHidden}/${score.phiLines} kept ${score.safeKept}/${score.safeLines} bg ${((100 * score.backgroundChanged) / score.backgroundPixels).toFixed(2)}%\n`);
    }
    for (const line of truth[i].lines) {
      const bucket = line.size <= 10 ? '8-10' : line.size <= 14 ? '11-14' : line.size <= 20 ? '15-20' : '21-28';
      const entry = bySize.get(bucket) ?? { phi: 0, hidden: 0, found: 0, lines: 0 };
      const single = scoreImage([line], truth[i].image, after, file.text);
      entry.lines++;
      entry.found += single.detected;
      if (line.phi) {
        entry.phi++;
        entry.hidden += single.phiHidden;
      }
      bySize.set(bucket, entry);
    }
  }
  if (!total) throw new Error('no images');
  const pct = (a: number, b: number): string => (b === 0 ? 'n/a' : `${((100 * a) / b).toFixed(1)}%`);
  const lines = total.phiLines + total.safeLines;
  process.stdout.write(
    [
      `images: ${images} (${size}x${size}, seed ${seed}), lines: ${lines} (${total.phiLines} PHI, ${total.safeLines} non-PHI), redact: ${redact}, region: ${region}, jobs: ${jobs}`,
      `detection recall (lines found):   ${pct(total.detected, lines)}`,
      `PHI recall (PHI lines hidden):    ${pct(total.phiHidden, total.phiLines)}`,
      `non-PHI kept intact:              ${pct(total.safeKept, total.safeLines)}`,
      `PHI precision (redacted on PHI):  ${pct(total.redactedOnPhi, total.redactedInstances)}`,
      `background pixels changed:        ${pct(total.backgroundChanged, total.backgroundPixels)}`,
      `flagged files:                    ${flagged}`,
      `ms per image (in worker, end to end incl. verify): ${(ms / images).toFixed(0)}; wall ${report.timingMs} ms`,
      `by text size: ${[...bySize.entries()].sort().map(([k, v]) => `${k}px found ${pct(v.found, v.lines)} PHI hidden ${pct(v.hidden, v.phi)}`).join('; ')}`,
    ].join('\n') + '\n',
  );
} finally {
  if (!process.argv.includes('--keep')) await rm(dir, { recursive: true, force: true });
  else process.stdout.write(`kept ${dir}\n`);
}

async function readRgb(path: string): Promise<{ width: number; height: number; channels: 3; data: Uint8Array }> {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) };
}
