import * as ort from 'onnxruntime-node';
import { VeilError } from '../../errors.js';
import type { Raster8 } from '../raster.js';
import { BLAZEFACE_INPUT, blazeFaceAnchors, type Anchor } from './anchors.js';
import { decodeDetections, REGRESSORS, type RawDetection } from './decode.js';
import { loadBlazeFaceModel } from './model.js';
import { area, intersection, iou, weightedNms } from './nms.js';
import { buildIntegral, sampleTile } from './sampler.js';
import { rotateRaster, unrotateDetection, type Rotation } from './rotate.js';
import { planTiles, type Tile } from './tiles.js';
import { RunMemo, tensorKey } from '../text/runMemo.js';
import type { FaceDetection, FaceDetector } from './types.js';

export interface FaceDetectorOptions {
  /** Minimum BlazeFace score of a reported face (0–1). Default 0.5 (see docs/faces.md). */
  minScore?: number;
  /** IoU above which overlapping boxes merge. Default 0.3. */
  iouThreshold?: number;
  /** Pyramid levels (1 = whole image only). Default 3. */
  maxLevels?: number;
  /** Smallest window in image pixels. Default 256. */
  minTileSize?: number;
  /** onnxruntime intra-op threads. Default 1 (the pipeline parallelizes across images). */
  threads?: number;
  /**
   * Second look: each candidate is run again in a window centred on it (twice its size)
   * and kept only if BlazeFace finds it there too. Removes detections that only exist in
   * context (lamps, a group of faces that together look like one). One extra window per
   * candidate. Default false: on the evaluation set it removed one false positive but also
   * one real (turned) face, and Veil prefers hiding a lamp to missing a face.
   */
  confirm?: boolean;
  /**
   * Quarter turns to look at the image in, e.g. [0, 90, 270] for patients lying down
   * (BlazeFace itself handles heads within about ±45° of upright). Each turn costs a full
   * detection. Default [0].
   */
  rotations?: Rotation[];
  /**
   * Keypoint geometry check: a candidate whose eyes or ears are implausibly close for its
   * box is dropped (on lamps and chandeliers BlazeFace's keypoints collapse to a point:
   * eye distance ≤ 0.08 × box width, ear distance ≤ 0.25 ×; on every real face measured
   * ≥ 0.32 × and ≥ 0.73 ×). Default true.
   */
  checkGeometry?: boolean;
  /**
   * Candidates scoring below this (and at least 24 px wide) must be found again in three
   * windows centred on them (1.5, 2 and 3 times their size): the mean best score there
   * must reach 0.3. Every false positive measured scored below 0.6 and was not found
   * again (mean ≤ 0.18); real faces in that band were (mean ≥ 0.6). 0 turns it off.
   * Default 0.6 (see docs/faces.md).
   */
  recheckBelow?: number;
  /**
   * Low band: candidates scoring from this up to `minScore` are kept only when the
   * re-check finds them again clearly (mean best score ≥ 0.55 in the three re-check
   * windows, whatever their size) and their keypoints pass the geometry check. Small and
   * half-lit faces in large groups score 0.44–0.45 and are found again at ≥ 0.63; every
   * false positive measured in that band was found again at ≤ 0.39. Must not exceed
   * `minScore`; equal turns the band off. Default 0.4, or `minScore` when that is lower
   * (see docs/faces.md).
   */
  lowScore?: number;
}

const DEFAULTS: Required<FaceDetectorOptions> = { minScore: 0.5, iouThreshold: 0.3, maxLevels: 3, minTileSize: 256, threads: 1, confirm: false, rotations: [0], checkGeometry: true, recheckBelow: 0.6, lowScore: 0.4 };

/** Eye and ear distances (shares of the box width) below which a candidate is not a face. */
const MIN_EYE_SHARE = 0.2;
const MIN_EAR_SHARE = 0.5;
/** Re-check windows (multiples of the candidate's size) and the mean score they must reach. */
const RECHECK_WINDOWS = [1.5, 2, 3];
const RECHECK_MEAN = 0.3;
/**
 * Below this width the re-check windows (≥ 64 px) enlarge the face ≥ 2.7×, where BlazeFace
 * lost a real 23 px face of the evaluation; every false positive measured was wider.
 */
const RECHECK_MIN_SIZE = 24;
/** Low band (see `lowScore`): the mean re-check score it must reach, and the score down to which re-check windows are read. */
const LOW_BAND_MEAN = 0.55;
const LOW_BAND_READ = 0.1;

/** BlazeFace keypoints: 0/1 eyes, 4/5 ears. False positives on lamps collapse them together. */
export function plausibleGeometry(d: RawDetection): boolean {
  const width = d.x2 - d.x1;
  const [rightEye, leftEye, , , rightEar, leftEar] = d.keypoints;
  if (!rightEye || !leftEye || !rightEar || !leftEar || !(width > 0)) return false;
  const eyes = Math.hypot(leftEye.x - rightEye.x, leftEye.y - rightEye.y);
  const ears = Math.hypot(leftEar.x - rightEar.x, leftEar.y - rightEar.y);
  return eyes >= MIN_EYE_SHARE * width && ears >= MIN_EAR_SHARE * width;
}

/** A box touching a window border that is not an image border is a cut face: another window holds it whole. */
function cutByTile(d: RawDetection, tile: Tile, width: number, height: number): boolean {
  if (tile.level === 0) return false;
  const edge = 2;
  const inner = BLAZEFACE_INPUT - edge;
  return (
    (d.x1 < edge && tile.x > 0) ||
    (d.y1 < edge && tile.y > 0) ||
    (d.x2 > inner && tile.x + tile.size < width) ||
    (d.y2 > inner && tile.y + tile.size < height)
  );
}

function toImage(d: RawDetection, tile: Tile): RawDetection {
  const s = tile.size / BLAZEFACE_INPUT;
  return {
    x1: tile.x + d.x1 * s,
    y1: tile.y + d.y1 * s,
    x2: tile.x + d.x2 * s,
    y2: tile.y + d.y2 * s,
    score: d.score,
    keypoints: d.keypoints.map((p) => ({ x: tile.x + p.x * s, y: tile.y + p.y * s })),
  };
}

function toFace(d: RawDetection, width: number, height: number): FaceDetection {
  const x1 = Math.max(0, d.x1);
  const y1 = Math.max(0, d.y1);
  const x2 = Math.min(width, d.x2);
  const y2 = Math.min(height, d.y2);
  // Tenths of a pixel: finer is noise, and reports stay readable.
  const r = (v: number): number => Math.round(v * 10) / 10;
  return {
    box: { x: r(x1), y: r(y1), width: r(Math.max(0, x2 - x1)), height: r(Math.max(0, y2 - y1)) },
    score: d.score,
    keypoints: d.keypoints.map((p) => ({ x: r(p.x), y: r(p.y) })),
  };
}

/**
 * BlazeFace's outputs for windows already run, shared by the detectors of a thread (they all
 * load the one BlazeFace model, checked against its sha256): the verification after hiding
 * reads the whole pyramid again, and every window the hidden faces did not touch is the same
 * tensor as before (runMemo.ts). 60 KB per window.
 */
const tileMemo = new RunMemo<{ scores: Float32Array; regs: Float32Array }>(32 * 1024 * 1024);

/**
 * BlazeFace over an image pyramid with onnxruntime. One session per detector; `detect`
 * calls are serialized by onnxruntime. Cost ≈ (number of windows) × one 256² inference
 * (≈ 8 ms on one core) plus one pass to build the summed-area table.
 */
export class BlazeFaceDetector implements FaceDetector {
  private readonly anchors: Anchor[] = blazeFaceAnchors();

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly options: Required<FaceDetectorOptions>,
  ) {}

  static async create(options: FaceDetectorOptions = {}): Promise<BlazeFaceDetector> {
    const merged = { ...DEFAULTS, ...options };
    // A caller lowering minScore below the band's default gets no band rather than an error.
    if (options.lowScore === undefined) merged.lowScore = Math.min(DEFAULTS.lowScore, merged.minScore);
    if (!(merged.minScore > 0 && merged.minScore < 1)) throw new VeilError('USAGE', 'expected a minimum face score between 0 and 1', { field: 'minScore' });
    if (!(merged.recheckBelow >= 0 && merged.recheckBelow <= 1)) throw new VeilError('USAGE', 'expected a re-check score between 0 and 1', { field: 'recheckBelow' });
    if (!(merged.lowScore > 0 && merged.lowScore <= merged.minScore)) throw new VeilError('USAGE', 'expected a low-band score above 0 and not above the minimum face score', { field: 'lowScore' });
    if (merged.rotations.length === 0 || merged.rotations.some((r) => ![0, 90, 180, 270].includes(r))) {
      throw new VeilError('USAGE', 'expected rotations among 0, 90, 180, 270', { field: 'rotations' });
    }
    const model = await loadBlazeFaceModel();
    ort.env.logLevel = 'error';
    const session = await ort.InferenceSession.create(model.bytes, {
      intraOpNumThreads: merged.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    return new BlazeFaceDetector(session, merged);
  }

  async detect(view: Raster8): Promise<FaceDetection[]> {
    const { width, height, channels, data } = view;
    if (!(width > 0 && height > 0) || (channels !== 1 && channels !== 3) || data.length < width * height * channels) {
      throw new VeilError('IMAGE_INVALID', 'expected an 8-bit grey or RGB raster whose data matches its size');
    }
    let found: RawDetection[] = [];
    for (const rotation of this.options.rotations) {
      const upright = await this.detectUpright(rotateRaster(view, rotation));
      found.push(...upright.map((d) => unrotateDetection(d, rotation, width, height)));
    }
    if (this.options.rotations.length > 1) found = weightedNms(found, { iouThreshold: this.options.iouThreshold, containThreshold: 0.6 });
    return found.map((d) => toFace(d, width, height)).filter((f) => f.box.width > 0 && f.box.height > 0);
  }

  /** Faces BlazeFace finds in the image as it stands (heads up to ~±45° of upright). */
  private async detectUpright(view: Raster8): Promise<RawDetection[]> {
    const { width, height } = view;
    const tiles = planTiles(width, height, this.options);
    // No window samples finer than its size / 256, so a large photo is first shrunk by that
    // whole factor: the summed-area table then stays small (memory bounded for any size).
    const factor = Math.max(1, Math.floor(Math.min(...tiles.map((t) => t.size)) / BLAZEFACE_INPUT));
    const integral = buildIntegral(factor > 1 ? shrinkRaster(view, factor) : view);
    const scaled = (t: Tile): Tile => (factor > 1 ? { ...t, x: t.x / factor, y: t.y / factor, size: t.size / factor } : t);
    const input = new Float32Array(BLAZEFACE_INPUT * BLAZEFACE_INPUT * 3);
    const candidates: RawDetection[] = [];
    const lowBand: RawDetection[] = [];
    const { minScore, lowScore } = this.options;
    for (const tile of tiles) {
      sampleTile(integral, scaled(tile), BLAZEFACE_INPUT, input);
      const raw = await this.runTile(input, lowScore);
      for (const d of raw) if (!cutByTile(d, tile, width, height)) (d.score >= minScore ? candidates : lowBand).push(toImage(d, tile));
    }
    // The low band is merged on its own, so that it never moves or rescores a candidate above minScore.
    const nms = { iouThreshold: this.options.iouThreshold, containThreshold: 0.6 };
    const kept = weightedNms(candidates, nms);
    const low = weightedNms(lowBand, nms).filter((d) => !kept.some((k) => iou(k, d) > this.options.iouThreshold || intersection(k, d) > 0.6 * Math.min(area(k), area(d))));
    const confirmed: RawDetection[] = [];
    for (const d of kept) {
      if (this.options.checkGeometry && !plausibleGeometry(d)) continue;
      if (this.needsRecheck(d) && (await this.recheckMean(integral, d, input, scaled, minScore)) < RECHECK_MEAN) continue;
      if (this.options.confirm && !(await this.confirmed(integral, d, input, scaled))) continue;
      confirmed.push(d);
    }
    for (const d of low) {
      if (this.options.checkGeometry && !plausibleGeometry(d)) continue;
      if ((await this.recheckMean(integral, d, input, scaled, LOW_BAND_READ)) < LOW_BAND_MEAN) continue;
      if (this.options.confirm && !(await this.confirmed(integral, d, input, scaled))) continue;
      confirmed.push(d);
    }
    return confirmed;
  }

  private needsRecheck(d: RawDetection): boolean {
    return d.score < this.options.recheckBelow && d.x2 - d.x1 >= RECHECK_MIN_SIZE;
  }

  /**
   * The re-check (see `recheckBelow`, `lowScore`): the mean best score of the candidate in
   * windows centred on it, reading scores down to `readFrom` (lower ones count as 0).
   */
  private async recheckMean(integral: ReturnType<typeof buildIntegral>, d: RawDetection, input: Float32Array, scaled: (t: Tile) => Tile, readFrom: number): Promise<number> {
    const size = Math.max(d.x2 - d.x1, d.y2 - d.y1);
    let total = 0;
    for (const times of RECHECK_WINDOWS) {
      const windowSize = Math.max(64, times * size);
      const tile: Tile = { x: Math.round((d.x1 + d.x2) / 2 - windowSize / 2), y: Math.round((d.y1 + d.y2) / 2 - windowSize / 2), size: Math.round(windowSize), level: 0 };
      sampleTile(integral, scaled(tile), BLAZEFACE_INPUT, input);
      let best = 0;
      for (const r of await this.runTile(input, readFrom)) if (iou(toImage(r, tile), d) > 0.3) best = Math.max(best, r.score);
      total += best;
    }
    return total / RECHECK_WINDOWS.length;
  }

  /** The second look (see `confirm`): is there a face of about the same box in a window centred on it? */
  private async confirmed(integral: ReturnType<typeof buildIntegral>, d: RawDetection, input: Float32Array, scaled: (t: Tile) => Tile): Promise<boolean> {
    const size = Math.max(d.x2 - d.x1, d.y2 - d.y1);
    const windowSize = Math.max(128, 2 * size);
    const tile: Tile = { x: Math.round((d.x1 + d.x2) / 2 - windowSize / 2), y: Math.round((d.y1 + d.y2) / 2 - windowSize / 2), size: Math.round(windowSize), level: 0 };
    sampleTile(integral, scaled(tile), BLAZEFACE_INPUT, input);
    const again = (await this.runTile(input)).map((r) => toImage(r, tile));
    return again.some((a) => iou(a, d) > 0.3);
  }

  /** Runs one 256² window and decodes its candidates scoring ≥ `minScore` (in window pixels). */
  async runTile(input: Float32Array, minScore = this.options.minScore): Promise<RawDetection[]> {
    const dims = [1, BLAZEFACE_INPUT, BLAZEFACE_INPUT, 3];
    // one intra-op thread: the same window gives the same outputs, so a window seen before is not run again
    const key = this.options.threads === 1 ? tensorKey(input, dims) : undefined;
    let outputs = key === undefined ? undefined : tileMemo.get(key);
    if (!outputs) {
      const out = await this.session.run({ input: new ort.Tensor('float32', input, dims) });
      outputs = { scores: concat(out['Identity']?.data, out['Identity_1']?.data), regs: concat(out['Identity_2']?.data, out['Identity_3']?.data) };
      if (outputs.scores.length !== this.anchors.length || outputs.regs.length !== this.anchors.length * REGRESSORS) {
        throw new VeilError('MODEL_INVALID', 'face model outputs do not match BlazeFace anchors');
      }
      if (key !== undefined) tileMemo.set(key, outputs, outputs.scores.byteLength + outputs.regs.byteLength);
    }
    return decodeDetections(outputs.scores, outputs.regs, this.anchors, minScore);
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/** Block means of factor × factor pixels (the last partial blocks average what they hold). */
export function shrinkRaster(view: Raster8, factor: number): Raster8 {
  const { width, height, channels, data } = view;
  const w = Math.ceil(width / factor);
  const h = Math.ceil(height / factor);
  const out = new Uint8Array(w * h * channels);
  const sums = new Float64Array(w * channels);
  const counts = new Float64Array(w);
  for (let by = 0; by < h; by++) {
    sums.fill(0);
    counts.fill(0);
    for (let y = by * factor; y < Math.min(height, (by + 1) * factor); y++) {
      for (let x = 0; x < width; x++) {
        const bx = Math.floor(x / factor);
        counts[bx] = (counts[bx] as number) + 1;
        for (let c = 0; c < channels; c++) sums[bx * channels + c] = (sums[bx * channels + c] as number) + (data[(y * width + x) * channels + c] as number);
      }
    }
    for (let bx = 0; bx < w; bx++) {
      for (let c = 0; c < channels; c++) out[(by * w + bx) * channels + c] = Math.round((sums[bx * channels + c] as number) / (counts[bx] as number));
    }
  }
  return { width: w, height: h, channels, data: out };
}

function concat(a: unknown, b: unknown): Float32Array {
  if (!(a instanceof Float32Array) || !(b instanceof Float32Array)) throw new VeilError('MODEL_INVALID', 'face model outputs are not float32');
  const out = new Float32Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
