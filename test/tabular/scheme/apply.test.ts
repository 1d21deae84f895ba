import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../../../src/policy/load.js';
import type { TabularPolicy } from '../../../src/policy/sections/tabular.js';
import type { TabularReport } from '../../../src/report/tabularReport.js';
import { anonymizeTable } from '../../../src/tabular/anonymize.js';
import { anonymizeCsvFile, applySchemeToCsvFile } from '../../../src/tabular/file.js';
import { applyScheme } from '../../../src/tabular/scheme/apply.js';
import { parseScheme, type Scheme } from '../../../src/tabular/scheme/scheme.js';
import { tableFromRows, tableToRows } from '../../../src/tabular/table.js';
import { adultDir, sharedData, tempDir } from '../../helpers.js';

const QIS = ['age', 'sex', 'race', 'marital-status', 'education', 'native-country', 'workclass', 'occupation'];
const dir = tempDir('veil-scheme-');

/** Adult split in two batches of the same study: odd and even records. */
function writeBatches(): { first: string; second: string } {
  const [header, ...rows] = readFileSync(join(adultDir, 'adult.csv'), 'utf8').trim().split('\n');
  const first = join(dir, 'batch1.csv');
  const second = join(dir, 'batch2.csv');
  writeFileSync(first, [header, ...rows.filter((_, i) => i % 2 === 0)].join('\n') + '\n');
  writeFileSync(second, [header, ...rows.filter((_, i) => i % 2 === 1)].join('\n') + '\n');
  return { first, second };
}

function policyFile(k: number): string {
  const qis = QIS.map((q) => (q === 'age' ? '    - { column: age, type: numeric }' : `    - { column: ${q}, hierarchy: ${JSON.stringify(join(adultDir, `adult_hierarchy_${q}.csv`))} }`));
  const file = join(dir, `adult-k${k}.yaml`);
  writeFileSync(file, ['name: adult-study', 'version: 1', 'tabular:', '  quasiIdentifiers:', ...qis, '  sensitive:', '    - { column: salary-class }', '  privacy:', `    k: ${k}`, '    suppressionLimit: 0.1', ''].join('\n'));
  return file;
}

/** Every label a value may be published as: the value and its ancestors in ARX's hierarchy. */
function ancestors(column: string): Map<string, Set<string>> {
  const lines = readFileSync(join(adultDir, `adult_hierarchy_${column}.csv`), 'utf8').trim().split('\n');
  return new Map(lines.map((line) => line.split(';')).map((path) => [path[0], new Set([...path, '*'])]));
}

const rowsOf = (file: string) => readFileSync(file, 'utf8').trim().split('\n').slice(1).map((line) => line.split(';'));

describe('re-applying a scheme to the next batch (Adult halves)', () => {
  const { first, second } = writeBatches();
  const header = readFileSync(first, 'utf8').split('\n')[0].split(';');
  const at = (name: string) => header.indexOf(name);

  it('publishes the second batch in the first batch\'s classes, each label true of its record, k met', async () => {
    const k = 20;
    const policy = await loadPolicy(policyFile(k));
    const scheme = join(dir, 'scheme.json');
    const out1 = join(dir, 'out1.csv');
    await anonymizeCsvFile({ policy, input: first, output: out1, schemeOut: scheme });
    const out2 = join(dir, 'out2.csv');
    const report: TabularReport = await applySchemeToCsvFile({ policy, input: second, output: out2, scheme });

    const published = new Set(rowsOf(out1).map((row) => QIS.map((q) => row[at(q)]).join('|')));
    const input = rowsOf(second);
    const output = rowsOf(out2);
    const classes = new Map<string, number>();
    const hierarchies = new Map(QIS.filter((q) => q !== 'age').map((q) => [q, ancestors(q)]));
    let suppressed = 0;
    output.forEach((row, r) => {
      const tuple = QIS.map((q) => row[at(q)]);
      if (tuple.every((cell) => cell === '*')) {
        suppressed++;
        return;
      }
      expect(published.has(tuple.join('|'))).toBe(true);
      classes.set(tuple.join('|'), (classes.get(tuple.join('|')) ?? 0) + 1);
      const age = Number(input[r][at('age')]);
      const label = row[at('age')];
      const [lo, hi] = label.startsWith('[') ? label.slice(1, -1).split('-').map(Number) : [Number(label), Number(label)];
      expect(age >= lo && age <= hi).toBe(true);
      for (const [q, tree] of hierarchies) expect(tree.get(input[r][at(q)])?.has(row[at(q)])).toBe(true);
      expect(row[at('salary-class')]).toBe(input[r][at('salary-class')]);
    });
    expect(Math.min(...classes.values())).toBeGreaterThanOrEqual(k);
    expect(suppressed).toBe(report.suppressed);
    expect(suppressed).toBeLessThanOrEqual(Math.floor(0.1 * input.length));
    const fit = report.scheme;
    expect(fit).toBeDefined();
    expect((fit?.unmatched ?? 0) + (fit?.inFailingClasses ?? 0) + (fit?.splitPeople ?? 0)).toBe(suppressed);
    expect(fit?.used).toBe(classes.size);
    expect(report.privacy.k.achieved).toBe(Math.min(...classes.values()));

    // the independent evaluator agrees
    const run = spawnSync('python3', [join(sharedData, '../tools/anoneval.py'), '--original', second, '--anonymized', out2, '--qi', QIS.join(','), '--numeric', 'age', '--k', String(k)], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const measured = JSON.parse(run.stdout) as { k: number; suppressed: number };
    expect(measured.k).toBeGreaterThanOrEqual(k);
    expect(measured.suppressed).toBe(suppressed);
  });

  it('re-applied to the batch that made it, a scheme gives exactly the same output', async () => {
    const policy = await loadPolicy(policyFile(5));
    const scheme = join(dir, 'scheme5.json');
    const out = join(dir, 'again1.csv');
    await anonymizeCsvFile({ policy, input: first, output: out, schemeOut: scheme });
    const again = join(dir, 'again2.csv');
    const report = await applySchemeToCsvFile({ policy, input: first, output: again, scheme });
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(out, 'utf8'));
    expect(report.scheme).toMatchObject({ unmatched: 0, inFailingClasses: 0, used: report.classes.count });
  });

  it('refuses a scheme made under another policy, and a file that is not a scheme', async () => {
    const scheme = join(dir, 'scheme5.json');
    const other = await loadPolicy(policyFile(10));
    await expect(applySchemeToCsvFile({ policy: other, input: second, output: join(dir, 'x.csv'), scheme })).rejects.toThrow(/the scheme was made under policy "adult-study" version 1 .*not this policy/);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"kind": "something else"}');
    await expect(applySchemeToCsvFile({ policy: other, input: second, output: join(dir, 'x.csv'), scheme: broken })).rejects.toThrow(expect.objectContaining({ code: 'SCHEME_INVALID', location: expect.objectContaining({ file: broken }) }));
    writeFileSync(broken, 'not json');
    await expect(parseScheme('not json', broken)).rejects.toThrow(/not a JSON file/);
  });
});

describe('applyScheme on small tables', () => {
  const base: TabularPolicy = {
    identifiers: [],
    quasiIdentifiers: [{ column: 'age', type: 'numeric', minLevel: 0 }],
    sensitive: [],
    privacy: { k: 2, suppressionLimit: 0.5 },
    otherColumns: 'keep',
    missingValues: ['', '?', 'NA'],
  };
  const info = { name: 'p', version: 1, sha256: 'abc' };
  const schemeOf = (rows: string[][], policy: TabularPolicy): Scheme => {
    const scheme = anonymizeTable(tableFromRows(['id', 'age'], rows), policy, { baseDir: '.', keepScheme: true, policyInfo: info }).scheme;
    if (!scheme) throw new Error('no scheme');
    return scheme;
  };

  it('suppresses values no class covers and classes the batch leaves under k, and fails past the limit', () => {
    const scheme = schemeOf([['a', '20'], ['b', '21'], ['c', '40'], ['d', '41']], base);
    expect(scheme.classes.map((c) => c.labels[0])).toEqual(['[20-21]', '[40-41]']);
    const batch = tableFromRows(['id', 'age'], [['e', '20'], ['f', '21'], ['g', '30'], ['h', '41']]);
    const { output, fit } = applyScheme(batch, base, scheme, { baseDir: '.', policyInfo: info });
    // 30 is in no class; 41 is alone in its class
    expect(tableToRows(output).map((row) => row[1])).toEqual(['[20-21]', '[20-21]', '*', '*']);
    expect(fit).toMatchObject({ unmatched: 1, inFailingClasses: 1, used: 1 });
    expect(() => applyScheme(batch, { ...base, privacy: { k: 2, suppressionLimit: 0.25 } }, scheme, { baseDir: '.' })).toThrow(/would suppress 2 of 4 records \(1 outside every class, 1 in classes this batch leaves under the policy\)/);
  });

  it('one person, one class: a person whose visits fit two classes is suppressed whole', () => {
    const policy: TabularPolicy = { ...base, entity: 'id', identifiers: [{ column: 'id', action: 'remove', keep: 0, optional: false }] };
    const scheme = schemeOf([['a', '20'], ['b', '21'], ['c', '40'], ['d', '41']], policy);
    const batch = tableFromRows(['id', 'age'], [['p', '20'], ['q', '21'], ['r', '40'], ['s', '41'], ['t', '21'], ['t', '40']]);
    const { output, fit } = applyScheme(batch, policy, scheme, { baseDir: '.', policyInfo: info });
    expect(tableToRows(output).map((row) => row[1])).toEqual(['[20-21]', '[20-21]', '[40-41]', '[40-41]', '*', '*']);
    expect(fit.splitPeople).toBe(2);
  });

  it('a hierarchy split with a remainder class, re-applied to itself, is published as it was', () => {
    // zip masking: 0213* splits into 02139 (6 rows) and the rest (02130, 02131: a remainder labelled 0213*)
    const policy: TabularPolicy = {
      ...base,
      quasiIdentifiers: [{ column: 'zip', type: 'categorical', hierarchy: { masking: { char: '*', from: 'right' } }, minLevel: 0 }],
      privacy: { k: 3, suppressionLimit: 0 },
    };
    const rows = [...Array.from({ length: 6 }, (_, i) => [`a${i}`, '02139']), ['b', '02130'], ['c', '02131'], ['d', '02130']];
    const table = tableFromRows(['id', 'zip'], rows);
    const first = anonymizeTable(table, policy, { baseDir: '.', keepScheme: true, policyInfo: info });
    const labels = tableToRows(first.output).map((row) => row[1]);
    expect(new Set(labels)).toEqual(new Set(['02139', '0213*']));
    const scheme = first.scheme as Scheme;
    const again = applyScheme(table, policy, scheme, { baseDir: '.', policyInfo: info });
    expect(tableToRows(again.output)).toEqual(tableToRows(first.output));
  });

  it('with people: a batch re-applied to itself is unchanged; a new batch keeps each person in one class of k people', () => {
    const policy: TabularPolicy = {
      ...base,
      entity: 'id',
      identifiers: [{ column: 'id', action: 'remove', keep: 0, optional: false }],
      quasiIdentifiers: [
        { column: 'age', type: 'numeric', minLevel: 0 },
        { column: 'zip', type: 'categorical', hierarchy: { masking: { char: '*', from: 'right' } }, minLevel: 0 },
      ],
      privacy: { k: 4, suppressionLimit: 0.6 },
    };
    // visits: a person's age moves by a year between some visits
    const visits = (seed: number, prefix: string): string[][] => {
      let state = seed;
      const next = (m: number) => {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        return (state >>> 8) % m;
      };
      const rows: string[][] = [];
      for (let p = 0; p < 200; p++) {
        const age = 20 + next(50);
        const zip = `021${30 + next(20)}`;
        for (let v = 0; v <= next(3); v++) rows.push([`${prefix}${p}`, String(age + (v === 2 ? 1 : 0)), zip]);
      }
      return rows;
    };
    const firstRows = visits(5, 'a');
    const table = tableFromRows(['id', 'age', 'zip'], firstRows);
    const first = anonymizeTable(table, policy, { baseDir: '.', keepScheme: true, policyInfo: info });
    const scheme = first.scheme as Scheme;
    const again = applyScheme(table, policy, scheme, { baseDir: '.', policyInfo: info });
    expect(tableToRows(again.output)).toEqual(tableToRows(first.output));
    expect(again.fit).toMatchObject({ unmatched: 0, inFailingClasses: 0, splitPeople: 0 });

    const nextRows = visits(6, 'b');
    const next = applyScheme(tableFromRows(['id', 'age', 'zip'], nextRows), policy, scheme, { baseDir: '.', policyInfo: info });
    const out = tableToRows(next.output);
    const people = new Map<string, Set<string>>();
    const classesOf = new Map<string, Set<string>>();
    nextRows.forEach(([person], r) => {
      const key = out[r].slice(1).join('|');
      if (key === '*|*') return;
      people.set(key, (people.get(key) ?? new Set()).add(person));
      classesOf.set(person, (classesOf.get(person) ?? new Set()).add(key));
    });
    expect(people.size).toBeGreaterThan(0);
    expect(Math.min(...[...people.values()].map((set) => set.size))).toBeGreaterThanOrEqual(4);
    expect([...classesOf.values()].every((set) => set.size === 1)).toBe(true);
    expect(next.report.privacy.k).toMatchObject({ countedIn: 'people' });
  });
});
