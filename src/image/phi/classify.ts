import { isSafeLine } from './allowList.js';
import type { HeaderMatcher } from './headerValues.js';
import { isKnownName } from './names.js';
import { matchPhiPattern, type PhiReason } from './patterns.js';

export type TextClass = 'phi' | 'safe' | 'unreadable';

export interface Classification {
  class: TextClass;
  /** Why (never the text itself): a PHI reason, 'allow-list', or 'low-confidence'. */
  reason: PhiReason | 'allow-list' | 'low-confidence';
}

export interface ClassifierOptions {
  /** Below this recognition confidence a line is unreadable (and treated as PHI). */
  minConfidence: number;
  /** A line is only kept as safe when it was read at least this confidently. */
  minSafeConfidence: number;
}

export const DEFAULT_CLASSIFIER_OPTIONS: ClassifierOptions = { minConfidence: 0.5, minSafeConfidence: 0.75 };

/**
 * Classifies one recognized line. Order matters: the file's own header values and PHI
 * patterns win over the allow-list; text that is neither allow-listed nor readable is
 * PHI (fail closed).
 */
export function classifyText(text: string, confidence: number, header: HeaderMatcher | undefined, options: ClassifierOptions = DEFAULT_CLASSIFIER_OPTIONS): Classification {
  const upper = text.toUpperCase().trim();
  if (upper.length === 0 || confidence < options.minConfidence) return { class: 'unreadable', reason: 'low-confidence' };
  if (header?.matches(upper)) return { class: 'phi', reason: 'header' };
  const pattern = matchPhiPattern(upper);
  if (pattern) return { class: 'phi', reason: pattern };
  if (upper.split(/[^A-Z]+/).some((word) => word.length >= 2 && isKnownName(word))) return { class: 'phi', reason: 'name' };
  if (isSafeLine(upper)) {
    return confidence >= options.minSafeConfidence ? { class: 'safe', reason: 'allow-list' } : { class: 'unreadable', reason: 'low-confidence' };
  }
  return { class: 'phi', reason: 'text' };
}
