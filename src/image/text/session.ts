import { InferenceSession } from 'onnxruntime-node';
import { readManifest, readVerified, type ModelManifest } from '../models.js';
import { simplifyGraph } from './graph/simplifyGraph.js';

export interface LoadedModel {
  session: InferenceSession;
  manifest: ModelManifest;
}

/**
 * Creates an onnxruntime session for a manifest's model, after checking its sha256. The
 * graph is simplified in memory first (exact rewrites, see simplifyGraph.ts).
 */
export async function loadModel(id: string, threads: number): Promise<LoadedModel> {
  const manifest = await readManifest(id);
  const bytes = await readVerified(manifest.sourcePackage, manifest.file, manifest.sha256);
  const session = await InferenceSession.create(simplifyGraph(bytes).bytes, {
    intraOpNumThreads: Math.max(1, threads),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  return { session, manifest };
}
