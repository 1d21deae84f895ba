import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VEIL_VERSION } from '../src/version.js';
import { repoRoot } from './helpers.js';

describe('version', () => {
  it('matches package.json', () => {
    expect(VEIL_VERSION).toBe(JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version);
  });
});
