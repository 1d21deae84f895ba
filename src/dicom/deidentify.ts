import { DUMMY_TEXT, dummyBytes, VEIL_WRITTEN } from './dummies.js';
import { shiftDa, shiftDt } from './dates.js';
import { lookupTag } from '../standard/dicomDictionary.js';
import { encodeText, textValue } from './codec/values.js';
import type { DicomDataset, DicomElement } from './codec/types.js';
import type { CompiledProfile, ElementRule } from './profile/compile.js';
import { MAX_LENGTH, valuePseudonym } from './pseudonyms.js';
import { isStandardUid, remapUid } from './uids.js';

/** Everything the header transform needs for one file. */
export interface DeidentifyContext {
  profile: CompiledProfile;
  secret: Uint8Array;
  unlisted: 'keep' | 'remove';
  /** Days to move dates back (Modified Dates option); undefined when dates are not shifted. */
  dateOffsetDays?: number;
  patientPseudonym: string;
  /** Private blocks the policy lists as safe: "gggg|creator" → element low bytes. */
  safePrivate: ReadonlyMap<string, ReadonlySet<number>>;
}

/** Counts of what was done, per action code and per rule origin. */
export interface ActionCounts {
  actions: Record<string, number>;
  origins: Record<string, number>;
}

export const TAG_PATIENT_ID = 0x00100020;
export const TAG_PATIENT_NAME = 0x00100010;

/** VRs that can carry free text (removed by `unlistedElements: remove`, collected as identifying). */
const FREE_TEXT_VRS = new Set(['AE', 'AS', 'DA', 'DT', 'TM', 'LO', 'LT', 'PN', 'SH', 'ST', 'UC', 'UT', 'UR']);
/** Values that identify whatever their keyword: names, dates, UIDs. */
const IDENTIFYING_VRS = new Set(['PN', 'DA', 'DT', 'UI']);
/** Text VRs whose values identify when the keyword says so (IDs, names, addresses, institutions…). */
const ID_TEXT_VRS = new Set(['AE', 'LO', 'SH', 'LT', 'ST', 'UC', 'UT', 'UR']);
const IDENTIFYING_KEYWORD = /(ID|IDs|Number|Numbers|Name|Names|Address|Telephone|Institution|Physician|Operator|Author|Station|Accession|Issuer|Employer|Occupation|Location|Residence|Insurance|Country|Region|Religious|Military|Email)/;
const NOT_IDENTIFYING_KEYWORD = /(Description|Comments|Label|Sequence|UID|ProtocolName|CodeName|ModelName)$/;

/** Keyword → whether it names identifying content: two regular expressions per element were a visible part of the per-file cost. */
const keywordVerdicts = new Map<string, boolean>();

/** Whether the values of this element count as identifying (residual-PHI check and C cleaning). */
export function isIdentifying(vr: string, keyword: string): boolean {
  if (IDENTIFYING_VRS.has(vr)) return true;
  if (!ID_TEXT_VRS.has(vr)) return false;
  let verdict = keywordVerdicts.get(keyword);
  if (verdict === undefined) {
    verdict = IDENTIFYING_KEYWORD.test(keyword) && !NOT_IDENTIFYING_KEYWORD.test(keyword) && keyword !== 'PrivateAttributes';
    keywordVerdicts.set(keyword, verdict);
  }
  return verdict;
}
/** Shorter values are still cut out of cleaned text (as whole words); the residual check uses ≥ 4. */
const MIN_IDENTIFYING_LENGTH = 2;

interface Scope {
  /** Inside a sequence whose action is D or C (content to clean, e.g. SR content). */
  cleaning: boolean;
}

/** Private creator of a private element, from the creator elements of the same item. */
function privateCreatorOf(dataset: DicomDataset, tag: number): string | undefined {
  const group = tag >>> 16;
  const block = (tag >>> 8) & 0xff;
  const creatorTag = ((group << 16) | block) >>> 0;
  const creator = dataset.find((e) => e.tag === creatorTag);
  return creator?.value ? textValue(creator.value).trim() : undefined;
}

function isSafePrivate(dataset: DicomDataset, tag: number, ctx: DeidentifyContext): boolean {
  if (ctx.safePrivate.size === 0) return false;
  const group = tag >>> 16;
  const element = tag & 0xffff;
  if (element < 0x1000) {
    // a creator element is kept when its block is listed
    if (element < 0x10 || element > 0xff) return false;
    const creator = dataset.find((e) => e.tag === tag);
    const name = creator?.value ? textValue(creator.value).trim() : '';
    return ctx.safePrivate.has(`${group.toString(16).padStart(4, '0').toUpperCase()}|${name}`);
  }
  const creator = privateCreatorOf(dataset, tag);
  if (creator === undefined) return false;
  const elements = ctx.safePrivate.get(`${group.toString(16).padStart(4, '0').toUpperCase()}|${creator}`);
  return elements?.has(element & 0xff) ?? false;
}

const GROUP_LENGTH_RULE: ElementRule = { code: 'X', origin: 'groupLength', keyword: 'GroupLength' };

/**
 * Rules of public elements, decided once per (tag, VR) for each profile and run setting rather
 * than once per element of every file (and twice: collecting, then applying): the same tags
 * recur in every file of a run. A public element's rule depends only on its tag and VR, the
 * profile, `unlisted`, whether dates shift and whether it sits in content being cleaned.
 */
const decided = new WeakMap<CompiledProfile, Map<number, { vr: string; rule: ElementRule }>[]>();

function decisionsFor(ctx: DeidentifyContext, scope: Scope): Map<number, { vr: string; rule: ElementRule }> {
  let tables = decided.get(ctx.profile);
  if (!tables) {
    tables = Array.from({ length: 8 }, () => new Map());
    decided.set(ctx.profile, tables);
  }
  return tables[(ctx.unlisted === 'remove' ? 1 : 0) | (ctx.dateOffsetDays !== undefined ? 2 : 0) | (scope.cleaning ? 4 : 0)];
}

/** The rule for one element of `dataset`. */
export function decide(element: DicomElement, dataset: DicomDataset, ctx: DeidentifyContext, scope: Scope): ElementRule {
  const tag = element.tag;
  const group = tag >>> 16;
  if (group % 2 === 1) return ctx.profile.privateRule(isSafePrivate(dataset, tag, ctx));
  const table = decisionsFor(ctx, scope);
  const known = table.get(tag);
  if (known && known.vr === element.vr) return known.rule;
  const rule = decidePublic(tag, element.vr, ctx, scope);
  if (!known) table.set(tag, { vr: element.vr, rule });
  return rule;
}

/** The rule of a public element (even group), from its tag and VR only. */
function decidePublic(tag: number, vr: string, ctx: DeidentifyContext, scope: Scope): ElementRule {
  const group = tag >>> 16;
  if ((tag & 0xffff) === 0) return GROUP_LENGTH_RULE;
  const high = group & 0xff00;
  if (high === 0x6000) {
    // without its data an overlay is invalid: the group goes with (60xx,3000)
    const dataRule = ctx.profile.ruleFor(((group << 16) | 0x3000) >>> 0);
    if (dataRule && dataRule.code === 'X' && dataRule.origin !== 'override') return { ...dataRule, keyword: 'OverlayGroup' };
  }
  let rule = ctx.profile.ruleFor(tag);
  if (rule && rule.origin !== 'override' && (tag === TAG_PATIENT_ID || tag === TAG_PATIENT_NAME) && (rule.code === 'Z' || rule.code === 'D')) {
    rule = { ...rule, code: 'P', origin: 'pseudonym' };
  }
  if (rule) return rule;
  const keyword = lookupTag(tag)?.keyword ?? 'Unknown';
  if (vr === 'PN') return { code: 'Z', origin: 'personName', keyword };
  if (vr === 'UI') return ctx.profile.options.has('retainUIDs') ? { code: 'K', origin: 'unlisted', keyword } : { code: 'U', origin: 'uid', keyword };
  if (ctx.unlisted === 'remove' && FREE_TEXT_VRS.has(vr)) return { code: 'X', origin: 'unlisted', keyword };
  if (scope.cleaning && FREE_TEXT_VRS.has(vr) && vr !== 'DA' && vr !== 'TM' && vr !== 'DT') {
    return { code: 'C', origin: 'structuredContent', keyword };
  }
  if (ctx.dateOffsetDays !== undefined && (vr === 'DA' || vr === 'DT')) return { code: 'C', origin: 'dateShift', keyword };
  return { code: 'K', origin: 'unlisted', keyword };
}

function childScope(rule: ElementRule, scope: Scope): Scope {
  return { cleaning: scope.cleaning || rule.code === 'D' || rule.code === 'C' };
}

/**
 * Identifying values of a data set: names, IDs, dates, UIDs, addresses and institutions
 * that Veil removes or replaces, person names also by component, at least 4 characters.
 * They feed the residual-PHI check of the output and the text cleaner (C).
 */
export function collectIdentifyingValues(
  dataset: DicomDataset,
  ctx: DeidentifyContext,
  into: Map<string, string> = new Map(),
  scope: Scope = { cleaning: false },
): Map<string, string> {
  for (const element of dataset) {
    if (element.verbatim) continue;
    const rule = decide(element, dataset, ctx, scope);
    if (element.items) {
      // a removed or emptied sequence takes its content away: collect it too
      for (const item of element.items) collectIdentifyingValues(item, ctx, into, childScope(rule, scope));
      continue;
    }
    if (!element.value || !isIdentifying(element.vr, rule.keyword)) continue;
    const dateShifted = rule.code === 'C' && (element.vr === 'DA' || element.vr === 'DT');
    if (rule.code === 'K' || (rule.code === 'C' && !dateShifted)) continue;
    if (element.vr === 'UI' && rule.code !== 'U' && rule.code !== 'X' && rule.code !== 'Z' && rule.code !== 'D') continue;
    addValue(into, textValue(element.value), element.vr, rule.keyword);
  }
  return into;
}

/**
 * The identifying pieces of one element's text, per VR (every value, person names also by
 * component): the same institution, names, dates and study UIDs recur in every file of a run.
 * Bounded like the UID memo: cleared when full, and long texts are not kept.
 */
const piecesMemo = new Map<string, Map<string, readonly string[]>>();
let piecesMemoSize = 0;
const MAX_PIECES_MEMO = 20_000;
const MAX_MEMO_TEXT = 256;

function identifyingPieces(text: string, vr: string): readonly string[] {
  let ofVr = piecesMemo.get(vr);
  if (!ofVr) {
    ofVr = new Map();
    piecesMemo.set(vr, ofVr);
  }
  const known = ofVr.get(text);
  if (known) return known;
  const pieces: string[] = [];
  for (const value of text.split('\\')) {
    const trimmed = value.trim();
    if (vr === 'UI' && isStandardUid(trimmed)) continue;
    const parts = vr === 'PN' ? [trimmed, ...trimmed.split(/[\^=]/)] : [trimmed];
    for (const part of parts) {
      const p = part.trim();
      if (p.length >= MIN_IDENTIFYING_LENGTH && !VEIL_WRITTEN.has(p)) pieces.push(p);
    }
  }
  if (text.length > MAX_MEMO_TEXT) return pieces;
  if (piecesMemoSize >= MAX_PIECES_MEMO) {
    for (const memo of piecesMemo.values()) memo.clear();
    piecesMemoSize = 0;
  }
  ofVr.set(text, pieces);
  piecesMemoSize++;
  return pieces;
}

/** value → keyword of the element it came from (the keyword is what reports may name). */
function addValue(into: Map<string, string>, text: string, vr: string, keyword: string): void {
  for (const piece of identifyingPieces(text, vr)) if (!into.has(piece)) into.set(piece, keyword);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** C for text: every identifying value of the file is cut out as a whole word (replaced by "*"), case-insensitively. */
export function cleanText(text: string, identifying: readonly string[]): string {
  let out = text;
  const lower = text.toLowerCase();
  for (const value of identifying) {
    if (!lower.includes(value.toLowerCase())) continue;
    out = out.replace(new RegExp(`(?<![A-Za-z0-9_])${escapeRegExp(value)}(?![A-Za-z0-9_])`, 'gi'), '*');
  }
  return out;
}

function count(counts: ActionCounts, rule: ElementRule): void {
  counts.actions[rule.code] = (counts.actions[rule.code] ?? 0) + 1;
  counts.origins[rule.origin] = (counts.origins[rule.origin] ?? 0) + 1;
}

function remapUidList(text: string, secret: Uint8Array): string {
  // nearly every UID element holds one UID: no arrays (and the same string as split/map/join gives)
  if (!text.includes('\\')) return remapUid(secret, text.trim());
  return text
    .split('\\')
    .map((uid) => remapUid(secret, uid.trim()))
    .join('\\');
}

/**
 * Applies the profile to a data set and returns the new one (the input is not changed).
 * Sequences are walked at any depth; identifying values feed the C (clean) action.
 */
export function deidentifyDataset(
  dataset: DicomDataset,
  ctx: DeidentifyContext,
  identifying: readonly string[],
  counts: ActionCounts,
  scope: Scope = { cleaning: false },
): DicomDataset {
  const out: DicomDataset = [];
  for (const element of dataset) {
    if (element.verbatim) {
      out.push(element);
      continue;
    }
    const rule = decide(element, dataset, ctx, scope);
    if (rule.origin !== 'unlisted' || rule.code !== 'K') count(counts, rule);
    const next = applyRule(element, rule, ctx, identifying, counts, scope);
    if (next) out.push(next);
  }
  return out;
}

function applyRule(
  element: DicomElement,
  rule: ElementRule,
  ctx: DeidentifyContext,
  identifying: readonly string[],
  counts: ActionCounts,
  scope: Scope,
): DicomElement | undefined {
  const { vr } = element;
  if (rule.code === 'X') return undefined;
  if (element.items) {
    if (rule.code === 'Z') return { tag: element.tag, vr: 'SQ', items: [] };
    if (rule.code === 'R' || rule.code === 'P') return undefined; // a sequence has no text value to replace
    const inner = childScope(rule, scope);
    return { tag: element.tag, vr: 'SQ', items: element.items.map((item) => deidentifyDataset(item, ctx, identifying, counts, inner)) };
  }
  const value = element.value ?? new Uint8Array(0);
  const text = (): string => textValue(value);
  switch (rule.code) {
    case 'Z':
      return { tag: element.tag, vr, value: new Uint8Array(0) };
    case 'K':
      return element;
    case 'R':
      return { tag: element.tag, vr, value: encodeText(rule.value ?? '') };
    case 'P': {
      if (value.length === 0) return element;
      const pseudonym =
        element.tag === TAG_PATIENT_ID || element.tag === TAG_PATIENT_NAME
          ? ctx.patientPseudonym
          : valuePseudonym(ctx.secret, rule.keyword, text(), MAX_LENGTH[vr] ?? 16);
      return { tag: element.tag, vr, value: encodeText(pseudonym) };
    }
    case 'U':
      if (vr === 'UI') return { tag: element.tag, vr, value: encodeText(remapUidList(text(), ctx.secret)) };
      return { tag: element.tag, vr, value: dummyBytes(vr, value.length) };
    case 'D':
      if (vr === 'UI') return { tag: element.tag, vr, value: encodeText(remapUidList(text(), ctx.secret)) };
      if (vr === 'UN' && value.length === 0) return element;
      return { tag: element.tag, vr, value: dummyBytes(vr, value.length) };
    case 'C':
      return cleanElement(element, rule, ctx, identifying);
  }
}

function cleanElement(element: DicomElement, rule: ElementRule, ctx: DeidentifyContext, identifying: readonly string[]): DicomElement | undefined {
  const { vr } = element;
  const value = element.value ?? new Uint8Array(0);
  if (vr === 'DA' || vr === 'DT') {
    if (ctx.dateOffsetDays === undefined) return { tag: element.tag, vr, value: new Uint8Array(0) };
    const text = textValue(value);
    if (text === '') return element;
    const shifted = vr === 'DA' ? shiftDa(text, ctx.dateOffsetDays) : shiftDt(text, ctx.dateOffsetDays);
    return { tag: element.tag, vr, value: encodeText(shifted ?? DUMMY_TEXT[vr]) };
  }
  if (vr === 'TM') return element; // dates move by whole days: times stay
  if (vr === 'UI') return { tag: element.tag, vr, value: encodeText(remapUidList(textValue(value), ctx.secret)) };
  if (FREE_TEXT_VRS.has(vr) || vr === 'CS') {
    return { tag: element.tag, vr, value: encodeText(cleanText(textValue(value), identifying)) };
  }
  // overlay bitmaps and curves cannot be cleaned without rendering them: removed
  if (/Overlay|Curve/.test(rule.keyword)) return undefined;
  return element;
}
