import { InferenceSession } from 'onnxruntime-node';
import { readManifest, readVerified, type ModelManifest } from '../models.js';
import { simplifyGraph } from './graph/simplifyGraph.js';

export interface LoadedModel {
  session: InferenceSession;
  manifest: ModelManifest;
}

/** Sessions already created in this thread, by model and thread count. */
const loaded = new Map<string, Promise<LoadedModel>>();

/** Model files read and checked by `checkModels`, held until `loadModel` makes their session. */
const checked = new Map<string, Promise<{ manifest: ModelManifest; bytes: Buffer }>>();

function keyOf(id: string, threads: number): string {
  return `${id}/${Math.max(1, threads)}`;
}

/**
 * Reads and checks (sha256) the files of the models that `loadModel` will load next, all of
 * them before any session is made: a missing or altered file fails at once, without first
 * building the session of a model that is fine (most of a failed load's CPU). Throws the
 * first failure in the order of `ids`, once every check has settled; models whose session
 * this thread already has are not read again.
 */
export async function checkModels(ids: readonly string[], threads: number): Promise<void> {
  const pending = ids.filter((id) => !loaded.has(keyOf(id, threads)));
  for (const id of pending) if (!checked.has(id)) checked.set(id, readChecked(id));
  const results = await Promise.allSettled(pending.map((id) => checked.get(id)));
  const failed = results.find((result) => result.status === 'rejected');
  if (!failed) return;
  // nothing is kept from a failed check: the next engine reads the files again
  for (const id of pending) checked.delete(id);
  throw failed.reason;
}

async function readChecked(id: string): Promise<{ manifest: ModelManifest; bytes: Buffer }> {
  const manifest = await readManifest(id);
  return { manifest, bytes: await readVerified(manifest.sourcePackage, manifest.file, manifest.sha256) };
}

/**
 * The onnxruntime session for a manifest's model, created once per thread (process or
 * worker) and thread count: every text engine of a worker shares it, so the model is
 * verified, simplified and loaded once, and what it already answered is remembered across
 * engines (runMemo.ts). A session is stateless between runs; Veil never closes text sessions
 * (closeTextModels is for threads shared by unrelated work, such as a test worker).
 */
export function loadModel(id: string, threads: number): Promise<LoadedModel> {
  const key = keyOf(id, threads);
  let model = loaded.get(key);
  if (!model) {
    model = createModel(id, threads, checked.get(id));
    checked.delete(id);
    loaded.set(key, model);
    // a failed load (missing or altered file) is tried again by the next engine
    model.catch(() => loaded.delete(key));
  }
  return model;
}

/**
 * Releases every text model session of this thread; the next engine loads the models again.
 * For a thread that runs unrelated work one after another (a test worker shared by several
 * files): engines made before must not be used after this.
 */
export async function closeTextModels(): Promise<void> {
  const models = [...loaded.values()];
  loaded.clear();
  checked.clear();
  for (const model of await Promise.allSettled(models)) if (model.status === 'fulfilled') await model.value.session.release();
}

/**
 * Creates an onnxruntime session for a manifest's model, after checking its sha256. The
 * graph is simplified in memory first (exact rewrites, see simplifyGraph.ts).
 */
async function createModel(id: string, threads: number, verified = readChecked(id)): Promise<LoadedModel> {
  const { manifest, bytes } = await verified;
  const session = await InferenceSession.create(simplifyGraph(bytes).bytes, {
    intraOpNumThreads: Math.max(1, threads),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  return { session, manifest };
}
