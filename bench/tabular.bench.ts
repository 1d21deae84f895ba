/**
 * Tabular benchmarks: Adult at several k with and without l/t, and seeded synthetic tables up
 * to 1,000,000 rows × 8 QIs. Every case runs in its own process so its peak RSS is its own.
 * Prints wall time (cold first run, warm median of the whole call, and warm median of Mondrian
 * partitioning + recoding alone), peak RSS and the utility metrics.
 *   npx tsx bench/tabular.bench.ts            all cases
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { anonymizeTable } from '../src/tabular/anonymize.js';
import { applyScheme } from '../src/tabular/scheme/apply.js';
import { readCsv } from '../src/tabular/csv/read.js';
import { ColumnBuilder, tableFromColumns, type Table } from '../src/tabular/table.js';
import type { TabularPolicy } from '../src/policy/sections/tabular.js';
import type { TabularReport } from '../src/report/tabularReport.js';
import { SeededRandom } from '../src/demo/random.js';

const here = fileURLToPath(import.meta.url);
const adultDir = resolve(here, '../../../shared/data/adult');
const QIS = ['sex', 'age', 'race', 'marital-status', 'education', 'native-country', 'workclass', 'occupation'];

interface Result {
  name: string;
  rows: number;
  coldMs: number;
  warmMs: number | null;
  /** Warm median of Mondrian partitioning + recoding alone (the anonymization itself). */
  warmAnonymizeMs: number | null;
  peakRssMb: number;
  k: number | null;
  ncp: number;
  genILoss: number;
  dm: number;
  cAvg: number;
  classes: number;
}

function adultPolicy(k: number, model: string): TabularPolicy {
  return {
    identifiers: [],
    quasiIdentifiers: QIS.map((q) =>
      q === 'age' ? { column: q, type: 'numeric' as const, minLevel: 0 } : { column: q, type: 'categorical' as const, hierarchy: join(adultDir, `adult_hierarchy_${q}.csv`), minLevel: 0 },
    ),
    sensitive: [{ column: 'salary-class', type: 'categorical' }],
    privacy: {
      k,
      ...(model === 'l2' ? { l: { variant: 'distinct' as const, l: 2 } } : {}),
      ...(model === 't0.2' ? { t: { t: 0.2 } } : {}),
      suppressionLimit: 0.02,
    },
    otherColumns: 'keep',
    missingValues: ['', '?', 'NA'],
  };
}

/**
 * A seeded table shaped like a registry extract: 8 QIs of mixed kinds, 1 sensitive column.
 * With `people`, rows are visits: 1–5 per person (3 on average), sharing the person's
 * attributes except weight, with a `person` column that k then counts (tabular.entity).
 */
function syntheticTable(rows: number, people = false, seed = 42): { table: Table; policy: TabularPolicy } {
  const random = new SeededRandom(seed);
  const names = ['age', 'sex', 'zip', 'education', 'income', 'marital', 'country', 'weight', 'disease', ...(people ? ['person'] : [])];
  const builders = names.map((n) => new ColumnBuilder(n, rows));
  const marital = ['single', 'married', 'divorced', 'widowed', 'separated', 'partner', 'unknown'];
  let person: string[] = [];
  let visitsLeft = 0;
  let id = 0;
  for (let r = 0; r < rows; r++) {
    if (visitsLeft === 0) {
      person = [
        String(Math.min(99, Math.max(0, Math.round(random.normal(45, 18))))),
        random.next() < 0.51 ? 'F' : 'M',
        String(10000 + Math.floor(random.next() ** 2 * 89999)),
        `edu${random.int(1, 16)}`,
        String(Math.round(Math.exp(random.normal(10.5, 0.6)))),
        random.pick(marital),
        `c${Math.floor(random.next() ** 3 * 40)}`,
        String(id++),
      ];
      visitsLeft = people ? random.int(1, 5) : 1;
    }
    visitsLeft--;
    for (let c = 0; c < 7; c++) builders[c].push(person[c]);
    builders[7].push(String(Math.round(random.normal(75, 15) * 10) / 10));
    builders[8].push(`d${random.int(0, 9)}`);
    if (people) builders[9].push(person[7]);
  }
  const table = tableFromColumns(builders.map((b) => b.build()));
  const policy: TabularPolicy = {
    identifiers: [],
    quasiIdentifiers: [
      { column: 'age', type: 'numeric', minLevel: 0 },
      { column: 'sex', type: 'categorical', minLevel: 0 },
      { column: 'zip', type: 'categorical', hierarchy: { masking: { char: '*', from: 'right' } }, minLevel: 0 },
      { column: 'education', type: 'categorical', minLevel: 0 },
      { column: 'income', type: 'numeric', minLevel: 0 },
      { column: 'marital', type: 'categorical', hierarchy: { tree: { '*': { together: ['married', 'partner'], alone: ['single', 'divorced', 'widowed', 'separated'], other: ['unknown'] } } }, minLevel: 0 },
      { column: 'country', type: 'categorical', minLevel: 0 },
      { column: 'weight', type: 'numeric', minLevel: 0 },
    ],
    sensitive: [{ column: 'disease', type: 'categorical' }],
    privacy: { k: 10, suppressionLimit: 0 },
    ...(people ? { entity: 'person' } : {}),
    otherColumns: 'keep',
    missingValues: ['', '?', 'NA'],
  };
  return { table, policy };
}

async function runCase(kind: string, arg1: string, arg2: string): Promise<Result> {
  let table: Table;
  let policy: TabularPolicy;
  let name: string;
  if (kind === 'adult') {
    table = (await readCsv(join(adultDir, 'adult.csv'))).table;
    policy = adultPolicy(Number(arg1), arg2);
    name = `adult k=${arg1}${arg2 === 'none' ? '' : arg2 === 'l2' ? ' l=2' : ' t=0.2'}`;
  } else if (kind === 'scheme') {
    return schemeCase(Number(arg1));
  } else {
    const people = kind === 'people';
    ({ table, policy } = syntheticTable(Number(arg1), people));
    name = `synthetic ${Number(arg1).toLocaleString('en-US')} × 8 QIs, k=10${people ? ' people (1–5 rows each)' : ''}`;
  }
  const times: number[] = [];
  const anonymizeTimes: number[] = [];
  let report = anonymizeTable(table, policy, { baseDir: '.' }).report;
  times.push(report.timingMs.total);
  // small tables: repeat until the JIT has settled, then take the median of the last runs
  const repeats = table.rowCount <= 100_000 ? 12 : 0;
  for (let i = 0; i < repeats; i++) {
    report = anonymizeTable(table, policy, { baseDir: '.' }).report;
    times.push(report.timingMs.total);
    anonymizeTimes.push(report.timingMs.partition + report.timingMs.recode);
  }
  const warm = times.slice(-6).sort((a, b) => a - b);
  const warmAnonymize = anonymizeTimes.slice(-6).sort((a, b) => a - b);
  return {
    name,
    rows: table.rowCount,
    coldMs: times[0],
    warmMs: warm.length > 1 ? warm[Math.floor(warm.length / 2)] : null,
    warmAnonymizeMs: warmAnonymize.length > 0 ? Math.round(warmAnonymize[Math.floor(warmAnonymize.length / 2)] * 10) / 10 : null,
    ...measures(report),
  };
}

/** Peak memory and what the report measured, for a result row. */
function measures(report: TabularReport): Pick<Result, 'peakRssMb' | 'k' | 'ncp' | 'genILoss' | 'dm' | 'cAvg' | 'classes'> {
  return {
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    k: report.privacy.k.achieved,
    ncp: report.utility.ncp,
    genILoss: report.utility.genILoss,
    dm: report.utility.dm,
    cAvg: report.utility.cAvg,
    classes: report.classes.count,
  };
}

/** A second batch of the same study published in the first batch's classes (veil tabular apply). */
function schemeCase(rows: number): Result {
  const first = syntheticTable(rows);
  const policy = { ...first.policy, privacy: { ...first.policy.privacy, suppressionLimit: 1 } };
  const info = { name: 'bench', version: 1, sha256: 'bench' };
  const scheme = anonymizeTable(first.table, policy, { baseDir: '.', keepScheme: true, policyInfo: info }).scheme;
  if (!scheme) throw new Error('no scheme');
  const second = syntheticTable(rows, false, 43).table;
  const started = performance.now();
  const { report, fit } = applyScheme(second, policy, scheme, { baseDir: '.', policyInfo: info });
  return {
    name: `apply a scheme of ${scheme.classes.length.toLocaleString('en-US')} classes to a second batch of ${rows.toLocaleString('en-US')} (suppressed ${((report.suppressed / rows) * 100).toFixed(1)}%: ${fit.unmatched} fit no class)`,
    rows,
    coldMs: Math.round(performance.now() - started),
    warmMs: null,
    warmAnonymizeMs: null,
    ...measures(report),
  };
}

if (process.argv[2] === '--case') {
  const result = await runCase(process.argv[3], process.argv[4], process.argv[5]);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  const cases: string[][] = [];
  for (const k of [2, 5, 10, 50, 100]) for (const model of ['none', 'l2', 't0.2']) cases.push(['adult', String(k), model]);
  for (const n of [125_000, 250_000, 500_000, 1_000_000]) cases.push(['synthetic', String(n), '-']);
  for (const n of [250_000, 1_000_000]) cases.push(['people', String(n), '-']);
  for (const n of [30_000, 100_000]) cases.push(['scheme', String(n), '-']);
  const header = ['case', 'rows', 'cold ms', 'warm ms', 'warm partition+recode ms', 'peak RSS MB', 'k', 'classes', 'NCP', 'GenILoss', 'DM', 'C_AVG'];
  process.stdout.write(`${header.join(' | ')}\n`);
  const synthetic: Result[] = [];
  for (const c of cases) {
    const run = spawnSync(process.execPath, ['--import', 'tsx', here, '--case', ...c], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (run.status !== 0) {
      process.stdout.write(`${c.join(' ')}: failed: ${run.stderr.split('\n')[0]}\n`);
      continue;
    }
    const r = JSON.parse(run.stdout.trim().split('\n').pop() as string) as Result;
    if (c[0] === 'synthetic') synthetic.push(r);
    process.stdout.write(`${[r.name, r.rows, r.coldMs, r.warmMs ?? '-', r.warmAnonymizeMs ?? '-', r.peakRssMb, r.k, r.classes, r.ncp, r.genILoss, r.dm, r.cAvg].join(' | ')}\n`);
  }
  // Growth: time / (n log2 n) should stay about constant if cost grows like n·log n.
  process.stdout.write('\nscaling (synthetic): rows | ms | ms per (n log2 n) × 1e6\n');
  for (const r of synthetic) process.stdout.write(`${r.rows} | ${r.coldMs} | ${((r.coldMs / (r.rows * Math.log2(r.rows))) * 1e6).toFixed(3)}\n`);
}
