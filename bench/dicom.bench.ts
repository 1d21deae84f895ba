/**
 * DICOM header de-identification throughput: builds ≥ 2,000 CT 512×512 and MR copies with
 * unique UIDs, names and IDs from ../shared/data/dicom in a temp folder, then runs the full
 * Basic Profile (+ Modified Dates) over them with every core, pixels copied as stored.
 * Prints files per second; never asserts. `npx tsx bench/dicom.bench.ts [copies]`
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDicom } from '../src/dicom/codec/read.js';
import { writeDicom } from '../src/dicom/codec/write.js';
import { encodeText } from '../src/dicom/codec/values.js';
import { setElement } from '../src/dicom/marking.js';
import { deidentifyDicomDirectory } from '../src/dicom/index.js';
import { deidentifyBytes, processFile } from '../src/dicom/file.js';
import { parsePolicy, unwrap } from '../src/policy/load.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shared = path.resolve(root, '../shared/data/dicom');
const copies = Number(process.argv[2] ?? 2400);
const sources = ['693_UNCR.dcm', 'CT_small.dcm', 'MR_small.dcm', 'MR-SIEMENS-DICOM-WithOverlays.dcm'];

const work = mkdtempSync(path.join(tmpdir(), 'veil-dicom-bench-'));
const input = path.join(work, 'in');
mkdirSync(input, { recursive: true });
let bytes = 0;
const templates = sources.map((name) => readDicom(readFileSync(path.join(shared, name))));
for (let i = 0; i < copies; i++) {
  const file = templates[i % templates.length];
  const patient = Math.floor(i / 40);
  const dataset = [...file.dataset];
  const text = (tag: number, vr: string, value: string) => setElement(dataset, { tag, vr, value: encodeText(value) });
  text(0x00080018, 'UI', `1.2.826.0.1.3680043.9999.${i + 1}`);
  text(0x0020000d, 'UI', `1.2.826.0.1.3680043.9999.1.${patient + 1}`);
  text(0x0020000e, 'UI', `1.2.826.0.1.3680043.9999.2.${patient + 1}.${i % 4}`);
  text(0x00100010, 'PN', `BENCH${patient}^PATIENT${patient}`);
  text(0x00100020, 'LO', `MRN${100000 + patient}`);
  const meta = file.meta.map((e) => (e.tag === 0x00020003 ? { ...e, value: encodeText(`1.2.826.0.1.3680043.9999.${i + 1}`) } : e));
  const out = Buffer.concat(writeDicom({ ...file, meta, dataset }));
  bytes += out.length;
  writeFileSync(path.join(input, `f${String(i).padStart(6, '0')}.dcm`), out);
}

const policy = unwrap(
  parsePolicy('name: bench\nversion: 1\ndicom: { profile: basic, options: [retainLongitudinalModifiedDates] }\npixels: { burnedInText: { scan: never } }\n', {
    file: 'bench.yaml',
    baseDir: root,
  }),
);
const headerScanPolicy = unwrap(
  parsePolicy('name: bench\nversion: 1\ndicom: { profile: basic, options: [retainLongitudinalModifiedDates], residualScan: header }\npixels: { burnedInText: { scan: never } }\n', {
    file: 'bench.yaml',
    baseDir: root,
  }),
);
const secret = Buffer.from('bench-secret-0123456789abcdef');
const jobs = Number(process.env.VEIL_BENCH_JOBS ?? availableParallelism());

// header-only cost: the whole transform on bytes already in memory, no file I/O, one thread
const inMemoryFiles = Math.min(1200, copies);
const corpusBytes = Array.from({ length: 40 }, (_, i) => readFileSync(path.join(input, `f${String(i).padStart(6, '0')}.dcm`)));
async function inMemory(dicom: NonNullable<typeof policy.dicom>): Promise<number> {
  const m = performance.now();
  for (let i = 0; i < inMemoryFiles; i++) {
    await deidentifyBytes(corpusBytes[i % corpusBytes.length], { inputPath: '', relativePath: 'x.dcm', outputPath: 'x.dcm' }, { dicom, secret, returnOriginalIds: false });
  }
  return inMemoryFiles / ((performance.now() - m) / 1000);
}
const memoryRate = await inMemory(policy.dicom!);
const memoryRateHeader = await inMemory(headerScanPolicy.dicom!);


// one thread, in process: the per-file cost without the pool
const single = Math.min(600, copies);
const t = performance.now();
for (let i = 0; i < single; i++) {
  const name = `f${String(i).padStart(6, '0')}.dcm`;
  await processFile({ inputPath: path.join(input, name), relativePath: name, outputPath: path.join(work, 'single', name) }, { dicom: policy.dicom!, secret, returnOriginalIds: false });
}
const singleRate = single / ((performance.now() - t) / 1000);

async function timed(output: string, runPolicy = policy): Promise<{ seconds: number; ok: number; rejected: number }> {
  const start = performance.now();
  const report = await deidentifyDicomDirectory({ policy: runPolicy, input, output, secret, jobs });
  return { seconds: (performance.now() - start) / 1000, ok: report.totals.ok, rejected: report.totals.rejected };
}
const onDisk = await timed(path.join(work, 'out'));
const onDiskHeader = await timed(path.join(work, 'out-header'), headerScanPolicy);
// the same run writing to memory (tmpfs) separates Veil's own cost from file-creation cost of the disk
const shm = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/veil-dicom-bench-') : undefined;
const inMemoryRun = shm ? await timed(path.join(shm, 'out')) : undefined;
if (shm) rmSync(shm, { recursive: true, force: true });

console.log(`corpus: ${copies} files (CT 512×512, CT 128², MR 64², MR 484² with overlays), ${(bytes / 1e6).toFixed(0)} MB, ${Math.ceil(copies / 40)} patients`);
console.log(`header transform in memory (parse, Basic Profile, encode, residual-PHI scan of every byte; no file I/O), one thread: ${memoryRate.toFixed(0)} files/s`);
console.log(`  same with residualScan: header (pixel data copied unchanged is not searched): ${memoryRateHeader.toFixed(0)} files/s`);
console.log(`one thread, in process, with file I/O: ${singleRate.toFixed(0)} files/s (${single} files)`);
for (const [label, run] of [
  ['output on the temp folder\'s disk', onDisk],
  ['output on the temp folder\'s disk, residualScan: header', onDiskHeader],
  ['output on /dev/shm (tmpfs)', inMemoryRun],
] as const) {
  if (!run) continue;
  console.log(
    `deidentifyDicomDirectory, ${jobs} workers, ${label}: ${(copies / run.seconds).toFixed(0)} files/s, ${(bytes / 1e6 / run.seconds).toFixed(0)} MB/s (${run.ok} ok, ${run.rejected} rejected, wall ${run.seconds.toFixed(2)} s incl. pool start)`,
  );
}
console.log(`peak RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB (main thread process)`);
rmSync(work, { recursive: true, force: true });
