import { CST, Lexer } from 'yaml';

/**
 * Limits a policy text must meet before the YAML parser builds anything from it. The parser
 * recurses once per nesting level: a few thousand `[` take it near the stack limit, where
 * Node can abort the whole process; aliases can expand a small text into gigabytes.
 */
export const POLICY_LIMITS = {
  /** A large real policy, an inline `tree:` of ICD-10-like codes (2,200 categories, 11,000 codes), is 128 KiB. */
  maxBytes: 256 * 1024,
  /** Nesting of mappings and lists, block and flow together; real policies stay below 15. */
  maxDepth: 64,
  /** `*alias` references in the text; real policies use none or a few. */
  maxAliases: 100,
  /**
   * Values and flow collections: parse time follows the node count (a 256 KiB list of
   * one-letter items takes seconds); that ICD-10 tree has ~14,000.
   */
  maxNodes: 40_000,
} as const;

const NODE_TOKENS = new Set<ReturnType<typeof CST.tokenType>>(['scalar', 'single-quoted-scalar', 'double-quoted-scalar', 'block-scalar-header', 'alias', 'flow-seq-start', 'flow-map-start']);

export interface ScreenProblem {
  line?: number;
  message: string;
}

/**
 * Refuses a text over the size, depth, alias or node limits in one linear pass of the YAML lexer
 * (tokens only, no tree), stopping at the first token over a limit.
 */
export function screenPolicyText(text: string): ScreenProblem | undefined {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > POLICY_LIMITS.maxBytes) {
    return { message: `the policy is ${Math.ceil(bytes / 1024)} KiB; at most ${POLICY_LIMITS.maxBytes / 1024} KiB are accepted` };
  }
  let line = 1;
  let flowDepth = 0;
  let aliases = 0;
  let nodes = 0;
  // indentation columns of the open block collections
  const indents: number[] = [];
  let atLineStart = true;
  let lineIndent = 0;
  let indicatorsOnLine = 0;
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token);
    if (type === 'newline') {
      line++;
      atLineStart = true;
      lineIndent = 0;
      indicatorsOnLine = 0;
      continue;
    }
    if (type === 'space' && atLineStart) {
      lineIndent = token.length;
      continue;
    }
    if (atLineStart && type !== 'comment' && flowDepth === 0) {
      while (indents.length > 0 && indents[indents.length - 1] >= lineIndent) indents.pop();
      indents.push(lineIndent);
    }
    if (type !== 'space') atLineStart = false;
    if (type === 'flow-seq-start' || type === 'flow-map-start') flowDepth++;
    else if ((type === 'flow-seq-end' || type === 'flow-map-end') && flowDepth > 0) flowDepth--;
    // `- - x` and `- a: b` open a collection each without a new line
    else if ((type === 'seq-item-ind' || type === 'explicit-key-ind' || type === 'map-value-ind') && flowDepth === 0) indicatorsOnLine++;
    else if (type === 'alias' && ++aliases > POLICY_LIMITS.maxAliases) {
      return { line, message: `more than ${POLICY_LIMITS.maxAliases} aliases (*name); write the values out` };
    }
    // multi-line scalars and comments: keep the line count right
    for (let i = token.indexOf('\n'); i >= 0; i = token.indexOf('\n', i + 1)) line++;
    if (NODE_TOKENS.has(type) && ++nodes > POLICY_LIMITS.maxNodes) {
      return { line, message: `more than ${POLICY_LIMITS.maxNodes} values; give a large hierarchy as a CSV file instead` };
    }
    if (indents.length + indicatorsOnLine + flowDepth > POLICY_LIMITS.maxDepth) {
      return { line, message: `nested more than ${POLICY_LIMITS.maxDepth} levels deep` };
    }
  }
  return undefined;
}
