import { z } from 'zod';
import { describeIssue } from './describe.js';
import type { PrivacySpec, TabularPolicy } from './sections/tabular.js';

/**
 * Job-time overrides of an approved policy's privacy model. A committee approves a policy;
 * a researcher may ask for more protection on one job (a larger k, a smaller t, a smaller
 * suppression limit), never for less.
 */
const lVariant = z.enum(['distinct', 'entropy', 'recursive']);

export const privacyOverridesSchema = z.strictObject({
  k: z.number().int().min(1).optional(),
  l: z
    .union([z.number().min(2), z.strictObject({ variant: lVariant.optional(), l: z.number().min(2), c: z.number().positive().optional() })])
    .optional(),
  t: z.union([z.number().gt(0).max(1), z.strictObject({ t: z.number().gt(0).max(1) })]).optional(),
  suppressionLimit: z.number().min(0).max(1).optional(),
});

export type PrivacyOverrides = z.infer<typeof privacyOverridesSchema>;

/** One reason an override was refused; `field` is a dotted path inside the overrides. */
export interface TightenIssue {
  field: string;
  message: string;
}

export type TightenResult = { success: true; privacy: PrivacySpec } | { success: false; issues: TightenIssue[] };

/**
 * Applies `overrides` (untrusted JSON) to the tabular privacy model of `policy`. Succeeds only
 * when every requested value is at least as strict as the approved one:
 * k and l may only grow, t, c and the suppression limit may only shrink, and an l-diversity
 * variant may only change from distinct to entropy (entropy ℓ-diversity implies distinct).
 * A model the policy lacks (l or t) may be added when the policy names sensitive columns.
 */
export function tightenPrivacy(policy: Pick<TabularPolicy, 'privacy' | 'sensitive'>, overrides: unknown): TightenResult {
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
    return { success: false, issues: [{ field: 'overrides', message: 'expected a mapping of k, l, t, suppressionLimit' }] };
  }
  const parsed = privacyOverridesSchema.safeParse(overrides, { reportInput: true });
  if (!parsed.success) {
    return {
      success: false,
      issues: parsed.error.issues.map((issue) => {
        const path = issue.path.map(String);
        const message = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}; allowed: k, l, t, suppressionLimit` : describeIssue(issue, path);
        return { field: ['overrides', ...path].join('.'), message };
      }),
    };
  }
  const base = policy.privacy;
  const wanted = parsed.data;
  const issues: TightenIssue[] = [];
  const result: PrivacySpec = { ...base };

  if (wanted.k !== undefined) {
    if (wanted.k < base.k) issues.push({ field: 'overrides.k', message: `k may only be raised (the approved policy requires k ≥ ${base.k})` });
    else result.k = wanted.k;
  }

  if (wanted.suppressionLimit !== undefined) {
    if (wanted.suppressionLimit > base.suppressionLimit) {
      issues.push({ field: 'overrides.suppressionLimit', message: `the suppression limit may only be lowered (approved: ${base.suppressionLimit})` });
    } else result.suppressionLimit = wanted.suppressionLimit;
  }

  if (wanted.l !== undefined) {
    const requested = typeof wanted.l === 'number' ? { l: wanted.l } : wanted.l;
    const outcome = tightenL(base.l, requested, policy.sensitive.length > 0);
    if ('issue' in outcome) issues.push(outcome.issue);
    else result.l = outcome.l;
  }

  if (wanted.t !== undefined) {
    const t = typeof wanted.t === 'number' ? wanted.t : wanted.t.t;
    if (policy.sensitive.length === 0) issues.push({ field: 'overrides.t', message: 't-closeness needs sensitive columns, and the policy names none' });
    else if (base.t && t > base.t.t) issues.push({ field: 'overrides.t', message: `t may only be lowered (approved: t ≤ ${base.t.t})` });
    else result.t = { t };
  }

  return issues.length > 0 ? { success: false, issues } : { success: true, privacy: result };
}

type LSpec = NonNullable<PrivacySpec['l']>;

function tightenL(
  base: LSpec | undefined,
  requested: { variant?: LSpec['variant']; l: number; c?: number },
  hasSensitive: boolean,
): { l: LSpec } | { issue: TightenIssue } {
  if (!hasSensitive) return { issue: { field: 'overrides.l', message: 'l-diversity needs sensitive columns, and the policy names none' } };
  if (!base) {
    const variant = requested.variant ?? 'distinct';
    if (variant === 'recursive' && requested.c === undefined) return { issue: { field: 'overrides.l.c', message: 'recursive (c,l)-diversity needs c' } };
    return { l: { variant, l: requested.l, c: requested.c } };
  }
  const variant = requested.variant ?? base.variant;
  const sameOrStronger = variant === base.variant || (base.variant === 'distinct' && variant === 'entropy');
  if (!sameOrStronger) {
    return { issue: { field: 'overrides.l.variant', message: `the l-diversity variant may not change from ${base.variant} to ${variant}` } };
  }
  if (requested.l < base.l) return { issue: { field: 'overrides.l', message: `l may only be raised (approved: l ≥ ${base.l})` } };
  const c = requested.c ?? base.c;
  if (variant === 'recursive' && base.c !== undefined && c !== undefined && c > base.c) {
    return { issue: { field: 'overrides.l.c', message: `c may only be lowered (approved: c ≤ ${base.c})` } };
  }
  return { l: { variant, l: requested.l, c } };
}
