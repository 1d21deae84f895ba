import { readFileSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../../../src/policy/load.js';
import { readCsv } from '../../../src/tabular/csv/read.js';
import { partitionPath, planPartitions } from '../../../src/tabular/distributed/index.js';
import { copyRecordsRaw } from '../../../src/tabular/distributed/rawCopy.js';
import { tableToRows } from '../../../src/tabular/table.js';
import { tempDir } from '../../helpers.js';

/**
 * The planner's second pass copies each record's bytes to its partition instead of parsing
 * them: what a partition step then reads must be exactly the rows the reader gives for the
 * input, with the reader's rules (trimmed cells, blank records skipped, CRLF, BOM, no final
 * line end), and a file the copy cannot cut by lines (quotes, lone CR) is parsed instead.
 */
const dir = tempDir('veil-distributed-raw-');

const POLICY = `name: raw-copy
version: 1
tabular:
  quasiIdentifiers:
    - { column: age, type: numeric }
    - { column: sex }
  privacy: { k: 2, suppressionLimit: 0 }
`;

/** 40 rows (ages 20–59, two sexes) with the given line end, plus the odd bytes the reader forgives. */
function table(lineEnd: string, note: (r: number) => string = (r) => `  café ${r}  `): string {
  const lines = ['\uFEFFid , age,sex,note'];
  for (let r = 0; r < 40; r++) {
    lines.push(`${r}, ${20 + r} ,${r % 2 === 0 ? 'F' : 'M'},${note(r)}`);
    if (r % 7 === 0) lines.push(r % 14 === 0 ? ' , ,\t,' : '\u00a0\u3000');
  }
  return lines.join(lineEnd);
}

async function partitionRows(input: string, workDir: string): Promise<string[][]> {
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  const plan = await planPartitions({ input, policy: await loadPolicy(policyFile), maxPartitionRows: 10, workDir });
  expect(plan.partitions.length).toBeGreaterThan(2);
  const partOf = new Uint32Array(new Uint8Array(readFileSync(join(workDir, 'rows.bin'))).buffer);
  const byPartition = await Promise.all(plan.partitions.map(async (p) => tableToRows((await readCsv(partitionPath(workDir, p.index))).table)));
  // back in input order
  const next = new Array<number>(plan.partitions.length).fill(0);
  return Array.from(partOf, (p) => byPartition[p][next[p]++]);
}

function collect(): { sink: Writable; text: () => string } {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      parts.push(chunk);
      done();
    },
  });
  return { sink, text: () => Buffer.concat(parts).toString('utf8') };
}

describe('the planner copies records as bytes', () => {
  const cases = [
    { name: 'LF, trailing line end', text: `${table('\n')}\n`, raw: true },
    { name: 'CRLF, no final line end', text: table('\r\n'), raw: true },
    { name: 'quoted cells (parsed)', text: table('\n', (r) => (r % 5 === 0 ? ` "café,\n""${r}"" " ` : `café ${r}`)), raw: false },
    { name: 'lone CR line ends (parsed)', text: table('\r'), raw: false },
  ];
  for (const c of cases) {
    it(`${c.name}: every partition holds the reader's rows of the input`, async () => {
      const input = join(dir, `${c.name.replace(/\W+/g, '-')}.csv`);
      writeFileSync(input, c.text);
      const expected = tableToRows((await readCsv(input)).table);
      expect(expected.length).toBe(40);
      expect(await partitionRows(input, join(dir, `${c.name.replace(/\W+/g, '-')}-work`))).toEqual(expected);

      const sinks = [collect(), collect()];
      const copied = await copyRecordsRaw(input, ',', Uint32Array.from({ length: 40 }, (_, r) => r % 2), sinks.map((s) => s.sink));
      expect(copied).toBe(c.raw);
      if (c.raw) {
        const lines = sinks[1].text().split('\n');
        expect(lines.length).toBe(21); // 20 records and the final line end
        expect(lines[0]).toMatch(/^1, 21 ,M, {2}café 1 {2}\r?$/);
      }
    });
  }

  it('a record longer than a partition\'s buffer is copied whole, in its place', async () => {
    const input = join(dir, 'long-record.csv');
    const long = 'x'.repeat(300 * 1024);
    writeFileSync(input, table('\n', (r) => (r === 3 ? long : `n${r}`)));
    const sinks = [collect(), collect()];
    expect(await copyRecordsRaw(input, ',', Uint32Array.from({ length: 40 }, (_, r) => r % 2), sinks.map((s) => s.sink))).toBe(true);
    const odd = sinks[1].text().split('\n');
    expect(odd.slice(0, 3)).toEqual(['1, 21 ,M,n1', `3, 23 ,M,${long}`, '5, 25 ,M,n5']);
    expect(odd.length).toBe(21);
  });

  it('a file with more records than the plan counted is parsed instead', async () => {
    const input = join(dir, 'longer.csv');
    writeFileSync(input, table('\n'));
    expect(await copyRecordsRaw(input, ',', new Uint32Array(39), [collect().sink])).toBe(false);
    expect(await copyRecordsRaw(input, ',', new Uint32Array(41), [collect().sink])).toBe(false);
  });
});
