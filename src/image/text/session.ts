import { InferenceSession } from 'onnxruntime-node';
import { readManifest, readVerified, type ModelManifest } from '../models.js';
import { simplifyGraph } from './graph/simplifyGraph.js';

export interface LoadedModel {
  session: InferenceSession;
  manifest: ModelManifest;
}

/** Sessions already created in this thread, by model and thread count. */
const loaded = new Map<string, Promise<LoadedModel>>();

/**
 * The onnxruntime session for a manifest's model, created once per thread (process or
 * worker) and thread count: every text engine of a worker shares it, so the model is
 * verified, simplified and loaded once, and what it already answered is remembered across
 * engines (runMemo.ts). A session is stateless between runs; text sessions are never closed.
 */
export function loadModel(id: string, threads: number): Promise<LoadedModel> {
  const key = `${id}/${Math.max(1, threads)}`;
  let model = loaded.get(key);
  if (!model) {
    model = createModel(id, threads);
    loaded.set(key, model);
    // a failed load (missing or altered file) is tried again by the next engine
    model.catch(() => loaded.delete(key));
  }
  return model;
}

/**
 * Creates an onnxruntime session for a manifest's model, after checking its sha256. The
 * graph is simplified in memory first (exact rewrites, see simplifyGraph.ts).
 */
async function createModel(id: string, threads: number): Promise<LoadedModel> {
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
