/**
 * Veil on the network, two figures (never asserts):
 *
 * 1. `veil dicom listen` throughput: N copies (default 600) of a 512×512 16-bit CT slice
 *    (693_UNCR.dcm, 513 KB) with their own SOP instance UIDs, in studies of 100 slices, pushed by
 *    A parallel dcmtk `storescu` processes (one association each, default 4) to an in-process
 *    listener (Basic Profile, `--study-idle 1`, 2 workers) that forwards them to a dcmtk
 *    `storescp --ignore` on loopback. The peers are separate processes, as a PACS and an archive
 *    are: only Veil's work is in this process. Prints instances/s acknowledged (each fsynced to
 *    the spool before its answer) and instances/s from the first C-STORE to the last forwarded.
 *    Beside it, in the same run and on the same files: dcmtk alone (the same storescu processes
 *    straight into a storescp --ignore), the ceiling of this machine for the transfer itself;
 *    and the CPU time of this process (Veil's main thread and its workers) and the load average.
 * 2. `veil dicom pull` from a local Orthanc (DICOMweb plugin): S studies (default 10) of 20
 *    slices each loaded into a source Orthanc, pulled by QIDO-RS + WADO-RS, de-identified and
 *    stored by STOW-RS into a second Orthanc; prints studies/s and instances/s.
 *
 * `npx tsx bench/net.bench.ts [copies] [associations] [studies]`; `NET_BENCH=listen|pull` runs one.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDicom } from '../src/dicom/codec/read.js';
import { writeDicom } from '../src/dicom/codec/write.js';
import { encodeText } from '../src/dicom/codec/values.js';
import { setElement } from '../src/dicom/marking.js';
import { DEFAULT_BATCH_INSTANCES, DEFAULT_BATCH_WAIT_SECONDS, dicomWebServer, pullStudies, startListener } from '../src/dicom/net/index.js';
import { parsePolicy, unwrap } from '../src/policy/load.js';
import { freePort, hasOrthanc, startOrthanc } from '../test/dicom/net/orthanc.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const copies = Number(process.argv[2] ?? 600);
const associations = Math.max(1, Number(process.argv[3] ?? 4));
const pullStudyCount = Number(process.argv[4] ?? 10);
const only = process.env.NET_BENCH;
const template = readDicom(readFileSync(path.resolve(root, '../shared/data/dicom/693_UNCR.dcm')));
const secret = Buffer.from('net-bench-secret-0123456789');
const hasDcmtk = spawnSync('sh', ['-c', 'command -v storescu && command -v storescp'], { encoding: 'utf8' }).status === 0;

/** A Part-10 copy of the CT slice: instance i of study floor(i / perStudy). */
function copy(i: number, perStudy: number, tag: string): Buffer {
  const dataset = [...template.dataset];
  const study = Math.floor(i / perStudy);
  const text = (t: number, vr: string, value: string) => setElement(dataset, { tag: t, vr, value: encodeText(value) });
  const sop = `1.2.826.0.1.3680043.8.498.${tag}.9.${i + 1}`;
  text(0x00080018, 'UI', sop);
  text(0x0020000d, 'UI', `1.2.826.0.1.3680043.8.498.${tag}.8.${study + 1}`);
  text(0x0020000e, 'UI', `1.2.826.0.1.3680043.8.498.${tag}.7.${study + 1}`);
  text(0x00100020, 'LO', `BENCH${study}`);
  const meta = template.meta.map((e) => (e.tag === 0x00020003 ? { ...e, value: encodeText(sop) } : e));
  return Buffer.concat(writeDicom({ ...template, meta, dataset }));
}

/** dcmtk peers with TCP_NODELAY (as Veil's own sockets): without it each C-STORE waits for a delayed ACK. */
const dcmtkEnv = { ...process.env, TCP_NODELAY: '1' };

function run(command: string, args: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'ignore', env: dcmtkEnv });
    child.once('exit', (code) => resolve(code));
  });
}

/** CPU seconds (user+sys) of each thread of this process, from /proc (Linux; empty elsewhere). */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  let tasks: string[] = [];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      // fields after the command's ')': state is field 3, utime 14 and stime 15 (clock ticks, 100 a second)
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      out.set(tid, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

function threadName(tid: string): string {
  try {
    return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/**
 * dcmtk alone, one shell: the sink, the senders in parallel, then the shell's `times` (the CPU
 * of every dcmtk process it waited for). Returns wall seconds and CPU seconds (user+sys).
 */
async function dcmtkAlone(dirs: string[]): Promise<{ seconds: number; cpu: number | undefined; code: number | null }> {
  const port = await freePort();
  const senders = dirs.map((dir) => `storescu -aet BENCH -aec SINK +sd 127.0.0.1 ${port} '${dir}' &`).join('\n');
  const script = `storescp --ignore -aet SINK ${port} & sink=$!\nsleep 0.3\nstart=$(date +%s.%N)\n${senders}\nfor j in $(jobs -p); do [ "$j" = "$sink" ] || wait "$j"; done\nend=$(date +%s.%N)\nkill $sink; wait $sink\necho "wall $start $end"\ntimes`;
  const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'], env: dcmtkEnv });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const wall = /wall ([\d.]+) ([\d.]+)/.exec(text);
  const seconds = wall ? Number(wall[2]) - Number(wall[1]) : NaN;
  // `times`: the shell's user/sys, then its children's: "0m1.234s 0m0.567s"
  const lines = text.trim().split('\n');
  const children = lines[lines.length - 1].match(/(\d+)m([\d.]+)s/g);
  const cpu = children?.reduce((sum, t) => {
    const [, m, s] = /(\d+)m([\d.]+)s/.exec(t) ?? [];
    return sum + Number(m) * 60 + Number(s);
  }, 0);
  return { seconds, cpu, code };
}

async function benchListen(work: string): Promise<void> {
  if (!hasDcmtk) {
    console.log('net listen: dcmtk storescu/storescp not installed: skipped');
    return;
  }
  // one folder per association, whole studies in each
  const perStudy = 100;
  const studies = Math.ceil(copies / perStudy);
  const dirs = Array.from({ length: Math.min(associations, studies) }, (_, a) => path.join(work, `send-${a}`));
  for (const dir of dirs) mkdirSync(dir, { recursive: true });
  for (let i = 0; i < copies; i++) writeFileSync(path.join(dirs[Math.floor(i / perStudy) % dirs.length], `${String(i).padStart(6, '0')}.dcm`), copy(i, perStudy, '1'));

  // dcmtk alone, same files, same associations: what the transfer costs without Veil
  const alone = await dcmtkAlone(dirs);
  const aloneCpu = alone.cpu === undefined ? 'CPU not measured' : `CPU ${alone.cpu.toFixed(1)} s, ${((alone.cpu / copies) * 1000).toFixed(2)} ms per instance (storescu and storescp)`;
  console.log(`net listen: dcmtk alone (storescu → storescp --ignore, exit ${alone.code}): ${(copies / alone.seconds).toFixed(0)} instances/s (${alone.seconds.toFixed(1)} s); ${aloneCpu}`);

  const researchPort = await freePort();
  const research = spawn('storescp', ['--ignore', '-aet', 'RESEARCH', String(researchPort)], { stdio: 'ignore', env: dcmtkEnv });
  await new Promise((r) => setTimeout(r, 300));
  const port = await freePort();
  // a warm-up study of 100 (not counted): starts the workers, loads and optimizes the code, as in
  // a listener that has been running for a while; the fs thread pool is started before the
  // snapshot of threads, so that the threads appearing after it are the de-identification workers
  const warmDir = path.join(work, 'warm-up');
  mkdirSync(warmDir, { recursive: true });
  // NET_BENCH_WARMUP=N: another size (V8 still compiles hot code on its threads after 100)
  const warmUp = Number(process.env.NET_BENCH_WARMUP ?? 100);
  for (let i = 0; i < warmUp; i++) writeFileSync(path.join(warmDir, `${i}.dcm`), copy(i, 100, '3'));
  await stat(work);
  const threadsBefore = new Set(threadCpu().keys());
  const policy = unwrap(parsePolicy('name: bench\nversion: 1\ndicom: { profile: basic }\n', { file: 'bench.yaml', baseDir: work }));
  const listener = await startListener({
    policy,
    secret,
    host: '127.0.0.1',
    port,
    aeTitle: 'VEIL',
    forward: { aeTitle: 'RESEARCH', host: '127.0.0.1', port: researchPort, callingAeTitle: 'VEIL' },
    spool: path.join(work, 'spool'),
    studyIdleSeconds: 1,
    // NET_BENCH_BATCH=N, NET_BENCH_BATCH_WAIT=S: the listener's --batch and --batch-wait (0: whole studies once idle)
    batchInstances: process.env.NET_BENCH_BATCH === undefined ? undefined : Number(process.env.NET_BENCH_BATCH),
    batchWaitSeconds: process.env.NET_BENCH_BATCH_WAIT === undefined ? undefined : Number(process.env.NET_BENCH_BATCH_WAIT),
    // NET_BENCH_JOBS=N: the listener's --jobs (de-identification worker threads)
    jobs: Number(process.env.NET_BENCH_JOBS ?? 2),
  });
  try {
    if (warmUp > 0) await run('storescu', ['-aet', 'BENCH', '-aec', 'VEIL', '+sd', '127.0.0.1', String(port), warmDir]);
    await listener.idle();
    const warm = listener.report().totals;
    // a profiler attached from here sees only the measured part (NET_BENCH_MARK=1)
    if (process.env.NET_BENCH_MARK) console.log(`net listen: warm-up done (${warm.received} instances), measuring`);
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const threadsAtStart = threadCpu();
    // NET_BENCH_TIMELINE=1: the totals every 500 ms (where the time goes between the stages)
    const timeline = process.env.NET_BENCH_TIMELINE
      ? setInterval(() => {
          const t = listener.report().totals;
          console.log(`  ${((performance.now() - started) / 1000).toFixed(1)} s: received ${t.received}, released ${t.studiesReleased} studies, forwarded ${t.forwarded}`);
        }, 500)
      : undefined;
    const codes = await Promise.all(dirs.map((dir) => run('storescu', ['-aet', 'BENCH', '-aec', 'VEIL', '+sd', '127.0.0.1', String(port), dir])));
    const receivedAt = performance.now();
    await listener.idle();
    const doneAt = performance.now();
    const cpu = process.cpuUsage(cpuBefore);
    const threadsAtEnd = threadCpu();
    clearInterval(timeline);
    const all = listener.report().totals;
    const t = { received: all.received - warm.received, forwarded: all.forwarded - warm.forwarded, quarantined: all.quarantined - warm.quarantined, batches: all.studiesReleased - warm.studiesReleased };
    const receiveS = (receivedAt - started) / 1000;
    const totalS = (doneAt - started) / 1000;
    const batching = `--batch ${process.env.NET_BENCH_BATCH ?? DEFAULT_BATCH_INSTANCES} --batch-wait ${process.env.NET_BENCH_BATCH_WAIT ?? DEFAULT_BATCH_WAIT_SECONDS}`;
    console.log(`net listen: ${copies} CT 512² copies (513 KB each) over ${dirs.length} association(s) (storescu exit ${[...new Set(codes)].join(',')}): ${t.received} acknowledged, ${t.forwarded} forwarded, ${t.quarantined} quarantined; ${t.batches} batches released (${batching}, --study-idle 1)`);
    console.log(`net listen: received (fsynced, acknowledged) ${(t.received / receiveS).toFixed(0)} instances/s; received → forwarded ${(t.forwarded / totalS).toFixed(0)} instances/s (${totalS.toFixed(1)} s)`);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    console.log(`net listen: Veil process CPU ${cpuS.toFixed(1)} s (user ${(cpu.user / 1e6).toFixed(1)}, sys ${(cpu.system / 1e6).toFixed(1)}), ${((cpuS / copies) * 1000).toFixed(1)} ms per instance; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    // per thread: the main thread (DIMSE receive and send, spool bookkeeping), the pool's worker
    // threads (de-identification: read, header, residual scan, write), the rest (libuv's fs
    // threads: spool writes and fsyncs; V8's GC helpers)
    if (threadsAtEnd.size > 0) {
      const spent = (tid: string) => (threadsAtEnd.get(tid) ?? 0) - (threadsAtStart.get(tid) ?? 0);
      let main = 0;
      let pool = 0;
      let other = 0;
      for (const tid of threadsAtEnd.keys()) {
        if (tid === String(process.pid)) main += spent(tid);
        else if (!threadsBefore.has(tid)) pool += spent(tid);
        else other += spent(tid);
      }
      if (process.env.NET_BENCH_THREADS) {
        for (const tid of threadsAtEnd.keys()) {
          if (spent(tid) < 0.005) continue;
          // libuv-worker: fs (spool writes, fsyncs, renames, removals); V8 platform threads ("node"): GC and compiling
          console.log(`  thread ${tid} ${threadName(tid)}${tid === String(process.pid) ? ' (main)' : threadsBefore.has(tid) ? '' : ' (worker)'}: ${spent(tid).toFixed(2)} s`);
        }
      }
      const per = (s: number) => `${s.toFixed(1)} s (${((s / copies) * 1000).toFixed(1)} ms/instance)`;
      console.log(`net listen: CPU by thread: main (DIMSE SCP and SCU, spool) ${per(main)}; de-identification workers ${per(pool)}; fs and GC threads ${per(other)}`);
    }
  } finally {
    await listener.close();
    research.kill('SIGTERM');
  }
}

async function benchPull(work: string): Promise<void> {
  if (!hasOrthanc) {
    console.log('net pull: Orthanc not installed: skipped');
    return;
  }
  const perStudy = 20;
  const source = await startOrthanc(path.join(work, 'orthanc-source'), 'SOURCE', {});
  const target = await startOrthanc(path.join(work, 'orthanc-target'), 'TARGET', {});
  try {
    for (let i = 0; i < pullStudyCount * perStudy; i++) {
      const { status } = await source.post('/instances', copy(i, perStudy, '2'));
      if (status !== 200) throw new Error(`loading the source answered ${status}`);
    }
    const policy = unwrap(parsePolicy('name: bench\nversion: 1\ndicom: { profile: basic }\n', { file: 'bench.yaml', baseDir: work }));
    const started = performance.now();
    const report = await pullStudies({
      policy,
      secret,
      from: dicomWebServer(`${source.url}/dicom-web`, '--from'),
      query: new URLSearchParams({ PatientID: 'BENCH*' }),
      to: dicomWebServer(`${target.url}/dicom-web`, '--to'),
      jobs: 2,
    });
    const seconds = (performance.now() - started) / 1000;
    const t = report.totals;
    console.log(`net pull: ${t.studies} studies of ${perStudy} CT 512² slices from Orthanc (QIDO-RS, WADO-RS), de-identified, ${t.studiesStored} stored by STOW-RS in ${seconds.toFixed(1)} s`);
    console.log(`net pull: ${(t.studiesStored / seconds).toFixed(2)} studies/s, ${(t.stored / seconds).toFixed(0)} instances/s`);
  } finally {
    source.stop();
    target.stop();
  }
}

const work = mkdtempSync(path.join(tmpdir(), 'veil-net-bench-'));
try {
  if (only !== 'pull') await benchListen(work);
  if (only !== 'listen') await benchPull(work);
} finally {
  await new Promise((r) => setTimeout(r, 300));
  rmSync(work, { recursive: true, force: true });
}
