/**
 * The researcher's form may only tighten an approved policy's privacy model, by the same rules
 * as the server (src/policy/tighten.ts, docs/api.md "only tighten"): k and l may grow, t, c and
 * the suppression limit may shrink, the l variant may go from distinct to entropy only, and l or
 * t may be added when the policy names sensitive columns. The page refuses a loosening before
 * sending; the server checks again.
 */
export type LVariant = 'distinct' | 'entropy' | 'recursive';

export interface ApprovedPrivacy {
  k: number;
  l?: { variant: LVariant; l: number; c?: number };
  t?: number;
  suppressionLimit: number;
  hasSensitive: boolean;
}

/** The form's values; an empty field is undefined (keep the approved value). */
export interface TightenForm {
  k?: number;
  l?: number;
  lVariant?: LVariant;
  t?: number;
  suppressionLimit?: number;
}

export interface Overrides {
  k?: number;
  l?: { variant: LVariant; l: number; c?: number };
  t?: number;
  suppressionLimit?: number;
}

export interface FormIssue {
  /** The override's field, as the server names it (`overrides.k`). */
  field: string;
  message: string;
}

export type TightenOutcome = { ok: true; overrides: Overrides } | { ok: false; issues: FormIssue[] };

export function tightenOverrides(base: ApprovedPrivacy, form: TightenForm): TightenOutcome {
  const issues: FormIssue[] = [];
  const overrides: Overrides = {};

  if (form.k !== undefined) {
    if (!Number.isInteger(form.k) || form.k < 1) issues.push({ field: 'overrides.k', message: 'k must be a whole number of at least 1' });
    else if (form.k < base.k) issues.push({ field: 'overrides.k', message: `k may only be raised (the approved policy requires k ≥ ${base.k})` });
    else if (form.k !== base.k) overrides.k = form.k;
  }

  if (form.suppressionLimit !== undefined) {
    if (!(form.suppressionLimit >= 0 && form.suppressionLimit <= 1)) {
      issues.push({ field: 'overrides.suppressionLimit', message: 'the suppression limit is a share between 0 and 1' });
    } else if (form.suppressionLimit > base.suppressionLimit) {
      issues.push({ field: 'overrides.suppressionLimit', message: `the suppression limit may only be lowered (approved: ${base.suppressionLimit})` });
    } else if (form.suppressionLimit !== base.suppressionLimit) overrides.suppressionLimit = form.suppressionLimit;
  }

  if (form.l !== undefined || (form.lVariant !== undefined && form.lVariant !== base.l?.variant)) {
    const wanted = form.l ?? base.l?.l;
    const variant = form.lVariant ?? base.l?.variant ?? 'distinct';
    if (!base.hasSensitive) issues.push({ field: 'overrides.l', message: 'l-diversity needs sensitive columns, and the policy names none' });
    else if (wanted === undefined || !(wanted >= 2)) issues.push({ field: 'overrides.l', message: 'l must be at least 2' });
    else if (base.l && !(variant === base.l.variant || (base.l.variant === 'distinct' && variant === 'entropy'))) {
      issues.push({ field: 'overrides.l.variant', message: `the l-diversity variant may not change from ${base.l.variant} to ${variant}` });
    } else if (base.l && wanted < base.l.l) issues.push({ field: 'overrides.l', message: `l may only be raised (approved: l ≥ ${base.l.l})` });
    else if (!base.l && variant === 'recursive') issues.push({ field: 'overrides.l.c', message: 'recursive (c,l)-diversity needs c' });
    else if (!base.l || wanted !== base.l.l || variant !== base.l.variant) {
      overrides.l = base.l?.c !== undefined ? { variant, l: wanted, c: base.l.c } : { variant, l: wanted };
    }
  }

  if (form.t !== undefined) {
    if (!(form.t > 0 && form.t <= 1)) issues.push({ field: 'overrides.t', message: 't is a distance above 0 and at most 1' });
    else if (!base.hasSensitive) issues.push({ field: 'overrides.t', message: 't-closeness needs sensitive columns, and the policy names none' });
    else if (base.t !== undefined && form.t > base.t) issues.push({ field: 'overrides.t', message: `t may only be lowered (approved: t ≤ ${base.t})` });
    else if (form.t !== base.t) overrides.t = form.t;
  }

  return issues.length > 0 ? { ok: false, issues } : { ok: true, overrides };
}

/** Reads the approved privacy model out of a parsed policy document (defaults as the schema's). */
export function approvedPrivacy(policy: unknown): ApprovedPrivacy | undefined {
  const tabular = field(policy, 'tabular');
  const privacy = field(tabular, 'privacy');
  const k = field(privacy, 'k');
  if (typeof k !== 'number') return undefined;
  const l = field(privacy, 'l');
  const lValue = field(l, 'l');
  const variant = field(l, 'variant');
  const c = field(l, 'c');
  const t = field(field(privacy, 't'), 't');
  const suppression = field(privacy, 'suppressionLimit');
  const sensitive = field(tabular, 'sensitive');
  return {
    k,
    l: typeof lValue === 'number' ? { variant: isVariant(variant) ? variant : 'distinct', l: lValue, ...(typeof c === 'number' ? { c } : {}) } : undefined,
    t: typeof t === 'number' ? t : undefined,
    suppressionLimit: typeof suppression === 'number' ? suppression : 0,
    hasSensitive: Array.isArray(sensitive) && sensitive.length > 0,
  };
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
}

function isVariant(value: unknown): value is LVariant {
  return value === 'distinct' || value === 'entropy' || value === 'recursive';
}
