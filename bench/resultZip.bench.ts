/**
 * Result zip benchmark (`npx tsx bench/resultZip.bench.ts`, or `npm run bench -- resultZip`).
 * Builds the archives an API job returns with src/api/zip.ts and prints wall and CPU time
 * (user + sys of this process, zlib's threads included), median of 5 rounds:
 * - a DICOM result: 4,000 copies of a 15 KB CT slice (deid-data_ctbrain1.dcm) plus a report;
 * - the 51 files of ../shared/data/dicom (24 MB, 0.5 KB – 13 MB);
 * - 70,000 tiny text files in two segments, concatenated (the ZIP64 case of test/api/zipWriter).
 * Figures only, no assertions.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concatZipSegments, writeZipSegment, zipDirectory, type ZipSource } from '../src/api/zip.js';

const shared = new URL('../../shared/data/dicom/', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'veil-bench-zip-'));
const line = (text: string): void => void process.stdout.write(`${text}\n`);
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function measure(label: string, build: (round: number) => Promise<unknown>): Promise<void> {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let round = 0; round < 5; round++) {
    const before = process.cpuUsage();
    const started = performance.now();
    await build(round);
    wall.push(performance.now() - started);
    const used = process.cpuUsage(before);
    cpu.push((used.user + used.system) / 1000);
  }
  line(`${label}: ${median(wall).toFixed(0)} ms wall, ${median(cpu).toFixed(0)} ms CPU (median of 5)`);
}

try {
  const slices = join(work, 'slices');
  mkdirSync(slices);
  for (let i = 0; i < 4000; i++) copyFileSync(join(shared, 'deid-data_ctbrain1.dcm'), join(slices, `${String(i).padStart(5, '0')}.dcm`));
  writeFileSync(join(slices, 'report.json'), JSON.stringify({ files: Array.from({ length: 4000 }, (_, i) => ({ input: `${i}.dcm`, status: 'ok' })) }));
  await measure('4,000 CT slices + report (zipDirectory)', (round) => zipDirectory(slices, join(work, `slices-${round}.zip`)));
  await measure('../shared/data/dicom, 51 files (zipDirectory)', (round) => zipDirectory(shared, join(work, `dicom-${round}.zip`)));

  const tiny = join(work, 'tiny');
  mkdirSync(tiny);
  for (let i = 0; i < 7; i++) writeFileSync(join(tiny, `${i}.txt`), `content ${i} `.repeat(i + 1));
  const sources = (prefix: string): ZipSource[] => Array.from({ length: 35_000 }, (_, i) => ({ path: join(tiny, `${i % 7}.txt`), name: `${prefix}${i}.txt` }));
  await measure('70,000 tiny files, two segments + concat', async (round) => {
    const a = await writeZipSegment(sources('a/'), join(work, 'a.seg'), join(work, 'a.json'));
    const b = await writeZipSegment(sources('b/'), join(work, 'b.seg'), join(work, 'b.json'));
    await concatZipSegments([{ segment: join(work, 'a.seg'), entries: a.entries }, { segment: join(work, 'b.seg'), entries: b.entries }], join(work, `all-${round}.zip`));
  });
} finally {
  rmSync(work, { recursive: true, force: true });
}
