import { copyFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isVeilError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { PixelsPolicy } from '../policy/sections/pixels.js';
import { createFaceDetector, fillFacesUntilGone, redactFaces, type FaceAction, type FaceDetection, type FaceDetector, type FaceRedaction } from './faces/index.js';
import { NEVER_REASON } from '../report/notExamined.js';
import { encodeImage, readImage } from './imageFile.js';
import type { ImageFileReport } from '../report/imageReport.js';
import type { Raster8 } from './raster.js';
import { fillMasked, fillValues, pageOf, viewOf, viewWindow, type NativeImage, type NativeImage8 } from './redact/fillRaster.js';
import { cleanText, createTextEngine, type TextEngine } from './textPipeline.js';

/** Margin (pixels) around each filled text region. */
export const REGION_MARGIN = 2;
export const MAX_VERIFY_ROUNDS = 3;

export interface ImageProcessor {
  process(input: string, output: string, relative: string): Promise<ImageFileReport>;
  close(): Promise<void>;
}

/**
 * Loads the models once, when the first image that could be read needs them (a run where no
 * file can be read loads none: ≈ 1–2 CPU-s per worker thread); then processes one file at a time.
 */
export async function createImageProcessor(pixels: PixelsPolicy, threads = 1): Promise<ImageProcessor> {
  let loading: Promise<LoadedModels> | undefined;
  const models: FileModels = {
    text: pixels.burnedInText.scan !== 'never',
    faces: pixels.faces.detect,
    load: () =>
      (loading ??= (async () => {
        const engine = models.text ? await createTextEngine(threads) : undefined;
        const faceDetector = models.faces ? await createFaceDetector() : undefined;
        return { engine, faceDetector };
      })()),
  };
  return {
    process: (input, output, relative) => processImageFile(input, output, relative, pixels, models),
    close: async () => {
      // a load that failed has already failed the file that asked for it
      const loaded = await loading?.catch(() => undefined);
      await loaded?.faceDetector?.close();
    },
  };
}

interface LoadedModels {
  engine: TextEngine | undefined;
  faceDetector: FaceDetector | undefined;
}

/** Which models a file will use, and how to get them once its image has been read. */
interface FileModels {
  text: boolean;
  faces: boolean;
  load(): Promise<LoadedModels>;
}

export async function redactImageFile(
  input: string,
  output: string,
  relative: string,
  pixels: PixelsPolicy,
  engine: TextEngine | undefined,
  faceDetector: FaceDetector | undefined,
): Promise<ImageFileReport> {
  return processImageFile(input, output, relative, pixels, { text: engine !== undefined, faces: faceDetector !== undefined, load: async () => ({ engine, faceDetector }) });
}

async function processImageFile(input: string, output: string, relative: string, pixels: PixelsPolicy, models: FileModels): Promise<ImageFileReport> {
  let started = performance.now();
  const pixelScan: ImageFileReport['pixelScan'] = models.text ? { status: 'scanned', reason: `scan: ${pixels.burnedInText.scan}` } : { status: 'not-scanned', reason: NEVER_REASON };
  const report: ImageFileReport = { file: relative, status: 'clean', pixelScan, text: [], faces: [], verification: 'not-run', passes: 0, pixelsChanged: 0, lossyReencode: false, ms: 0 };
  const finish = (): ImageFileReport => ({ ...report, ms: Math.round(performance.now() - started) });
  let decoded: Awaited<ReturnType<typeof readImage>>;
  try {
    decoded = await readImage(input);
  } catch (error) {
    if (!isVeilError(error)) throw error;
    report.status = 'error';
    report.pixelScan = { status: 'not-scanned', reason: 'the file could not be read' };
    report.error = { code: error.code, message: error.message };
    return finish();
  }
  const { image, format, pageHeight, pages } = decoded;
  Object.assign(report, { format, bitsPerSample: image.data instanceof Uint16Array ? 16 : 8, width: image.width, height: pageHeight, ...(pages > 1 ? { pages } : {}) });
  if (!models.text && !models.faces) {
    await mkdir(dirname(output), { recursive: true });
    await copyFile(input, output);
    report.status = 'skipped';
    return finish();
  }
  // the file's time leaves out the models' loading (paid once, by the first file read)
  const loadStarted = performance.now();
  const { engine, faceDetector } = await models.load();
  started += performance.now() - loadStarted;
  const original = image.data.slice();
  // One mapping to the 8-bit view for the whole file (16-bit images: a robust range).
  const window = viewWindow(image);
  const values = fillValues(image, pixels.burnedInText.fill);
  const onPage = <T extends object>(record: T, page: number): T & { page?: number } => (pages > 1 ? { ...record, page } : record);
  let facesPassed = true;
  for (let p = 0; p < pages; p++) {
    // A view onto one page's samples: fills write through to the whole image.
    const page = pageOf(image, p, pageHeight);
    if (faceDetector) {
      // 16-bit samples: faces are filled (blur and pixelation are 8-bit operations).
      const outcome = page.data instanceof Uint16Array ? await fillFacesInNative(faceDetector, page, window, values) : await redactFacesInNative(faceDetector, page as NativeImage8, pixels.faces.action);
      report.faces.push(...outcome.faces.map((f) => onPage({ box: f.face.box, score: Math.round(f.face.score * 1000) / 1000, hiddenBy: f.hiddenBy }, p)));
      if (!outcome.passed) {
        facesPassed = false;
        report.facesWithheld = pages > 1 ? `page ${p}: ${outcome.withheld}` : outcome.withheld;
      }
    }
    if (!engine) continue;
    const outcome = await cleanText(engine, viewOf(page, window), {
      redact: pixels.burnedInText.redact,
      region: pixels.burnedInText.region,
      margin: REGION_MARGIN,
      maxRounds: MAX_VERIFY_ROUNDS,
      apply: (fill): Raster8 => {
        fillMasked(page, fill, values);
        return viewOf(page, window);
      },
    });
    report.text.push(...outcome.records.map((r) => onPage(r, p)));
    if (report.verification !== 'failed') report.verification = outcome.verification;
    report.passes += outcome.passes;
  }
  report.pixelsChanged = countChangedPixels(original, image);
  if (!facesPassed) report.verification = 'failed';
  if (report.verification === 'failed') {
    report.status = 'flagged';
    return finish();
  }
  report.status = report.pixelsChanged > 0 || report.text.some((t) => t.redacted) || report.faces.length > 0 ? 'redacted' : 'clean';
  report.lossyReencode = format === 'jpeg';
  await writeFileAtomic(output, await encodeImage(image, format, pageHeight));
  return finish();
}

interface FaceOutcome {
  faces: { face: FaceDetection; hiddenBy: string }[];
  passed: boolean;
  withheld: string;
}

/** 16-bit samples: the faces are filled in the native samples (blur and pixelation are 8-bit operations). */
async function fillFacesInNative(detector: FaceDetector, page: NativeImage, window: ReturnType<typeof viewWindow>, values: ReturnType<typeof fillValues>): Promise<FaceOutcome> {
  const outcome = await fillFacesUntilGone(detector, page, () => viewOf(page, window), (mask) => fillMasked(page, mask, values));
  return { faces: outcome.faces.map((face) => ({ face, hiddenBy: 'fill' })), passed: outcome.passed, withheld: 'a face was still detected after two fills of its grown ellipse' };
}

/** The face module's detect → hide → escalate → verify loop, on the colour channels of the native image. */
async function redactFacesInNative(detector: FaceDetector, image: NativeImage8, action: FaceAction): Promise<FaceOutcome> {
  const done = (outcome: FaceRedaction): FaceOutcome => ({ faces: outcome.hidden, passed: outcome.verification.passed, withheld: outcome.withheld ?? 'a face was still detected after hiding' });
  if (image.channels === 1 || image.channels === 3) {
    return done(await redactFaces(detector, { width: image.width, height: image.height, channels: image.channels, data: image.data }, action));
  }
  // Grey+alpha or RGBA: work on the colour channels, keep alpha.
  const colour = image.channels - 1;
  const view: Raster8 = { width: image.width, height: image.height, channels: colour === 1 ? 1 : 3, data: new Uint8Array(image.width * image.height * colour) };
  for (let i = 0; i < image.width * image.height; i++) for (let c = 0; c < colour; c++) view.data[i * colour + c] = image.data[i * image.channels + c];
  const outcome = await redactFaces(detector, view, action);
  for (let i = 0; i < image.width * image.height; i++) for (let c = 0; c < colour; c++) image.data[i * image.channels + c] = view.data[i * colour + c];
  return done(outcome);
}

function countChangedPixels(before: NativeImage['data'], image: NativeImage): number {
  let changed = 0;
  for (let i = 0; i < image.width * image.height; i++) {
    for (let c = 0; c < image.channels; c++) {
      if (before[i * image.channels + c] !== image.data[i * image.channels + c]) {
        changed++;
        break;
      }
    }
  }
  return changed;
}
