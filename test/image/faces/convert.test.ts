import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { parseTfjsGraph } from '../../../src/image/faces/convert/tfjsGraph.js';
import { convertTfjsGraphToOnnx, convFilterToOihw, depthwiseFilterToOihw, readOnnxMetadata } from '../../../src/image/faces/convert/toOnnx.js';
import { convertBlazeFace, locateBlazeFaceSource } from '../../../src/image/faces/model.js';
import { isVeilError } from '../../../src/errors.js';
import { humanAsset } from './helpers.js';

const OUTPUTS = ['Identity', 'Identity_1', 'Identity_2', 'Identity_3'];

/** A real face photo, resized to 256² and scaled to [-1, 1] as BlazeFace expects (NHWC). */
async function faceInput(): Promise<Float32Array> {
  const raw = await sharp(humanAsset('screenshot-faceid.jpg')).extract({ left: 0, top: 120, width: 256, height: 256 }).removeAlpha().raw().toBuffer();
  return Float32Array.from(raw, (v) => v / 127.5 - 1);
}

describe('tfjs graph → ONNX conversion of BlazeFace', () => {
  it('gives the same outputs as the tfjs graph run by tfjs (CPU backend) on a real face', async () => {
    const source = await locateBlazeFaceSource();
    const { bytes } = await convertBlazeFace(source);
    const input = await faceInput();

    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    const onnxOut = await session.run({ input: new ort.Tensor('float32', input, [1, 256, 256, 3]) });
    await session.release();

    await tf.setBackend('cpu');
    const json = JSON.parse(await readFile(source.modelJsonPath, 'utf8'));
    const bin = await readFile(source.weightsPath);
    const model = await tf.loadGraphModel(
      tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) }),
    );
    const x = tf.tensor4d(input, [1, 256, 256, 3]);
    const tfOut = model.execute(x, OUTPUTS.map((n) => `${n}:0`)) as tf.Tensor[];

    let best = { tf: -Infinity, onnx: -Infinity, tfIndex: -1, onnxIndex: -1 };
    for (const [i, name] of OUTPUTS.entries()) {
      const expected = tfOut[i]!.dataSync() as Float32Array;
      const actual = onnxOut[name]!.data as Float32Array;
      expect(onnxOut[name]!.dims).toEqual(tfOut[i]!.shape);
      let maxDiff = 0;
      let maxAbs = 0;
      for (let k = 0; k < expected.length; k++) {
        maxDiff = Math.max(maxDiff, Math.abs((expected[k] as number) - (actual[k] as number)));
        maxAbs = Math.max(maxAbs, Math.abs(expected[k] as number));
      }
      expect(maxAbs, name).toBeGreaterThan(1); // real signal, not zeros
      // float32 with a different summation order: agree to ~1e-5 of the output's range.
      expect(maxDiff, name).toBeLessThan(1e-5 * maxAbs + 1e-5);
      if (name === 'Identity') {
        for (let k = 0; k < expected.length; k++) {
          if ((expected[k] as number) > best.tf) best = { ...best, tf: expected[k] as number, tfIndex: k };
          if ((actual[k] as number) > best.onnx) best = { ...best, onnx: actual[k] as number, onnxIndex: k };
        }
      }
    }
    // The face in the photo: both runtimes pick the same strongest anchor, with a confident score.
    expect(best.onnxIndex).toBe(best.tfIndex);
    expect(best.onnx).toBeGreaterThan(1);
    tf.dispose([x, ...tfOut]);
    model.dispose();
  });

  it('is deterministic and records its sources in the model metadata', async () => {
    const source = await locateBlazeFaceSource();
    const a = await convertBlazeFace(source);
    const b = await convertBlazeFace(source);
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    const meta = readOnnxMetadata(a.bytes);
    expect(meta['source']).toMatch(/^@vladmandic\/human@/);
    expect(meta['source.blazeface.bin.sha256']).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('filter layout', () => {
  it('moves conv filters from HWIO to OIHW', () => {
    // kh=1, kw=2, in=2, out=3: value = 100·i + 10·j… encoded as (j, c, o).
    const values = new Float32Array(12);
    for (let j = 0; j < 2; j++) for (let c = 0; c < 2; c++) for (let o = 0; o < 3; o++) values[(j * 2 + c) * 3 + o] = 100 * o + 10 * c + j;
    const { dims, values: out } = convFilterToOihw({ dtype: 'float32', shape: [1, 2, 2, 3], values });
    expect(dims).toEqual([3, 2, 1, 2]);
    for (let o = 0; o < 3; o++) for (let c = 0; c < 2; c++) for (let j = 0; j < 2; j++) expect(out[(o * 2 + c) * 2 + j]).toBe(100 * o + 10 * c + j);
  });

  it('turns depthwise filters [kh, kw, in, mult] into grouped [in·mult, 1, kh, kw]', () => {
    const values = new Float32Array(2 * 1 * 3 * 2);
    for (let i = 0; i < 2; i++) for (let c = 0; c < 3; c++) for (let m = 0; m < 2; m++) values[(i * 3 + c) * 2 + m] = 100 * c + 10 * m + i;
    const { dims, values: out } = depthwiseFilterToOihw({ dtype: 'float32', shape: [2, 1, 3, 2], values });
    expect(dims).toEqual([6, 1, 2, 1]);
    for (let c = 0; c < 3; c++) for (let m = 0; m < 2; m++) for (let i = 0; i < 2; i++) expect(out[(c * 2 + m) * 2 + i]).toBe(100 * c + 10 * m + i);
  });
});

describe('unsupported graphs', () => {
  const model = (nodes: unknown[]): string => JSON.stringify({ format: 'graph-model', modelTopology: { node: nodes }, weightsManifest: [{ paths: ['w.bin'], weights: [] }] });

  it('refuses an op it does not know, naming the node', () => {
    const graph = parseTfjsGraph(
      model([
        { name: 'input', op: 'Placeholder', attr: { shape: { shape: { dim: [{ size: '1' }, { size: '8' }, { size: '8' }, { size: '3' }] } } } },
        { name: 'weird', op: 'Softplus', input: ['input'] },
      ]),
      new Uint8Array(0),
    );
    let error: unknown;
    try {
      convertTfjsGraphToOnnx(graph);
    } catch (e) {
      error = e;
    }
    expect(isVeilError(error) && error.code === 'MODEL_INVALID' && error.location.field === 'weird').toBe(true);
  });

  it('refuses weights that do not fill the .bin file', () => {
    expect(() => parseTfjsGraph(JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [{ weights: [{ name: 'w', shape: [4], dtype: 'float32' }] }] }), new Uint8Array(8))).toThrow(/weights/);
    expect(() => parseTfjsGraph('{"format":"layers-model"}', new Uint8Array(0))).toThrow(/graph-model/);
  });
});
