import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isVeilError } from '../../../src/errors.js';
import { readArxHierarchy } from '../../../src/tabular/hierarchy/arx.js';
import { lowestCoveringNode, type Hierarchy } from '../../../src/tabular/hierarchy/hierarchy.js';
import { adultDir, tempDir } from '../../helpers.js';

const dir = tempDir();

/** Every node's leaf range is exactly the leaves below it. */
function checkRanges(h: Hierarchy) {
  for (let node = 0; node < h.labels.length; node++) {
    for (let leaf = h.leafStart[node]; leaf < h.leafEnd[node]; leaf++) {
      let up = h.leafNodes[leaf];
      while (up !== node && up >= 0) up = h.parent[up];
      expect(up).toBe(node);
    }
  }
}

describe('ARX hierarchies', () => {
  const files = readdirSync(adultDir).filter((f) => f.startsWith('adult_hierarchy_'));

  it('reads every Adult hierarchy file unchanged', () => {
    expect(files).toHaveLength(9);
    for (const f of files) {
      const h = readArxHierarchy(join(adultDir, f));
      expect(h.labels[h.root]).toBe('*');
      checkRanges(h);
    }
  });

  it('builds the tree the file describes', () => {
    const age = readArxHierarchy(join(adultDir, 'adult_hierarchy_age.csv'));
    expect(age.leafCount).toBe(100);
    expect(age.height).toBe(4);
    const workclass = readArxHierarchy(join(adultDir, 'adult_hierarchy_workclass.csv'));
    expect(workclass.leafCount).toBe(8);
    // The lowest node covering two leaves that share a parent is that parent.
    const a = workclass.leafIndex.get('Private') as number;
    const b = workclass.leafIndex.get('Self-emp-not-inc') as number;
    const node = lowestCoveringNode(workclass, Math.min(a, b), Math.max(a, b));
    expect(workclass.labels[node]).toBe('Non-Government');
    const country = readArxHierarchy(join(adultDir, 'adult_hierarchy_native-country.csv'));
    expect(country.leafCount).toBe(41);
  });

  it('accepts comma delimiters, quotes and CRLF', () => {
    const path = join(dir, 'h.csv');
    writeFileSync(path, '"a, b",x,*\r\nc,x,*\r\nd,y,*\r\n');
    const h = readArxHierarchy(path);
    expect([...h.leafIndex.keys()].sort()).toEqual(['a, b', 'c', 'd']);
  });

  it('rejects a duplicate value, naming both lines but not the value', () => {
    const path = join(dir, 'dup.csv');
    writeFileSync(path, 'secret-value;g;*\nother;g;*\nsecret-value;g;*\n');
    try {
      readArxHierarchy(path);
      throw new Error('expected an error');
    } catch (error) {
      if (!isVeilError(error)) throw error;
      expect(error.code).toBe('HIERARCHY_INVALID');
      expect(error.location.line).toBe(3);
      expect(error.message).toContain('line 1');
      expect(error.toLine()).not.toContain('secret-value');
    }
  });

  it('rejects rows of different depth and non-tree generalizations', () => {
    const ragged = join(dir, 'ragged.csv');
    writeFileSync(ragged, 'a;g;*\nb;*\n');
    expect(() => readArxHierarchy(ragged)).toThrow(/levels/);
    const notTree = join(dir, 'nottree.csv');
    writeFileSync(notTree, 'a;g;h1;*\nb;g;h2;*\n');
    expect(() => readArxHierarchy(notTree)).toThrow(/not a tree/);
  });
});
