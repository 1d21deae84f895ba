/**
 * Triage benchmark for `scan: auto` (`npx tsx bench/triage.bench.ts`, or `npm run bench -- triage`).
 * Prints, on one thread:
 * - triage ms (the text detector alone) per 512² CT frame (693_UNCR.dcm) and per 1024² CR
 *   frame (the centre of RG3_J2KR.dcm), median of 7;
 * - files/s of a 24-file CT series (copies of 693_UNCR.dcm) through `deidentifyDicomDirectory`
 *   with `scan: auto` (every slice triaged) and with `scan: never`;
 * - triage recall: frames with one PHI line printed by the eval generator on 512² CT and MR
 *   frames (synthetic backgrounds and real frames of ../shared/data/dicom), and the share
 *   that triage sends to the full pipeline; also how often a frame without text is escalated.
 * `--frames N` sets the recall sample (default 600). Figures only, no assertions.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deidentifyDicomDirectory } from '../src/dicom/index.js';
import { readDicom } from '../src/dicom/codec/read.js';
import { buildPixelInput } from '../src/dicom/pixelStep.js';
import { syntaxInfo } from '../src/dicom/pixels/transferSyntax.js';
import { frameView } from '../src/dicom/pixels/view.js';
import { decodeDicomFrames, dicomPixelCleanerFactory } from '../src/image/dicomCleaner.js';
import type { Box, Raster8 } from '../src/image/raster.js';
import { generateImage } from '../src/image/synth/generator.js';
import { cropRaster } from '../src/image/text/resize.js';
import { createTextEngine } from '../src/image/textPipeline.js';
import { triageFrame } from '../src/image/triage.js';
import { parsePolicy, unwrap } from '../src/policy/load.js';

const shared = new URL('../../shared/data/dicom/', import.meta.url).pathname;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const line = (text: string): void => void process.stdout.write(`${text}\n`);
const at = process.argv.indexOf('--frames');
const sample = at >= 0 ? Number(process.argv[at + 1]) : 600;

/** The 8-bit views of a shared DICOM file's frames, as the cleaner sees them. */
async function viewsOf(name: string): Promise<Raster8[]> {
  const file = readDicom(await readFile(join(shared, name)));
  const input = buildPixelInput(name, file.dataset, file.transferSyntax, []);
  if (!input) throw new Error(`${name} has no pixel data`);
  const { frames, layout } = decodeDicomFrames(input, syntaxInfo(input.transferSyntaxUID)!);
  const settings = { windowCenter: input.windowCenter?.[0], windowWidth: input.windowWidth?.[0], slope: input.rescaleSlope ?? 1, intercept: input.rescaleIntercept ?? 0, palette: input.palette };
  return frames.map((frame) => frameView(frame, layout, settings));
}

/** Grey as a DICOM frame stores burned-in text: the brightest channel of the rendered colour. */
function grey(image: Raster8): Raster8 {
  const data = new Uint8Array(image.width * image.height);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(image.data[i * 3], image.data[i * 3 + 1], image.data[i * 3 + 2]);
  return { width: image.width, height: image.height, channels: 1, data };
}

/** Mean grey of a line's glyph pixels minus the mean of the other pixels of its box, in the frame's view (absolute). */
function glyphContrast(view: Raster8, box: Box, glyphs: Uint8Array): number {
  let ink = 0;
  let inkCount = 0;
  let rest = 0;
  let restCount = 0;
  for (let y = 0; y < box.height; y++) {
    for (let x = 0; x < box.width; x++) {
      const v = view.data[(box.y + y) * view.width + box.x + x];
      if (glyphs[y * box.width + x]) {
        ink += v;
        inkCount++;
      } else {
        rest += v;
        restCount++;
      }
    }
  }
  return Math.abs(ink / Math.max(1, inkCount) - rest / Math.max(1, restCount));
}

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

const engine = await createTextEngine(1);
const { initCodecs } = await import('../src/dicom/pixels/codecs.js');
await initCodecs();

// ms per frame
const ct = (await viewsOf('693_UNCR.dcm'))[0];
const crFull = (await viewsOf('RG3_J2KR.dcm'))[0];
const cr = cropRaster(crFull, Math.floor((crFull.width - 1024) / 2), Math.floor((crFull.height - 1024) / 2), 1024, 1024);
for (const [label, view] of [['512² CT frame (693_UNCR)', ct], ['1024² CR frame (centre of RG3_J2KR)', cr]] as const) {
  await triageFrame(engine, view); // warm-up: first run of a shape
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    await triageFrame(engine, view);
    times.push(performance.now() - t);
  }
  line(`triage ${label}: ${median(times).toFixed(0)} ms (median of 7, 1 thread)`);
}

// files/s of a CT series
const dir = await mkdtemp(join(tmpdir(), 'veil-triage-bench-'));
try {
  const series = join(dir, 'series');
  await mkdir(series);
  const files = 24;
  for (let i = 0; i < files; i++) await copyFile(join(shared, '693_UNCR.dcm'), join(series, `slice-${String(i).padStart(3, '0')}.dcm`));
  for (const scan of ['never', 'auto']) {
    const policy = unwrap(parsePolicy(`name: bench\nversion: 1\ndicom: { profile: basic }\npixels: { burnedInText: { scan: ${scan} } }\n`, { file: 'bench.yaml', baseDir: dir }));
    const t = performance.now();
    const report = await deidentifyDicomDirectory({ policy, input: series, output: join(dir, `out-${scan}`), secret: Buffer.from('bench-secret-0123456789abcdef'), jobs: 1, pixelCleaner: dicomPixelCleanerFactory });
    const seconds = (performance.now() - t) / 1000;
    const pixelMs = median(report.files.map((f) => f.pixels?.ms ?? 0));
    line(`CT series of ${files} × 512² slices, scan: ${scan}: ${(files / seconds).toFixed(1)} files/s, pixel step ${pixelMs} ms per file (median; ${report.pixels.triagedClean} triaged clean, ${report.pixels.scanned} scanned, ${report.pixels.notScanned} not examined; models loaded on the first file; one cleaner on the main thread)`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

// recall: one PHI line per frame on CT/MR backgrounds
const realFrames = [...(await viewsOf('693_UNCR.dcm')), ...(await viewsOf('eCT_Supplemental.dcm')), ...(await viewsOf('MR-SIEMENS-DICOM-WithOverlays.dcm'))];
const real512 = realFrames.map((v) => (v.width === 512 && v.height === 512 ? v : cropRaster(v, 0, 0, Math.min(512, v.width), Math.min(512, v.height))));
const groups = new Map<string, { frames: number; escalated: number; lineHit: number }>();
/** Lines whose glyphs differ from their box by fewer grey levels are close to invisible in the view (white text on tissue the window renders white). */
const FAINT = 24;
const visible = { frames: 0, escalated: 0 };
let quietFrames = 0;
let quietEscalated = 0;
for (let i = 0; i < sample; i++) {
  const kind = i % 3 === 0 ? 'ct' : i % 3 === 1 ? 'mr' : 'real';
  const backdrop = kind === 'real' ? real512[i % real512.length] : undefined;
  const size = backdrop ? { width: backdrop.width, height: backdrop.height } : { width: 512, height: 512 };
  const synthetic = await generateImage(90_000 + i, { ...size, phiLines: 1, safeLines: 0, background: kind === 'real' ? undefined : kind, backdrop });
  const truth = synthetic.lines.find((l) => l.phi);
  if (!truth) continue;
  const view = grey(synthetic.image);
  const found = await triageFrame(engine, view);
  if (glyphContrast(view, truth.box, truth.glyphs) >= FAINT) {
    visible.frames++;
    if (found.length > 0) visible.escalated++;
  }
  const group = groups.get(kind) ?? { frames: 0, escalated: 0, lineHit: 0 };
  group.frames++;
  if (found.length > 0) group.escalated++;
  if (found.some((f) => overlaps(f.box, truth.box))) group.lineHit++;
  groups.set(kind, group);
  if (i % 10 === 0) {
    // the same background without text: how often triage escalates a clean frame
    const blank = await generateImage(90_000 + i, { ...size, phiLines: 0, safeLines: 0, background: kind === 'real' ? undefined : kind, backdrop });
    quietFrames++;
    if ((await triageFrame(engine, grey(blank.image))).length > 0) quietEscalated++;
  }
}
const pct = (a: number, b: number): string => `${((100 * a) / Math.max(1, b)).toFixed(1)}%`;
let frames = 0;
let escalated = 0;
let lineHit = 0;
for (const [kind, g] of [...groups].sort()) {
  frames += g.frames;
  escalated += g.escalated;
  lineHit += g.lineHit;
  line(`triage recall on ${kind === 'real' ? 'real CT/MR frames' : `synthetic ${kind.toUpperCase()}`} backgrounds: ${g.escalated}/${g.frames} = ${pct(g.escalated, g.frames)} frames escalated, ${pct(g.lineHit, g.frames)} by a region on the PHI line`);
}
line(`triage recall, all: ${escalated}/${frames} = ${pct(escalated, frames)} of frames with one PHI line (8–28 px) reach the full pipeline (${pct(lineHit, frames)} through a region on the line itself)`);
line(`triage recall, lines with glyph contrast ≥ ${FAINT} grey levels in the view: ${visible.escalated}/${visible.frames} = ${pct(visible.escalated, visible.frames)}`);
line(`frames without text escalated: ${quietEscalated}/${quietFrames} = ${pct(quietEscalated, quietFrames)}`);
