import { Tensor, type InferenceSession } from 'onnxruntime-node';
import type { Raster8 } from '../raster.js';
import { buildDetectionInput, planTiles } from './detectionInput.js';
import { DEFAULT_INSTANCE_OPTIONS, instancesFromMap, mergeInstances, type InstanceOptions, type TextInstance } from './instances.js';
import { loadModel } from './session.js';

export interface DetectorOptions extends InstanceOptions {
  /** Black border added around each tile, in image pixels. */
  pad: number;
  /** Largest tile side (image pixels, before padding); larger images are tiled, never shrunk. */
  maxTile: number;
  overlap: number;
  /** Images whose long side is at most this are read at ×2 (small text on small images). */
  upscaleBelow: number;
}

export const DEFAULT_DETECTOR_OPTIONS: DetectorOptions = {
  ...DEFAULT_INSTANCE_OPTIONS,
  pad: 16,
  maxTile: 960,
  overlap: 96,
  upscaleBelow: 256,
};

export interface TextDetector {
  detect(view: Raster8): Promise<TextInstance[]>;
}

export async function createTextDetector(threads = 1, options: Partial<DetectorOptions> = {}): Promise<TextDetector & { session: InferenceSession }> {
  const { session } = await loadModel('ocr-det-ppocrv4', threads);
  const settings = { ...DEFAULT_DETECTOR_OPTIONS, ...options };
  return {
    session,
    detect: (view) => detectText(session, view, settings),
  };
}

/** DBNet over every tile of the view; instances from all tiles, merged where tiles overlap. */
export async function detectText(session: InferenceSession, view: Raster8, options: DetectorOptions): Promise<TextInstance[]> {
  const scale = Math.max(view.width, view.height) <= options.upscaleBelow ? 2 : 1;
  const tiles = planTiles(view.width, view.height, Math.floor(options.maxTile / scale), options.overlap);
  const found: TextInstance[] = [];
  for (const tile of tiles) {
    const input = buildDetectionInput(view, tile, scale, options.pad);
    const feeds = { [session.inputNames[0]]: new Tensor('float32', input.tensor, [1, 3, input.height, input.width]) };
    const output = await session.run(feeds);
    const map = output[session.outputNames[0]];
    const prob = map.data as Float32Array;
    found.push(...instancesFromMap(prob, input, view.width, view.height, options));
    map.dispose();
  }
  return tiles.length > 1 ? mergeInstances(found) : found;
}
