import { VeilError } from '../../../errors.js';

/**
 * The parts of a TensorFlow.js graph-model file (model.json + weights .bin) that the
 * converter reads. Everything arrives as `unknown` and is narrowed here, so a damaged or
 * unexpected model fails with a MODEL_INVALID error naming the field.
 */
export interface TfjsNode {
  name: string;
  op: string;
  inputs: string[];
  attr: Record<string, unknown>;
}

export interface TfjsConst {
  dtype: 'float32' | 'int32';
  shape: number[];
  values: Float32Array | Int32Array;
}

export interface TfjsGraph {
  nodes: TfjsNode[];
  consts: Map<string, TfjsConst>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(file: string, field: string, expected: string): never {
  throw new VeilError('MODEL_INVALID', `expected ${expected}`, { file, field });
}

/** Parses model.json text and the concatenated weight files into nodes and constants. */
export function parseTfjsGraph(modelJson: string, weights: Uint8Array, file = 'model.json'): TfjsGraph {
  const root: unknown = JSON.parse(modelJson);
  if (!isRecord(root) || root['format'] !== 'graph-model') fail(file, 'format', 'a tfjs graph-model');
  const topology = root['modelTopology'];
  if (!isRecord(topology) || !Array.isArray(topology['node'])) fail(file, 'modelTopology.node', 'a list of nodes');
  const nodes: TfjsNode[] = (topology['node'] as unknown[]).map((raw, i) => {
    if (!isRecord(raw) || typeof raw['name'] !== 'string' || typeof raw['op'] !== 'string') {
      fail(file, `modelTopology.node[${i}]`, 'a node with a name and an op');
    }
    const inputs = Array.isArray(raw['input']) ? raw['input'].filter((s): s is string => typeof s === 'string') : [];
    return { name: raw['name'], op: raw['op'], inputs, attr: isRecord(raw['attr']) ? raw['attr'] : {} };
  });

  const manifest = root['weightsManifest'];
  if (!Array.isArray(manifest)) fail(file, 'weightsManifest', 'a list of weight groups');
  const consts = new Map<string, TfjsConst>();
  let offset = 0;
  for (const group of manifest as unknown[]) {
    if (!isRecord(group) || !Array.isArray(group['weights'])) fail(file, 'weightsManifest.weights', 'a list of weights');
    for (const spec of group['weights'] as unknown[]) {
      if (!isRecord(spec) || typeof spec['name'] !== 'string' || !Array.isArray(spec['shape'])) {
        fail(file, 'weightsManifest.weights', 'entries with name and shape');
      }
      if (spec['quantization'] !== undefined) fail(file, `weights.${spec['name']}`, 'unquantized weights');
      const dtype = spec['dtype'];
      if (dtype !== 'float32' && dtype !== 'int32') fail(file, `weights.${spec['name']}.dtype`, 'float32 or int32');
      const shape = spec['shape'].map((d) => Number(d));
      const count = shape.reduce((a, b) => a * b, 1);
      const bytes = count * 4;
      if (offset + bytes > weights.byteLength) fail(file, `weights.${spec['name']}`, 'weights inside the .bin files');
      // Copy so that the typed array is aligned regardless of the buffer offset.
      const slice = weights.slice(offset, offset + bytes);
      const values = dtype === 'float32' ? new Float32Array(slice.buffer, slice.byteOffset, count) : new Int32Array(slice.buffer, slice.byteOffset, count);
      consts.set(spec['name'], { dtype, shape, values });
      offset += bytes;
    }
  }
  if (offset !== weights.byteLength) fail(file, 'weightsManifest', `weights totalling the .bin size`);
  return { nodes, consts };
}

/** Reads a string attribute (tfjs stores them base64-encoded). */
export function attrString(node: TfjsNode, key: string): string | undefined {
  const value = node.attr[key];
  if (!isRecord(value) || typeof value['s'] !== 'string') return undefined;
  return Buffer.from(value['s'], 'base64').toString('utf8');
}

/** Reads a list-of-ints attribute (strides, ksize, dilations). */
export function attrInts(node: TfjsNode, key: string): number[] | undefined {
  const value = node.attr[key];
  if (!isRecord(value) || !isRecord(value['list'])) return undefined;
  const ints = value['list']['i'];
  return Array.isArray(ints) ? ints.map((i) => Number(i)) : [];
}

/** Reads a list-of-strings attribute (fused_ops). */
export function attrStrings(node: TfjsNode, key: string): string[] {
  const value = node.attr[key];
  if (!isRecord(value) || !isRecord(value['list'])) return [];
  const strings = value['list']['s'];
  return Array.isArray(strings) ? strings.filter((s): s is string => typeof s === 'string').map((s) => Buffer.from(s, 'base64').toString('utf8')) : [];
}

/** Placeholder shape, e.g. [1, 256, 256, 3]. */
export function placeholderShape(node: TfjsNode): number[] {
  const shape = node.attr['shape'];
  const dims = isRecord(shape) && isRecord(shape['shape']) ? shape['shape']['dim'] : undefined;
  if (!Array.isArray(dims)) return [];
  return dims.map((d) => (isRecord(d) ? Number(d['size']) : Number.NaN));
}
