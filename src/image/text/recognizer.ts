import { readFile } from 'node:fs/promises';
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { VeilError } from '../../errors.js';
import { resolvePackageFile } from '../models.js';
import type { Box, Raster8 } from '../raster.js';
import { decodeCtc, type Recognition } from './ctc.js';
import { cropRaster, resizeBilinear } from './resize.js';
import { memoOf, type RunMemo, tensorKey } from './runMemo.js';
import { loadModel } from './session.js';

const HEIGHT = 48;
const MAX_WIDTH = 1600;
const BATCH = 8;
/** A batch is padded to its widest line: lines wider than this × its narrowest start a new batch. */
const BATCH_SPREAD = 1.3;

export interface TextRecognizer {
  /** One recognition per box, in the same order. */
  recognize(view: Raster8, boxes: readonly Box[]): Promise<Recognition[]>;
}

export async function createTextRecognizer(threads = 1): Promise<TextRecognizer> {
  const { session, manifest } = await loadModel('ocr-rec-ppocrv4', threads);
  if (!manifest.dictionary) throw new VeilError('MODEL_INVALID', 'the recognizer manifest names no dictionary', { field: 'dictionary' });
  const text = await readFile(resolvePackageFile(manifest.sourcePackage, manifest.dictionary.file), 'utf8');
  // One character per line, then a space as the last class (PaddleOCR's use_space_char).
  const lines = text.replace(/\r/g, '').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const dictionary = [...lines, ' '];
  const readings = memoOf(readingMemos, session, READINGS_KEPT_BYTES);
  return { recognize: (view, boxes) => recognizeBoxes(session, dictionary, view, boxes, readings) };
}

const readingMemos = new WeakMap<object, RunMemo<Recognition[]>>();

/** Readings kept per recognizer (a few bytes each: thousands of batches). */
const READINGS_KEPT_BYTES = 4 * 1024 * 1024;

/** Crops, resizes to height 48 and batches lines of similar aspect ratio (less padding). */
export async function recognizeBoxes(
  session: InferenceSession,
  dictionary: readonly string[],
  view: Raster8,
  boxes: readonly Box[],
  memo?: RunMemo<Recognition[]>,
): Promise<Recognition[]> {
  const results: Recognition[] = new Array<Recognition>(boxes.length);
  const crops = boxes.map((box) => cropRaster(view, box.x, box.y, box.width, box.height));
  const lines = crops.map(toLine);
  const order = crops.map((_, i) => i).sort((a, b) => lines[a].width - lines[b].width);
  for (const group of widthBatches(order, (i) => lines[i].width)) {
    const width = lines[group.at(-1) ?? 0].width;
    const plane = HEIGHT * width;
    const tensor = new Float32Array(group.length * 3 * plane);
    group.forEach((i, n) => writeLine(lines[i], tensor, n * 3 * plane, width));
    const dims = [group.length, 3, HEIGHT, width];
    const key = memo && tensorKey(tensor, dims);
    let readings = key ? memo?.get(key) : undefined;
    if (!readings) {
      const output = await session.run({ [session.inputNames[0]]: new Tensor('float32', tensor, dims) });
      const probs = output[session.outputNames[0]];
      const [, steps, classes] = probs.dims as number[];
      const data = probs.data as Float32Array;
      readings = group.map((_, n) => decodeCtc(data, n * steps * classes, steps, classes, dictionary));
      probs.dispose();
      if (key) memo?.set(key, readings, readings.reduce((sum, r) => sum + 64 + 2 * r.text.length, 0));
    }
    const read = readings;
    group.forEach((index, n) => {
      results[index] = crops[index].width === 0 ? { text: '', confidence: 0 } : read[n];
    });
  }
  return results;
}

/**
 * Splits indices sorted by line width into batches of at most BATCH lines whose widths
 * differ by at most BATCH_SPREAD: padding a narrow line to a wide one costs more model
 * time than a separate run.
 */
export function widthBatches(sorted: readonly number[], widthOf: (index: number) => number): number[][] {
  const batches: number[][] = [];
  let current: number[] = [];
  for (const index of sorted) {
    if (current.length === BATCH || (current.length > 0 && widthOf(index) > BATCH_SPREAD * widthOf(current[0]))) {
      batches.push(current);
      current = [];
    }
    current.push(index);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

function toLine(crop: Raster8): Raster8 {
  if (crop.width === 0 || crop.height === 0) return { width: 8, height: HEIGHT, channels: crop.channels, data: new Uint8Array(8 * HEIGHT * crop.channels) };
  const width = Math.min(MAX_WIDTH, Math.max(8, Math.round((crop.width * HEIGHT) / crop.height)));
  return resizeBilinear(crop, width, HEIGHT);
}

/** BGR planes, (x/255 − 0.5)/0.5; columns right of the line stay 0 (PaddleOCR's padding). */
function writeLine(line: Raster8, tensor: Float32Array, offset: number, width: number): void {
  const plane = HEIGHT * width;
  const { channels, data } = line;
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < line.width; x++) {
      const src = (y * line.width + x) * channels;
      const r = data[src];
      const g = channels === 3 ? data[src + 1] : r;
      const b = channels === 3 ? data[src + 2] : r;
      const dst = offset + y * width + x;
      tensor[dst] = b / 127.5 - 1;
      tensor[dst + plane] = g / 127.5 - 1;
      tensor[dst + 2 * plane] = r / 127.5 - 1;
    }
  }
}
