import type { DicomOption } from '../../policy/sections/dicom.js';
import { PROFILE_TABLE } from './table.js';
import type { ProfileAction, ProfileCode, ProfileRow } from './types.js';

/**
 * What happens to one element. Table codes plus Veil's own:
 * P = keyed pseudonym, R = replace with a policy value.
 */
export interface ElementRule {
  code: ProfileAction | 'P' | 'R';
  /** Replacement text for R. */
  value?: string;
  /** Where the rule comes from, for the report: "basic", an option name, "override", "unlisted". */
  origin: string;
  /** Keyword of the table row or override. */
  keyword: string;
}

export interface TagOverride {
  tag: number;
  keyword: string;
  action: 'keep' | 'remove' | 'empty' | 'replace' | 'pseudonymize';
  value?: string;
}

export interface CompiledProfile {
  /** The rule of a listed public tag or pattern, or undefined when the table does not list it. */
  ruleFor(tag: number): ElementRule | undefined;
  /** The rule of a private element (odd group); `safe` when the policy lists it as safe private. */
  privateRule(safe: boolean): ElementRule;
  options: ReadonlySet<DicomOption>;
}

/**
 * Combined codes resolve to the action that keeps the object conformant whatever the
 * attribute's type in its IOD (E.1.1): Veil cannot know every IOD's type, so it never
 * removes what might be Type 1 or 2. X/Z → Z (X for sequences but Acquisition Context), X/D → D, X/Z/D → D, Z/D → D,
 * X/Z/U* → U.
 */
export function resolveCombined(code: ProfileCode, keyword = ''): ProfileAction {
  switch (code) {
    case 'X/Z':
      // an empty Type 3 sequence is invalid, while Acquisition Context is Type 2 where used
      return keyword.endsWith('Sequence') && keyword !== 'AcquisitionContextSequence' ? 'X' : 'Z';
    case 'X/D':
    case 'X/Z/D':
    case 'Z/D':
      return 'D';
    case 'X/Z/U*':
      return 'U';
    default:
      return code;
  }
}

/**
 * The action of one row under a set of options: an option's K (retain) wins over another
 * option's C (clean), which wins over the Basic Profile.
 */
export function rowAction(row: ProfileRow, options: ReadonlySet<DicomOption>): { action: ProfileAction; origin: string } {
  let chosen: { action: ProfileAction; origin: string } = { action: resolveCombined(row[2], row[1]), origin: 'basic' };
  const optionCodes = row[3] ?? {};
  for (const [option, code] of Object.entries(optionCodes) as [DicomOption, ProfileCode][]) {
    if (!options.has(option)) continue;
    const action = resolveCombined(code, row[1]);
    if (chosen.origin === 'basic' || (action === 'K' && chosen.action !== 'K')) chosen = { action, origin: option };
  }
  return chosen;
}

export function compileProfile(options: readonly DicomOption[], overrides: readonly TagOverride[]): CompiledProfile {
  const optionSet = new Set(options);
  const exact = new Map<number, ElementRule>();
  let curves: ElementRule | undefined;
  const overlay = new Map<number, ElementRule>();
  let privateRow: ProfileRow | undefined;
  for (const row of PROFILE_TABLE) {
    const [tagText, keyword] = row;
    const { action, origin } = rowAction(row, optionSet);
    const rule: ElementRule = { code: action, origin, keyword };
    if (tagText === '(gggg,eeee)odd') privateRow = row;
    else if (tagText === '(50XX,XXXX)') curves = rule;
    else if (tagText.startsWith('(60XX,')) overlay.set(parseInt(tagText.slice(6, 10), 16), rule);
    else exact.set(parseInt(tagText.slice(1, 5) + tagText.slice(6, 10), 16) >>> 0, rule);
  }
  const overrideMap = new Map<number, ElementRule>();
  for (const o of overrides) overrideMap.set(o.tag, overrideRule(o));
  const privateBase = privateRow ? rowAction(privateRow, optionSet) : { action: 'X' as const, origin: 'basic' };

  return {
    options: optionSet,
    ruleFor(tag: number): ElementRule | undefined {
      const override = overrideMap.get(tag);
      if (override) return override;
      const direct = exact.get(tag);
      if (direct) return direct;
      const high = (tag >>> 16) & 0xff00;
      if (high === 0x5000) return curves;
      if (high === 0x6000) return overlay.get(tag & 0xffff);
      return undefined;
    },
    privateRule(safe: boolean): ElementRule {
      if (safe && privateBase.action !== 'X') return { code: privateBase.action, origin: privateBase.origin, keyword: 'PrivateAttributes' };
      return { code: 'X', origin: 'basic', keyword: 'PrivateAttributes' };
    },
  };
}

function overrideRule(o: TagOverride): ElementRule {
  const base = { origin: 'override', keyword: o.keyword };
  switch (o.action) {
    case 'keep':
      return { ...base, code: 'K' };
    case 'remove':
      return { ...base, code: 'X' };
    case 'empty':
      return { ...base, code: 'Z' };
    case 'replace':
      return { ...base, code: 'R', value: o.value ?? '' };
    case 'pseudonymize':
      return { ...base, code: 'P' };
  }
}
