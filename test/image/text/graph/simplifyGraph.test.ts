import { InferenceSession, Tensor } from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { readManifest, readVerified } from '../../../../src/image/models.js';
import { generateImage } from '../../../../src/image/synth/generator.js';
import { buildDetectionInput } from '../../../../src/image/text/detectionInput.js';
import { simplifyGraph } from '../../../../src/image/text/graph/simplifyGraph.js';

async function modelBytes(id: string): Promise<Buffer> {
  const manifest = await readManifest(id);
  return readVerified(manifest.sourcePackage, manifest.file, manifest.sha256);
}

async function run(bytes: Uint8Array, input: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await InferenceSession.create(bytes, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const output = await session.run({ [session.inputNames[0]]: new Tensor('float32', input, dims) });
  const data = (output[session.outputNames[0]].data as Float32Array).slice();
  await session.release();
  return data;
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

function opCount(bytes: Uint8Array, opType: string): number {
  return (onnxProto.onnx.ModelProto.decode(bytes).graph?.node ?? []).filter((n) => n.opType === opType).length;
}

describe('simplifyGraph', () => {
  it('rewrites the detector (HardSwish chains, scale/shift pairs) and computes the same probability map', async () => {
    const original = await modelBytes('ocr-det-ppocrv4');
    const { bytes, stats } = simplifyGraph(original);
    expect(stats.hardSwish).toBeGreaterThan(0);
    expect(stats.affineIntoConv).toBeGreaterThan(0);
    expect(opCount(bytes, 'Clip')).toBe(0);
    expect(opCount(bytes, 'Div')).toBe(0);
    // Scale/shift pairs before padded convs become 1×1 depthwise convs, the two 2×2
    // transposed convs of the head become 1×1 convs and one DepthToSpace.
    expect(stats.affineAsDepthwise).toBeGreaterThan(0);
    expect(stats.gateWithResidual).toBeGreaterThan(0);
    expect(stats.upsamplingAsConv).toBe(2);
    expect(stats.mergedDepthToSpace).toBe(1);
    expect(opCount(bytes, 'ConvTranspose')).toBe(0);
    expect(opCount(bytes, 'BatchNormalization')).toBe(opCount(original, 'BatchNormalization') - 1);
    expect(opCount(bytes, 'Conv')).toBe(opCount(original, 'Conv') + stats.affineAsDepthwise + stats.upsamplingAsConv);
    const { image } = await generateImage(31, { width: 224, height: 160 });
    const input = buildDetectionInput(image, { x: 0, y: 0, width: image.width, height: image.height }, 1, 16);
    const dims = [1, 3, input.height, input.width];
    const before = await run(original, input.tensor, dims);
    const after = await run(bytes, input.tensor, dims);
    expect(after.length).toBe(before.length);
    expect(maxDifference(before, after)).toBeLessThan(1e-3);
    // The map holds text: the comparison is not between two empty outputs.
    expect(before.filter((p) => p > 0.3).length).toBeGreaterThan(100);
  }, 60_000);

  it('rewrites the recognizer and computes the same character probabilities', async () => {
    const original = await modelBytes('ocr-rec-ppocrv4');
    const { bytes, stats } = simplifyGraph(original);
    expect(stats.affineIntoConv + stats.affineIntoNextConv).toBeGreaterThan(0);
    // Its Clips carry their bounds as attributes (opset 9): the HardSwish chains are found too.
    expect(stats.hardSwish).toBeGreaterThan(0);
    expect(opCount(bytes, 'Mul')).toBeLessThan(opCount(original, 'Mul'));
    const width = 160;
    const input = new Float32Array(3 * 48 * width);
    // A striped pattern, not a constant: every layer sees varying values.
    for (let i = 0; i < input.length; i++) input[i] = Math.sin(i * 0.37) * 0.9;
    const before = await run(original, input, [1, 3, 48, width]);
    const after = await run(bytes, input, [1, 3, 48, width]);
    expect(maxDifference(before, after)).toBeLessThan(1e-3);
  }, 60_000);

  it('leaves a graph without those patterns unchanged', () => {
    const graph = onnxProto.onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: { name: 'g', node: [{ opType: 'Relu', input: ['x'], output: ['y'] }], input: [{ name: 'x' }], output: [{ name: 'y' }] },
    }).finish();
    const { bytes, stats } = simplifyGraph(graph);
    expect(Object.values(stats).every((count) => count === 0)).toBe(true);
    expect(onnxProto.onnx.ModelProto.decode(bytes).graph?.node?.map((n) => n.opType)).toEqual(['Relu']);
  });
});
