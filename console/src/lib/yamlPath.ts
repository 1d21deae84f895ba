/**
 * Where the cursor is in a block-style YAML text, as a path of mapping keys with `[]` for a list
 * item (`tabular.quasiIdentifiers[].hierarchy`). Read from indentation alone, so it works while
 * the text does not parse yet, which is when a completion list is needed.
 */
export function yamlPathAt(text: string, offset: number): string[] {
  const lines = text.slice(0, offset).split('\n');
  // A cursor inside a line's indentation (at its start, say) is on that line's key.
  const lineEnd = text.indexOf('\n', offset);
  const whole = text.slice(offset - lines[lines.length - 1].length, lineEnd === -1 ? text.length : lineEnd);
  const typed = lines[lines.length - 1];
  const current = /^\s*$/.test(typed) && whole.trim() !== '' ? (/^\s*(-\s+)?/.exec(whole)?.[0] ?? typed) : typed;
  const path: string[] = [];
  let indent: number;
  const dash = /^(\s*)-(\s+|$)/.exec(current);
  if (dash) {
    path.unshift('[]');
    indent = dash[1].length;
  } else indent = leading(current);

  for (let i = lines.length - 2; i >= 0 && indent > 0; i--) {
    const line = lines[i];
    if (/^\s*(#.*)?$/.test(line)) continue;
    const item = /^(\s*)-\s+(.*)$/.exec(line);
    if (item) {
      const dashIndent = item[1].length;
      const contentIndent = line.length - item[2].length;
      if (dashIndent >= indent) continue;
      const opener = openingKey(item[2]);
      if (contentIndent < indent && opener !== undefined) path.unshift(opener);
      else if (contentIndent !== indent) continue;
      path.unshift('[]');
      indent = dashIndent;
      continue;
    }
    const lead = leading(line);
    if (lead >= indent) continue;
    const opener = openingKey(line.trim());
    if (opener === undefined) continue;
    path.unshift(opener);
    indent = lead;
  }
  return path;
}

/** The key of `key:` with nothing after it but a comment: a line that opens a block. */
function openingKey(content: string): string | undefined {
  const match = /^(?:"([^"]+)"|'([^']+)'|([^\s#:'"{}[\],][^#:]*?))\s*:\s*(#.*)?$/.exec(content);
  return match ? (match[1] ?? match[2] ?? match[3]) : undefined;
}

function leading(line: string): number {
  return /^ */.exec(line)?.[0].length ?? 0;
}

/** A key the schema allows at a path, with its description. */
export interface KeySuggestion {
  key: string;
  description?: string;
}

type JsonSchema = Record<string, unknown>;

const isObject = (value: unknown): value is JsonSchema => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The keys a JSON Schema allows at `path` (mapping keys and `[]` for list items), following
 * `properties`, `items`, `anyOf`/`oneOf`/`allOf` and local `$ref`s.
 */
export function keysAt(root: unknown, path: readonly string[]): KeySuggestion[] {
  let schemas = expand(root, root);
  for (const segment of path) {
    const next: unknown[] = [];
    for (const schema of schemas) {
      if (segment === '[]') next.push(schema.items);
      else if (isObject(schema.properties)) next.push(schema.properties[segment]);
      if (segment !== '[]' && isObject(schema.additionalProperties)) next.push(schema.additionalProperties);
    }
    schemas = next.flatMap((schema) => expand(schema, root));
  }
  const seen = new Map<string, KeySuggestion>();
  for (const schema of schemas) {
    if (!isObject(schema.properties)) continue;
    for (const [key, value] of Object.entries(schema.properties)) {
      if (key === '$schema' || seen.has(key)) continue;
      const description = isObject(value) ? describe(value, root) : undefined;
      seen.set(key, description ? { key, description } : { key });
    }
  }
  return [...seen.values()];
}

function describe(schema: JsonSchema, root: unknown): string | undefined {
  for (const option of expand(schema, root)) if (typeof option.description === 'string') return option.description;
  return typeof schema.description === 'string' ? schema.description : undefined;
}

/** A schema and the alternatives it stands for, with `$ref`s resolved (cycles cut). */
function expand(schema: unknown, root: unknown, seen = new Set<unknown>()): JsonSchema[] {
  if (!isObject(schema) || seen.has(schema)) return [];
  seen.add(schema);
  if (typeof schema.$ref === 'string' && schema.$ref.startsWith('#/')) {
    let target: unknown = root;
    for (const part of schema.$ref.slice(2).split('/')) target = isObject(target) ? target[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
    return expand(target, root, seen);
  }
  const out: JsonSchema[] = [schema];
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options)) for (const option of options) out.push(...expand(option, root, seen));
  }
  return out;
}
