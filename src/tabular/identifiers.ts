import { randomBytes } from 'node:crypto';
import type { IdentifierSpec } from '../policy/sections/tabular.js';
import { keyedDigest } from '../secret/key.js';
import type { Column } from './table.js';

/**
 * Direct identifiers are never generalized, only replaced:
 * - remove: every cell emptied (the column stays, so the output keeps the input's columns);
 * - pseudonymize: `P` + 16 hex digits of HMAC-SHA256(key, column, value) — the same value gives the
 *   same pseudonym in every run with the same key, and cannot be reversed without it;
 * - randomize: `R` + 16 random hex digits per distinct value — the same within one run, new in
 *   every run, so exports cannot be linked to each other; only a mapping file leads back;
 * - mask: every character but the last `keep` replaced by `*`.
 * Missing values (per the policy) stay as they are.
 */
export function replaceIdentifier(column: Column, spec: IdentifierSpec, missing: ReadonlySet<string>, key: Uint8Array | undefined): Column {
  const random = spec.action === 'randomize' ? randomPseudonyms() : undefined;
  const dictionary = column.dictionary.map((value) => {
    if (missing.has(value)) return value;
    switch (spec.action) {
      case 'remove':
        return '';
      case 'mask':
        return '*'.repeat(Math.max(0, value.length - spec.keep)) + value.slice(Math.max(0, value.length - spec.keep));
      case 'pseudonymize':
        if (!key) throw new Error('pseudonymize needs a key');
        return pseudonym(key, column.name, value);
      case 'randomize':
        return (random as () => string)();
    }
  });
  return { name: column.name, codes: column.codes, dictionary };
}

export function pseudonym(key: Uint8Array, columnName: string, value: string): string {
  return `P${keyedDigest(key, `veil/tabular/${columnName}`, value).subarray(0, 8).toString('hex').toUpperCase()}`;
}

/** Distinct random pseudonyms: 64 bits each, redrawn on the (unlikely) repeat. */
function randomPseudonyms(): () => string {
  const used = new Set<string>();
  return () => {
    for (;;) {
      const candidate = `R${randomBytes(8).toString('hex').toUpperCase()}`;
      if (used.has(candidate)) continue;
      used.add(candidate);
      return candidate;
    }
  };
}
