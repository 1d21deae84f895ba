import { describe, expect, it } from 'vitest';
import { tightenPrivacy } from '../../src/policy/tighten.js';
import type { PrivacySpec } from '../../src/policy/sections/tabular.js';

const sensitive = [{ column: 'diagnosis', type: 'categorical' as const }];
const base = (privacy: Partial<PrivacySpec>) => ({ privacy: { k: 5, suppressionLimit: 0.02, ...privacy }, sensitive });

describe('tightenPrivacy', () => {
  it('accepts no overrides and keeps the approved model', () => {
    const result = tightenPrivacy(base({}), {});
    expect(result).toEqual({ success: true, privacy: { k: 5, suppressionLimit: 0.02 } });
  });

  it('raises k and lowers the suppression limit', () => {
    const result = tightenPrivacy(base({}), { k: 10, suppressionLimit: 0 });
    expect(result.success && result.privacy).toEqual({ k: 10, suppressionLimit: 0 });
  });

  it('refuses a smaller k or a larger suppression limit, naming the field', () => {
    const result = tightenPrivacy(base({}), { k: 4, suppressionLimit: 0.1 });
    expect(result.success).toBe(false);
    if (!result.success) expect(result.issues.map((i) => i.field)).toEqual(['overrides.k', 'overrides.suppressionLimit']);
  });

  it('l may grow, may not shrink, and distinct may become entropy but not the reverse', () => {
    const withL = base({ l: { variant: 'distinct', l: 2 } });
    expect(tightenPrivacy(withL, { l: 3 })).toMatchObject({ success: true, privacy: { l: { variant: 'distinct', l: 3 } } });
    expect(tightenPrivacy(withL, { l: { variant: 'entropy', l: 2 } })).toMatchObject({ success: true, privacy: { l: { variant: 'entropy', l: 2 } } });
    expect(tightenPrivacy(withL, { l: 2.5 }).success).toBe(true);
    const lower = tightenPrivacy(base({ l: { variant: 'distinct', l: 3 } }), { l: 2 });
    expect(lower.success).toBe(false);
    const fromEntropy = tightenPrivacy(base({ l: { variant: 'entropy', l: 2 } }), { l: { variant: 'distinct', l: 2 } });
    expect(fromEntropy.success === false && fromEntropy.issues[0].field).toBe('overrides.l.variant');
  });

  it('recursive (c,l): c may only shrink', () => {
    const withC = base({ l: { variant: 'recursive', l: 2, c: 3 } });
    expect(tightenPrivacy(withC, { l: { l: 2, c: 2 } }).success).toBe(true);
    const looser = tightenPrivacy(withC, { l: { l: 2, c: 4 } });
    expect(looser.success === false && looser.issues[0].field).toBe('overrides.l.c');
  });

  it('t may only shrink; l or t may be added when the policy has sensitive columns', () => {
    const withT = base({ t: { t: 0.3 } });
    expect(tightenPrivacy(withT, { t: 0.2 })).toMatchObject({ success: true, privacy: { t: { t: 0.2 } } });
    expect(tightenPrivacy(withT, { t: { t: 0.4 } }).success).toBe(false);
    expect(tightenPrivacy(base({}), { t: 0.5 })).toMatchObject({ success: true, privacy: { t: { t: 0.5 } } });
    expect(tightenPrivacy(base({}), { l: 2 })).toMatchObject({ success: true, privacy: { l: { variant: 'distinct', l: 2 } } });
    const noSensitive = tightenPrivacy({ privacy: { k: 5, suppressionLimit: 0 }, sensitive: [] }, { t: 0.5, l: 2 });
    expect(noSensitive.success === false && noSensitive.issues.map((i) => i.field).sort()).toEqual(['overrides.l', 'overrides.t']);
  });

  it('refuses unknown fields and values of the wrong type', () => {
    const unknown = tightenPrivacy(base({}), { k: 6, epsilon: 1 });
    expect(unknown.success).toBe(false);
    const wrong = tightenPrivacy(base({}), { k: 'ten' });
    expect(wrong.success === false && wrong.issues[0].field).toBe('overrides.k');
    expect(tightenPrivacy(base({}), null).success).toBe(false);
    expect(tightenPrivacy(base({}), [5]).success).toBe(false);
  });
});
