import {
  buildHeaderMatcher,
  cleanText,
  createFaceDetector,
  createTextEngine,
  fillFacesUntilGone,
  hasText,
  MAX_VERIFY_ROUNDS,
  primedEngine,
  REGION_MARGIN,
  storedEngine,
  triageFrame,
  type Box,
  type CleanOptions,
  type FaceDetector,
  type Raster8,
  type TextEngine,
  type TextInstance,
} from '../../image/index.js';
import type { PixelsPolicy } from '../../policy/sections/pixels.js';
import type { DicomPixelInput, DicomPixelReport, DicomPixelResult, PixelCleaner, PixelFrameCounts, PixelRegionRecord, PixelScanStatus } from '../pixelCleaner.js';
import { decodeFrame, encodeLossless, initCodecs, type FrameFormat } from './codecs.js';
import { fillFrame, fillSamples } from './fill.js';
import { encapsulate, splitFrames } from './fragments.js';
import { frameByteLength, toLittleEndian, type PixelLayout } from './layout.js';
import { decideScan } from './scanDecision.js';
import { notExaminedReport, unexaminedResult } from './unexamined.js';
import { EXPLICIT_VR_LITTLE_ENDIAN, syntaxInfo, type SyntaxInfo } from '../../standard/transferSyntax.js';
import { mustTriage, storedLook, type StoredLook } from './triage.js';
import { frameView, rangeView, storedSamples, type ViewSettings } from './view.js';

/**
 * The DICOM pixel cleaner (src/dicom/pixelCleaner.ts): decodes every frame, detects and
 * classifies burned-in text on an 8-bit view, fills PHI in the native samples at their own
 * bit depth and photometric interpretation, verifies, and re-encodes losslessly (same
 * transfer syntax) or returns native explicit VR little endian — never a new lossy step.
 */
export async function createDicomPixelCleaner(): Promise<PixelCleaner> {
  await initCodecs();
  let engine: Promise<TextEngine> | undefined;
  let faces: Promise<FaceDetector> | undefined;
  return {
    async clean(input, policy) {
      if (policy.faces.detect) faces ??= createFaceDetector();
      // the models load on the first file whose pixels are examined (never under scan: never)
      return cleanDicomPixels(input, policy, () => (engine ??= createTextEngine(1)), faces);
    },
    async close() {
      if (faces) await (await faces).close();
    },
  };
}

/**
 * A factory the DICOM run can hand to its worker threads: they import this module and
 * call `createDicomPixelCleaner` themselves (functions cannot cross threads). From TS
 * sources (tsx, vitest) no module URL is given, so the run keeps the cleaner in its own
 * thread: on Node 20 a worker started with `--import tsx` cannot load .ts modules.
 */
export const dicomPixelCleanerFactory = Object.assign(() => createDicomPixelCleaner(), {
  moduleUrl: import.meta.url.endsWith('.js') ? import.meta.url : undefined,
  exportName: 'createDicomPixelCleaner',
});


export async function cleanDicomPixels(
  input: DicomPixelInput,
  policy: PixelsPolicy,
  engineOf: () => Promise<TextEngine>,
  faces: Promise<FaceDetector> | undefined,
): Promise<DicomPixelResult> {
  const started = performance.now();
  const done = <T extends DicomPixelResult>(result: T): T => ({ ...result, report: { ...result.report, ms: Math.round(performance.now() - started) } });
  const unexamined = unexaminedResult(input, faces === undefined ? { ...policy, faces: { ...policy.faces, detect: false } } : policy);
  if (unexamined) return done(unexamined);
  const decision = decideScan(input, policy);
  const findFaces = faces !== undefined && policy.faces.detect;
  const reject = (reason: string): DicomPixelResult => done({ action: 'rejected', reason, report: notExaminedReport(reason) });
  const syntax = syntaxInfo(input.transferSyntaxUID);
  if (!syntax) return reject('unknown transfer syntax: pixels cannot be decoded for the required scan');
  if (![8, 16].includes(input.bitsAllocated) || input.bitsStored > input.bitsAllocated) return reject(`Bits Allocated ${input.bitsAllocated} is not supported for pixel scanning`);
  if (input.rows <= 0 || input.columns <= 0 || input.numberOfFrames < 1) return reject('image without rows, columns or frames');

  let decoded: { frames: Uint8Array[]; layout: PixelLayout };
  try {
    decoded = decodeDicomFrames(input, syntax);
  } catch {
    return reject(`pixel data could not be decoded (${syntax.codec})`);
  }
  const { frames, layout } = decoded;
  const engine = decision.text !== 'none' ? await engineOf() : undefined;
  const faceDetector = findFaces ? await faces : undefined;
  const values = fillSamples(frames, layout, policy.burnedInText.fill, input.palette);
  const settings: ViewSettings = {
    windowCenter: input.windowCenter?.[0],
    windowWidth: input.windowWidth?.[0],
    slope: input.rescaleSlope ?? 1,
    intercept: input.rescaleIntercept ?? 0,
    palette: input.palette,
  };
  const header = buildHeaderMatcher(input.identifyingValues);
  const regions: PixelRegionRecord[] = [];
  const counts: PixelFrameCounts = { total: frames.length, triaged: 0, textLike: 0, scanned: 0 };
  let changed = 0;
  let failed = false;
  // triage state (scan: auto on an image no header flag marks): the last triaged view and its verdict
  let lastTriaged: Raster8 | undefined;
  let lastHadText = false;
  for (let f = 0; f < frames.length; f++) {
    const frame = frames[f];
    if (faceDetector) {
      // Native samples at any bit depth: faces are filled (blur/pixelate apply to 8-bit images only).
      const outcome = await fillFacesUntilGone(
        faceDetector,
        { width: layout.columns, height: layout.rows },
        () => frameView(frame, layout, settings),
        (mask) => {
          changed += fillFrame(frame, layout, mask, values);
        },
      );
      if (!outcome.passed) failed = true;
      regions.push(...outcome.faces.map((face) => ({ frame: f, box: face.box, kind: 'face' as const, class: 'face', confidence: round3(face.score), redacted: true })));
    }
    if (!engine) continue;
    const view = frameView(frame, layout, settings);
    let frameEngine = engine;
    // what triage saw in the near-white rows of the stored-range view (only when the window view showed nothing)
    let triagedLook: { look: StoredLook; found: TextInstance[] } | undefined;
    if (decision.text === 'triage') {
      if (mustTriage(f, frames.length, view, lastTriaged)) {
        const look = storedLook(frame, layout, settings);
        const found = await triageFrame(engine, view, look);
        counts.triaged++;
        lastTriaged = view;
        lastHadText = hasText(found);
        frameEngine = primedEngine(engine, view, found.window);
        if (look && found.window.length === 0) triagedLook = { look, found: found.stored };
      }
      if (!lastHadText) continue;
      counts.textLike++;
    }
    counts.scanned++;
    const options = (viewAfter: () => Raster8): CleanOptions => ({
      header,
      redact: policy.burnedInText.redact,
      region: policy.burnedInText.region,
      margin: REGION_MARGIN,
      maxRounds: MAX_VERIFY_ROUNDS,
      apply: (fill) => {
        changed += fillFrame(frame, layout, fill, values);
        return viewAfter();
      },
    });
    const windowed = await cleanText(frameEngine, view, options(() => frameView(frame, layout, settings)));
    // Second pass on the stored-range view (text the window hides); a fresh look when the first pass filled something.
    const look = windowed.records.some((r) => r.redacted) || !triagedLook ? storedLook(frame, layout, settings) : triagedLook.look;
    const stored = look
      ? await cleanText(storedEngine(engine, look, look === triagedLook?.look ? triagedLook.found : undefined), look.view, options(() => rangeView(storedSamples(frame, layout)!, layout, look.range)))
      : undefined;
    if (windowed.verification === 'failed' || stored?.verification === 'failed') failed = true;
    // text both views show and leave alone is reported once
    const extra = (stored?.records ?? []).filter((r) => r.redacted || !windowed.records.some((w) => !w.redacted && overlapShare(w.box, r.box) >= 0.5));
    regions.push(...[...windowed.records, ...extra].map((r) => ({ frame: f, box: r.box, kind: 'text' as const, class: r.class, confidence: r.confidence, redacted: r.redacted })));
  }
  const status: PixelScanStatus = decision.text === 'none' ? 'not-scanned' : counts.scanned > 0 ? 'scanned' : 'triaged-clean';
  const scannedReport = (transferSyntax: string, verification: DicomPixelReport['verification']): DicomPixelReport => ({
    scanned: counts.scanned > 0 || faceDetector !== undefined,
    status,
    frames: counts,
    reason: decision.reason,
    regions,
    transferSyntax,
    verification,
    ms: 0,
  });
  if (failed) return done({ action: 'rejected', reason: 'burned-in text or a face was still detected after redaction', report: scannedReport('kept', 'failed') });
  if (changed === 0) return done({ action: 'unchanged', report: scannedReport('kept', status === 'scanned' || faceDetector ? 'passed' : 'not-run') });
  return done(encodeResult(input, syntax, frames, layout, scannedReport));
}

/** Share of the smaller box that the two boxes have in common. */
function overlapShare(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  return (w * h) / Math.min(a.width * a.height, b.width * b.height);
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** Every frame as native little-endian samples, with the layout they are in after decoding. */
export function decodeDicomFrames(input: DicomPixelInput, syntax: SyntaxInfo): { frames: Uint8Array[]; layout: PixelLayout } {
  const layout: PixelLayout = {
    rows: input.rows,
    columns: input.columns,
    samples: input.samplesPerPixel,
    bitsAllocated: input.bitsAllocated,
    bitsStored: input.bitsStored,
    signed: input.pixelRepresentation === 1,
    planar: input.planarConfiguration === 1,
    photometric: input.photometricInterpretation.trim().toUpperCase(),
  };
  if (syntax.codec === 'native') {
    const data = input.bigEndian && input.bitsAllocated > 8 ? toLittleEndian(input.pixelData, input.bitsAllocated) : input.pixelData;
    const size = frameByteLength(layout);
    if (data.length < size * input.numberOfFrames) throw new Error('pixel data shorter than the frames it declares');
    return { frames: Array.from({ length: input.numberOfFrames }, (_, i) => data.slice(i * size, (i + 1) * size)), layout };
  }
  const format = formatOf(layout);
  const parts = splitFrames(input.pixelData, input.numberOfFrames);
  let after = layout;
  const frames = parts.map((part) => {
    const out = decodeFrame(syntax.codec as Exclude<typeof syntax.codec, 'native'>, part, format);
    const photometric = out.photometric.toUpperCase();
    // Decoded colour is RGB (JPEG YBR converted; J2K ICT/RCT inverted by the codec).
    after = { ...layout, photometric: layout.samples === 3 && /^(YBR_ICT|YBR_RCT)$/.test(photometric) ? 'RGB' : photometric, planar: out.planar === 1 };
    if (out.data.length < frameByteLength(after)) throw new Error('decoded frame is too short');
    return out.data;
  });
  return { frames, layout: after };
}

function formatOf(layout: PixelLayout): FrameFormat {
  return {
    rows: layout.rows,
    columns: layout.columns,
    samplesPerPixel: layout.samples,
    bitsAllocated: layout.bitsAllocated,
    bitsStored: layout.bitsStored,
    pixelRepresentation: layout.signed ? 1 : 0,
    planarConfiguration: layout.planar ? 1 : 0,
    photometricInterpretation: layout.photometric,
  };
}

function concat(frames: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const frame of frames) {
    out.set(frame, at);
    at += frame.length;
  }
  return out;
}

/**
 * Native input keeps its transfer syntax (big endian becomes explicit VR little endian).
 * Lossless compressed input is re-encoded in its own syntax when the codec round-trips
 * every frame bit for bit; lossy input, colour that was converted while decoding, and
 * anything that does not round-trip go out as native explicit VR little endian.
 */
function encodeResult(
  input: DicomPixelInput,
  syntax: SyntaxInfo,
  frames: Uint8Array[],
  layout: PixelLayout,
  reportOf: (transferSyntax: string, verification: DicomPixelReport['verification']) => DicomPixelReport,
): DicomPixelResult {
  const colourConverted = layout.photometric !== input.photometricInterpretation.trim().toUpperCase();
  if (syntax.codec === 'native') {
    const uid = input.bigEndian ? EXPLICIT_VR_LITTLE_ENDIAN : input.transferSyntaxUID;
    return { action: 'replaced', pixelData: concat(frames), encapsulated: false, transferSyntaxUID: uid, updates: {}, report: reportOf(input.bigEndian ? uid : 'same', 'passed') };
  }
  if (syntax.lossless && !colourConverted && (syntax.codec === 'rle' || layout.samples === 1)) {
    const encoded = reencodeVerified(syntax, frames, layout);
    if (encoded) {
      return { action: 'replaced', pixelData: encapsulate(encoded), encapsulated: true, transferSyntaxUID: input.transferSyntaxUID, updates: {}, report: reportOf('same', 'passed') };
    }
  }
  const updates: { photometricInterpretation?: string; planarConfiguration?: number } = {};
  if (colourConverted) updates.photometricInterpretation = layout.photometric;
  if (layout.samples > 1) updates.planarConfiguration = layout.planar ? 1 : 0;
  return { action: 'replaced', pixelData: concat(frames), encapsulated: false, transferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN, updates, report: reportOf(EXPLICIT_VR_LITTLE_ENDIAN, 'passed') };
}

function reencodeVerified(syntax: SyntaxInfo, frames: Uint8Array[], layout: PixelLayout): Uint8Array[] | undefined {
  const format = formatOf(layout);
  const out: Uint8Array[] = [];
  try {
    for (const frame of frames) {
      const encoded = encodeLossless(syntax.codec, frame, format);
      if (!encoded) return undefined;
      const back = decodeFrame(syntax.codec as Exclude<typeof syntax.codec, 'native'>, encoded, format).data;
      if (back.length < frame.length || back.subarray(0, frame.length).some((v, i) => v !== frame[i])) return undefined;
      out.push(encoded);
    }
  } catch {
    return undefined;
  }
  return out;
}
