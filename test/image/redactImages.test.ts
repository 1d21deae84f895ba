import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy, unwrap } from '../../src/policy/load.js';
import { redactImages } from '../../src/image/redactImages.js';
import type { ImageRunReport } from '../../src/report/imageReport.js';
import { generateImage, writePng, type SyntheticImage } from '../../src/image/synth/generator.js';
import { addScores, scoreImage, type ImageScore } from '../../src/image/synth/evaluate.js';
import { veilArgs } from '../helpers.js';

const root = resolve(import.meta.dirname, '../..');
const policyText = 'name: img-test\nversion: 1\npixels:\n  burnedInText: { scan: always, redact: phi, fill: black }\n  faces: { detect: false }\n';
const policy = unwrap(parsePolicy(policyText, { file: 'img-test.yaml', baseDir: root }));

let dir: string;
let truth: SyntheticImage[];
let report: ImageRunReport;

async function readRgb(path: string) {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 3 as const, data: new Uint8Array(data) };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'veil-img-'));
  truth = [];
  for (let i = 0; i < 4; i++) {
    const image = await generateImage(7100 + i, { width: 512, height: 512, phiLines: 4, safeLines: 3 });
    // librsvg renders text with system fonts: without any, nothing is drawn.
    if (image.lines.length === 0) throw new Error('no text was rendered: install a system font (Debian: fonts-dejavu-core)');
    truth.push(image);
    await writePng(image.image, join(dir, 'in', 'nested', `case-${i}.png`));
  }
  await writeFile(join(dir, 'in', 'notes.txt'), 'not an image');
  report = await redactImages({ policy, input: join(dir, 'in'), output: join(dir, 'out'), reportJson: join(dir, 'report.json'), jobs: 2 });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('redactImages on generated images (worker pool of 2)', () => {
  it('writes one output per input image, same name and size', async () => {
    expect(report.files.map((f) => f.file).sort()).toEqual(['nested/case-0.png', 'nested/case-1.png', 'nested/case-2.png', 'nested/case-3.png']);
    for (const file of report.files) {
      expect(file.status).toBe('redacted');
      expect(file.verification).toBe('passed');
      const meta = await sharp(join(dir, 'out', file.file)).metadata();
      expect([meta.width, meta.height, meta.format]).toEqual([512, 512, 'png']);
    }
    expect(report.jobs).toBe(2);
  });

  it('hides PHI lines, keeps most technical text and leaves the background alone', async () => {
    let total: ImageScore | undefined;
    for (let i = 0; i < truth.length; i++) {
      const file = report.files.find((f) => f.file === `nested/case-${i}.png`);
      if (!file) throw new Error('missing report entry');
      const after = await readRgb(join(dir, 'out', file.file));
      const score = scoreImage(truth[i].lines, truth[i].image, after, file.text);
      total = total ? addScores(total, score) : score;
    }
    if (!total) throw new Error('no score');
    expect(total.phiLines).toBeGreaterThanOrEqual(14);
    expect(total.phiHidden / total.phiLines).toBeGreaterThanOrEqual(0.9);
    expect(total.safeKept / total.safeLines).toBeGreaterThanOrEqual(0.6);
    // Four small images: one speckled ultrasound merges text with texture into a taller box.
    // The issue's < 0.5% is measured by `npm run eval:pixels` on 60 images of 768² (0.4%).
    expect(total.backgroundChanged / total.backgroundPixels).toBeLessThan(0.02);
  });

  it('reports boxes, classes and confidences but never the recognized text', async () => {
    const written = await readFile(join(dir, 'report.json'), 'utf8');
    const parsed = JSON.parse(written) as ImageRunReport;
    expect(parsed.totals.files).toBe(4);
    expect(parsed.models.map((m) => m.id)).toEqual(['ocr-det-ppocrv4', 'ocr-rec-ppocrv4']);
    const first = parsed.files[0].text[0];
    expect(Object.keys(first).sort()).toEqual(['box', 'class', 'confidence', 'reason', 'redacted', 'round', 'score']);
    for (const image of truth) {
      for (const line of image.lines) {
        // every word of 4+ letters of the burned-in lines (labels aside) must be absent
        const labels = new Set(['name', 'mail', 'frame', 'gain', 'depth', 'flair', 'post']);
        for (const word of line.text.split(/[^A-Za-z]+/).filter((w) => w.length >= 4 && !labels.has(w.toLowerCase()))) {
          expect(written.toLowerCase()).not.toContain(word.toLowerCase());
        }
      }
    }
  });
});

describe('veil image redact (CLI)', () => {
  const cli = (args: string[]) => spawnSync(process.execPath, veilArgs(['image', 'redact', ...args]), { encoding: 'utf8', cwd: root });

  it('exits 2 with one line naming the problem on bad input', async () => {
    await writeFile(join(dir, 'p.yaml'), policyText);
    const missing = cli(['--policy', join(dir, 'p.yaml'), '--in', join(dir, 'nope.png'), '--out', join(dir, 'x.png')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('--in');
    await writeFile(join(dir, 'broken.png'), 'not a png');
    const broken = cli(['--policy', join(dir, 'p.yaml'), '--in', join(dir, 'broken.png'), '--out', join(dir, 'broken-out.png')]);
    expect(broken.status).toBe(2);
    expect(broken.stderr).toContain('broken.png');
    const jobs = cli(['--policy', join(dir, 'p.yaml'), '--in', join(dir, 'in'), '--out', join(dir, 'o2'), '--jobs', 'many']);
    expect(jobs.status).toBe(2);
    expect(jobs.stderr).toContain('--jobs');
  });

  /**
   * One CLI run on a single file, with report and review page, serves the two tests below
   * (each run of `veil image redact` loads the models again).
   */
  let singleRun: ReturnType<typeof cli> | undefined;
  const single = async (): Promise<ReturnType<typeof cli>> => {
    if (!singleRun) {
      await writeFile(join(dir, 'p.yaml'), policyText);
      singleRun = cli(['--policy', join(dir, 'p.yaml'), '--in', join(dir, 'in', 'nested', 'case-1.png'), '--out', join(dir, 'review.png'), '--report', join(dir, 'review.json'), '--html', join(dir, 'review.html')]);
    }
    return singleRun;
  };

  it('redacts a single file to the given output path', async () => {
    const run = await single();
    expect(run.status).toBe(0);
    const meta = await sharp(join(dir, 'review.png')).metadata();
    expect([meta.width, meta.height]).toEqual([512, 512]);
    const report = JSON.parse(await readFile(join(dir, 'review.json'), 'utf8')) as ImageRunReport;
    expect(report.files).toHaveLength(1);
    expect(report.files[0].text.some((t) => t.redacted)).toBe(true);
  });

  it('writes a review page showing the written output with every region found outlined', async () => {
    const run = await single();
    expect(run.status).toBe(0);
    const html = await readFile(join(dir, 'review.html'), 'utf8');
    const outcome = (JSON.parse(await readFile(join(dir, 'review.json'), 'utf8')) as ImageRunReport).files[0];
    const filled = outcome.text.filter((t) => t.redacted);
    expect(filled.length).toBeGreaterThan(0);
    expect(html.match(/<g class="filled">/g)).toHaveLength(filled.length);
    expect(html.match(/<g class="kept">/g) ?? []).toHaveLength(outcome.text.length - filled.length);
    // The picture is the redacted output: dark where text was filled, not the input's glyphs.
    const picture = /data:image\/jpeg;base64,([A-Za-z0-9+/=]+)/.exec(html)?.[1];
    if (!picture) throw new Error('no picture on the review page');
    const { data, info } = await sharp(Buffer.from(picture, 'base64')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([512, 512]);
    const line = filled.reduce((a, b) => (b.box.width * b.box.height > a.box.width * a.box.height ? b : a)).box;
    const input = await readRgb(join(dir, 'in', 'nested', 'case-1.png'));
    const meanIn = (pixels: Uint8Array | Buffer, channels: number): number => {
      let sum = 0;
      for (let y = line.y + 2; y < line.y + line.height - 2; y++) for (let x = line.x + 2; x < line.x + line.width - 2; x++) sum += pixels[(y * 512 + x) * channels];
      return sum / ((line.width - 4) * (line.height - 4));
    };
    expect(meanIn(data, info.channels)).toBeLessThan(24);
    expect(meanIn(input.data, 3) - meanIn(data, info.channels)).toBeGreaterThan(20);
    for (const text of truth[1].lines.filter((l) => l.phi).map((l) => l.text)) {
      for (const word of text.split(/[^A-Za-z]+/).filter((w) => w.length >= 5)) expect(html.toLowerCase()).not.toContain(word.toLowerCase());
    }
  });
});
