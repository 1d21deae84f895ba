/**
 * CSV reading benchmarks (issue 13, items 3 and 8). Each case runs in its own process so its
 * peak RSS is its own:
 * - one cell of 4 MB against an ordinary CSV of the same size (many short cells): reading must
 *   be linear in the bytes, so the ratio stays near or under 1 (fast-csv: 22×, 6.8 s);
 * - a wide table, 100,000 columns × 20 rows (4.7 MB), read and anonymized with every column
 *   kept: time and peak RSS must follow the bytes (before: 9.7 s and 2.0 GB here).
 *   npx tsx bench/csv.bench.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPolicy } from '../src/policy/load.js';
import { readCsv } from '../src/tabular/csv/read.js';
import { anonymizeCsvFile } from '../src/tabular/file.js';

const here = fileURLToPath(import.meta.url);
const MB = 1024 * 1024;

interface CaseResult {
  name: string;
  bytes: number;
  /** Median of the warm runs (the first run is left out). */
  ms: number;
  peakRssMb: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function writeCase(dir: string, name: string): string {
  const file = join(dir, `${name}.csv`);
  if (name === 'one-cell-4mb') {
    // a quoted note with escaped quotes and line breaks, as a free-text export would hold
    const cell = 'said ""no"", then\nleft; '.repeat(Math.ceil((4 * MB) / 23)).slice(0, 4 * MB - 40);
    writeFileSync(file, `id,note\n1,"${cell}"\n2,short\n`);
  } else if (name === 'ordinary-4mb') {
    const rows = ['id,age,zip,note'];
    let size = 0;
    for (let i = 0; size < 4 * MB; i++) {
      const row = `${i},${20 + (i % 60)},${10000 + (i % 900)},"text ${i % 50}"`;
      rows.push(row);
      size += row.length + 1;
    }
    writeFileSync(file, `${rows.join('\n')}\n`);
  } else {
    const columns = 100_000;
    const lines = [Array.from({ length: columns }, (_, c) => `c${c}`).join(',')];
    for (let r = 0; r < 20; r++) lines.push(Array.from({ length: columns }, (_, c) => String((c + r) % 10)).join(','));
    writeFileSync(file, `${lines.join('\n')}\n`);
  }
  return file;
}

async function runCase(name: string, dir: string): Promise<CaseResult> {
  const file = writeCase(dir, name);
  const bytes = (await import('node:fs')).statSync(file).size;
  const times: number[] = [];
  if (name === 'wide-100000x20') {
    const policyFile = join(dir, 'wide.yaml');
    writeFileSync(policyFile, 'name: wide\nversion: 1\ntabular:\n  quasiIdentifiers:\n    - { column: c0, type: numeric }\n    - { column: c1, type: numeric }\n  privacy:\n    k: 2\n');
    const policy = await loadPolicy(policyFile);
    // one run: the peak RSS of a single anonymization is the figure that matters
    const started = performance.now();
    await anonymizeCsvFile({ policy, input: file, output: join(dir, 'wide.out.csv'), reportJson: join(dir, 'wide.json') });
    times.push(performance.now() - started);
  } else {
    for (let run = 0; run < 6; run++) {
      const started = performance.now();
      await readCsv(file, { maxCellBytes: 8 * MB });
      times.push(performance.now() - started);
    }
    times.shift();
  }
  return { name, bytes, ms: Math.round(median(times)), peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) };
}

if (process.argv[2] === '--case') {
  const dir = mkdtempSync(join(tmpdir(), 'veil-csv-bench-'));
  try {
    process.stdout.write(`${JSON.stringify(await runCase(process.argv[3], dir))}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  const results = new Map<string, CaseResult>();
  process.stdout.write('case | bytes | ms | peak RSS MB\n');
  for (const name of ['ordinary-4mb', 'one-cell-4mb', 'wide-100000x20']) {
    const run = spawnSync(process.execPath, ['--import', 'tsx', here, '--case', name], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (run.status !== 0) {
      process.stderr.write(run.stderr);
      process.exitCode = 1;
      continue;
    }
    const r = JSON.parse(run.stdout.trim().split('\n').pop() as string) as CaseResult;
    results.set(name, r);
    process.stdout.write(`${[r.name, r.bytes, r.ms, r.peakRssMb].join(' | ')}\n`);
  }
  const cell = results.get('one-cell-4mb');
  const ordinary = results.get('ordinary-4mb');
  if (cell && ordinary) process.stdout.write(`one 4 MB cell / ordinary 4 MB CSV: ${(cell.ms / ordinary.ms).toFixed(2)}× (must stay ≤ 2×)\n`);
}
