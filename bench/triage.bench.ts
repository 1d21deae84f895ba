/**
 * Triage benchmark for `scan: auto` (`npx tsx bench/triage.bench.ts`, or `npm run bench -- triage`).
 * Prints, on one thread:
 * - triage ms (the text detector alone) per 512² CT frame (693_UNCR.dcm) and per 1024² CR
 *   frame (the centre of RG3_J2KR.dcm), median of 7;
 * - files/s of a 24-file CT series (copies of 693_UNCR.dcm) through `deidentifyDicomDirectory`
 *   with `scan: auto` (every slice triaged) and with `scan: never`;
 * - triage recall: frames with one PHI line printed by the eval generator on 512² CT and MR
 *   frames (synthetic backgrounds; real frames of ../shared/data/dicom with the line burned
 *   into their stored values, as devices do: at the frame's maximum, or at mid-grey), and the
 *   share that triage sends to the full pipeline, with the window view alone, with the
 *   stored-value look added (near-white rows read at ×2), and with the whole stored-range
 *   view read too; also how often a frame without text is escalated, and what the
 *   stored-value look costs per frame.
 * `--frames N` sets the recall sample (default 600). Figures only, no assertions.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deidentifyDicomDirectory } from '../src/dicom/index.js';
import { readDicom } from '../src/dicom/codec/read.js';
import { buildPixelInput } from '../src/dicom/pixelStep.js';
import { syntaxInfo } from '../src/standard/transferSyntax.js';
import type { PixelLayout } from '../src/dicom/pixels/layout.js';
import { frameView, storedRange, storedSamples, type ViewSettings } from '../src/dicom/pixels/view.js';
import { decodeDicomFrames, dicomPixelCleanerFactory } from '../src/dicom/pixels/cleaner.js';
import type { Box, Raster8 } from '../src/image/raster.js';
import { burnText, burnValue, type BurnLevel } from '../src/dicom/pixels/burn.js';
import { generateImage } from '../src/image/synth/generator.js';
import { cropRaster } from '../src/image/text/resize.js';
import { createTextEngine } from '../src/image/textPipeline.js';
import { detectStored, triageFrame } from '../src/image/triage.js';
import { storedLook, type StoredLook } from '../src/dicom/pixels/triage.js';
import { parsePolicy, unwrap } from '../src/policy/load.js';

const shared = new URL('../../shared/data/dicom/', import.meta.url).pathname;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const line = (text: string): void => void process.stdout.write(`${text}\n`);
const at = process.argv.indexOf('--frames');
const sample = at >= 0 ? Number(process.argv[at + 1]) : 600;

interface NativeFrame {
  frame: Uint8Array;
  layout: PixelLayout;
  settings: ViewSettings;
}

/** A shared DICOM file's native frames, with what the cleaner needs to view them. */
async function framesOf(name: string): Promise<NativeFrame[]> {
  const file = readDicom(await readFile(join(shared, name)));
  const input = buildPixelInput(name, file.dataset, file.transferSyntax, []);
  if (!input) throw new Error(`${name} has no pixel data`);
  const { frames, layout } = decodeDicomFrames(input, syntaxInfo(input.transferSyntaxUID)!);
  const settings = { windowCenter: input.windowCenter?.[0], windowWidth: input.windowWidth?.[0], slope: input.rescaleSlope ?? 1, intercept: input.rescaleIntercept ?? 0, palette: input.palette };
  return frames.map((frame) => ({ frame, layout, settings }));
}

const viewOf = (f: NativeFrame): Raster8 => frameView(f.frame, f.layout, f.settings);
const lookOf = (f: NativeFrame): StoredLook | undefined => storedLook(f.frame, f.layout, f.settings);

/** Grey as a DICOM frame stores burned-in text: the brightest channel of the rendered colour. */
function grey(image: Raster8): Raster8 {
  const data = new Uint8Array(image.width * image.height);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(image.data[i * 3], image.data[i * 3 + 1], image.data[i * 3 + 2]);
  return { width: image.width, height: image.height, channels: 1, data };
}

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

const engine = await createTextEngine(1);
const { initCodecs } = await import('../src/dicom/pixels/codecs.js');
await initCodecs();

// ms per frame: the window view alone, and with the stored-value look (which triage adds when the window view shows nothing)
const ctFrame = (await framesOf('693_UNCR.dcm'))[0];
const crFull = (await framesOf('RG3_J2KR.dcm'))[0];
const crView = viewOf(crFull);
const cr = cropRaster(crView, Math.floor((crView.width - 1024) / 2), Math.floor((crView.height - 1024) / 2), 1024, 1024);
const crLook = lookOf(crFull);
const crLookCrop = crLook && { ...crLook, view: cropRaster(crLook.view, Math.floor((crView.width - 1024) / 2), Math.floor((crView.height - 1024) / 2), 1024, 1024), regions: [] };
const timed = async (run: () => Promise<unknown>): Promise<number> => {
  await run(); // warm-up: first run of a shape
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  return median(times);
};
for (const [label, view, look] of [
  ['512² CT frame (693_UNCR)', viewOf(ctFrame), () => lookOf(ctFrame)],
  ['1024² CR frame (centre of RG3_J2KR; look built on the whole 1760² frame)', cr, () => (lookOf(crFull), crLookCrop)],
] as const) {
  const alone = await timed(() => triageFrame(engine, view));
  const both = await timed(() => triageFrame(engine, view, look()));
  // CPU time of the look's own arithmetic (wall times above include waiting for the other jobs' cores)
  const cpu: number[] = [];
  for (let i = 0; i < 7; i++) {
    const before = process.cpuUsage();
    look();
    const used = process.cpuUsage(before);
    cpu.push((used.user + used.system) / 1000);
  }
  line(`triage ${label}: ${alone.toFixed(0)} ms window view alone, ${both.toFixed(0)} ms with the stored-value look (median of 7, 1 thread; the look: stored samples, range view, near-white rows, their ×2 read); building the look ${median(cpu).toFixed(1)} ms CPU`);
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
const real = [...(await framesOf('693_UNCR.dcm')), ...(await framesOf('eCT_Supplemental.dcm')), ...(await framesOf('MR-SIEMENS-DICOM-WithOverlays.dcm'))];
const eightBit: PixelLayout = { rows: 512, columns: 512, samples: 1, bitsAllocated: 8, bitsStored: 8, signed: false, planar: false, photometric: 'MONOCHROME2' };
const plain: ViewSettings = { slope: 1, intercept: 0 };
interface Tally {
  frames: number;
  window: number;
  both: number;
  /** With the whole stored-range view read as well (as the full pipeline does when the window leaves out part of the range). */
  wholeToo: number;
  onLine: number;
  lookMs: number[];
}
const groups = new Map<string, Tally>();
let quietFrames = 0;
let quietWindow = 0;
let quietBoth = 0;
let quietWholeToo = 0;
/** Whether the stored-value look with the whole-view read finds text (only asked when the window view found nothing). */
const wholeToo = async (look: StoredLook | undefined): Promise<boolean> => look !== undefined && (await detectStored(engine, look)).length > 0;
/** A frame as the cleaner sees it: window view and stored-value look; synthetic backgrounds are 8-bit frames shown as drawn. */
async function frameOf(seed: number, kind: string, lines: number): Promise<{ view: Raster8; look: StoredLook | undefined; truth?: Box }> {
  if (kind === 'ct' || kind === 'mr') {
    const synthetic = await generateImage(seed, { width: 512, height: 512, phiLines: lines, safeLines: 0, background: kind });
    const view = grey(synthetic.image);
    return { view, look: storedLook(view.data, eightBit, plain), truth: synthetic.lines.find((l) => l.phi)?.box };
  }
  const backdrop = real[seed % real.length];
  const { layout } = backdrop;
  const black: Raster8 = { width: layout.columns, height: layout.rows, channels: 1, data: new Uint8Array(layout.rows * layout.columns) };
  const text = await generateImage(seed, { width: layout.columns, height: layout.rows, phiLines: lines, safeLines: 0, backdrop: black });
  const range = storedRange(storedSamples(backdrop.frame, layout)!)!;
  const burned = lines > 0 ? { ...backdrop, frame: burnText(backdrop.frame, layout, text.image, burnValue(range, kind.slice(5) as BurnLevel)) } : backdrop;
  return { view: viewOf(burned), look: lookOf(burned), truth: text.lines.find((l) => l.phi)?.box };
}
for (let i = 0; i < sample; i++) {
  const kind = i % 3 === 0 ? 'ct' : i % 3 === 1 ? 'mr' : Math.floor(i / 3) % 2 === 0 ? 'real-max' : 'real-mid';
  const { view, look, truth } = await frameOf(90_000 + i, kind, 1);
  if (!truth) continue;
  const t = performance.now();
  const found = await triageFrame(engine, view, look);
  const ms = performance.now() - t;
  const group = groups.get(kind) ?? { frames: 0, window: 0, both: 0, wholeToo: 0, onLine: 0, lookMs: [] };
  group.frames++;
  if (found.window.length > 0) group.window++;
  else group.lookMs.push(ms);
  if (found.window.length > 0 || (await wholeToo(look))) group.wholeToo++;
  if (found.window.length > 0 || found.stored.length > 0) group.both++;
  if ([...found.window, ...found.stored].some((f) => overlaps(f.box, truth))) group.onLine++;
  groups.set(kind, group);
  if (i % 10 === 0) {
    // the same background without text: how often triage escalates a clean frame
    const blank = await frameOf(90_000 + i, kind, 0);
    const quiet = await triageFrame(engine, blank.view, blank.look);
    quietFrames++;
    if (quiet.window.length > 0) quietWindow++;
    if (quiet.window.length > 0 || quiet.stored.length > 0) quietBoth++;
    if (quiet.window.length > 0 || (await wholeToo(blank.look))) quietWholeToo++;
  }
}
const pct = (a: number, b: number): string => `${((100 * a) / Math.max(1, b)).toFixed(1)}%`;
const names: Record<string, string> = { ct: 'synthetic CT', mr: 'synthetic MR', 'real-max': "real frames, text at the frame's maximum stored value", 'real-mid': 'real frames, text at mid-grey (halfway between minimum and maximum)' };
const all = { frames: 0, window: 0, both: 0, wholeToo: 0, onLine: 0 };
for (const kind of ['ct', 'mr', 'real-max', 'real-mid']) {
  const g = groups.get(kind);
  if (!g) continue;
  for (const key of ['frames', 'window', 'both', 'wholeToo', 'onLine'] as const) all[key] += g[key];
  line(`triage recall on ${names[kind]}: window view alone ${g.window}/${g.frames} = ${pct(g.window, g.frames)}; with the stored-value look ${g.both}/${g.frames} = ${pct(g.both, g.frames)} (${pct(g.onLine, g.frames)} by a region on the PHI line); with the whole stored-range view read too ${g.wholeToo}/${g.frames}; frames where the look ran: ${g.lookMs.length}, ${g.lookMs.length ? median(g.lookMs).toFixed(0) : '-'} ms median for both steps`);
}
line(`triage recall, all: window view alone ${all.window}/${all.frames} = ${pct(all.window, all.frames)}; with the stored-value look ${all.both}/${all.frames} = ${pct(all.both, all.frames)} of frames with one PHI line (8–28 px) reach the full pipeline (${pct(all.onLine, all.frames)} through a region on the line itself); with the whole stored-range view read too ${all.wholeToo}/${all.frames} = ${pct(all.wholeToo, all.frames)}`);
line(`frames without text escalated: window view alone ${quietWindow}/${quietFrames} = ${pct(quietWindow, quietFrames)}; with the stored-value look ${quietBoth}/${quietFrames} = ${pct(quietBoth, quietFrames)}; with the whole stored-range view read too ${quietWholeToo}/${quietFrames}`);
