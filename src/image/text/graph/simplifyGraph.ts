import onnxProto from 'onnx-proto';
import { affineAsDepthwiseConv, foldAffineIntoConv, foldAffineIntoNextConv } from './affine.js';
import { foldResidualIntoGate } from './gate.js';
import { GraphIndex, type Model } from './graphIndex.js';
import { fuseHardSwish } from './hardSwish.js';
import { mergeDepthToSpace, upsamplingAsConv } from './upsampling.js';

/**
 * Algebraic rewrites of the PaddleOCR ONNX exports, done in memory at load. paddle2onnx
 * writes every HardSwish as Add, Clip, Mul, Div, every learnable scale/shift as a separate
 * Mul and Add, and the detector head as transposed convolutions; onnxruntime fuses none of
 * these, and each broadcast Mul or Add also forces its blocked (NCHWc) convolutions to
 * convert layouts there and back. Rewritten here:
 * - scale/shift pairs folded into the Conv before them, or the 1×1 Conv after them, or
 *   else turned into a 1×1 depthwise Conv (affine.ts);
 * - HardSwish chains into x · HardSigmoid(x) (hardSwish.ts);
 * - squeeze-excite residuals x + x·g into x·(g + 1) (gate.ts);
 * - 2×2 stride-2 transposed convolutions into 1×1 Conv + DepthToSpace, two in a row into
 *   one DepthToSpace (upsampling.ts).
 * The result computes the same function up to float rounding; tests compare outputs.
 */
export interface SimplifyStats {
  affineIntoConv: number;
  hardSwish: number;
  affineIntoNextConv: number;
  affineAsDepthwise: number;
  gateWithResidual: number;
  upsamplingAsConv: number;
  mergedDepthToSpace: number;
}

const NO_CHANGES: SimplifyStats = { affineIntoConv: 0, hardSwish: 0, affineIntoNextConv: 0, affineAsDepthwise: 0, gateWithResidual: 0, upsamplingAsConv: 0, mergedDepthToSpace: 0 };

export function simplifyGraph(bytes: Uint8Array): { bytes: Uint8Array; stats: SimplifyStats } {
  const model = onnxProto.onnx.ModelProto.decode(bytes);
  const stats = simplifyModel(model);
  return { bytes: onnxProto.onnx.ModelProto.encode(model).finish(), stats };
}

export function simplifyModel(model: Model): SimplifyStats {
  const graph = model.graph;
  if (!graph?.node) return { ...NO_CHANGES };
  const g = new GraphIndex(graph.node, (graph.output ?? []).map((o) => o.name ?? ''));
  const stats: SimplifyStats = {
    affineIntoConv: foldAffineIntoConv(g),
    hardSwish: fuseHardSwish(g),
    affineIntoNextConv: foldAffineIntoNextConv(g),
    affineAsDepthwise: affineAsDepthwiseConv(g),
    gateWithResidual: foldResidualIntoGate(g),
    upsamplingAsConv: upsamplingAsConv(g),
    mergedDepthToSpace: mergeDepthToSpace(g),
  };
  graph.node = g.liveNodes();
  return stats;
}
