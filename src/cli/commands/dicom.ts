import type { Command } from 'commander';
import { loadSecret } from '../../secret/key.js';
import { VeilError } from '../../errors.js';
import { withProgress } from '../progress.js';
import { checkCommandPaths, parseJobs } from '../options.js';
import { runCommand } from '../run.js';

interface DeidentifyFlags {
  policy: string;
  in: string;
  out: string;
  report?: string;
  html?: string;
  keyFile?: string;
  mapOut?: string;
  jobs?: string;
  quiet?: boolean;
}

interface ListenFlags {
  policy: string;
  port: string;
  aeTitle: string;
  host: string;
  forward?: string;
  out?: string;
  spool: string;
  quarantine?: string;
  allowAe?: string;
  studyIdle: string;
  batch: string;
  batchWait: string;
  retryWait: string;
  report?: string;
  keyFile?: string;
  jobs?: string;
}

interface PullFlags {
  policy: string;
  from: string;
  study?: string[];
  query?: string;
  to?: string;
  out?: string;
  report?: string;
  keyFile?: string;
  jobs?: string;
  quiet?: boolean;
}

/** Registers the `veil dicom` commands. */
export function registerDicomCommands(program: Command): void {
  const dicom = program.command('dicom').description('de-identify DICOM files (PS3.15 Basic Profile and options)');
  dicom
    .command('deidentify')
    .description('de-identify every DICOM file of a directory into another directory, per a policy')
    .requiredOption('--policy <file>', 'policy YAML with a dicom section')
    .requiredOption('--in <dir>', 'input directory (never modified)')
    .requiredOption('--out <dir>', 'output directory (same relative paths)')
    .option('--report <file>', 'JSON report to write')
    .option('--html <file>', 'HTML summary to write')
    .option('--key-file <file>', 'pseudonymization key file (default: VEIL_SECRET)')
    .option('--map-out <file>', 'write original PatientID → pseudonym to this CSV (it holds PHI: store it apart)')
    .option('--jobs <n>', 'threads that process files: this one and n − 1 worker threads (default: every core)')
    .option('--quiet', 'print nothing on success')
    .action((flags: DeidentifyFlags) =>
      runCommand(async () => {
        const jobs = parseJobs(flags.jobs);
        // The paths first (they need only the flags, and write nothing): a wrong path is refused
        // before any worker thread starts or the policy is read.
        await checkCommandPaths(flags, [
          { path: flags.out, field: '--out', kind: 'folder' },
          { path: flags.mapOut, field: '--map-out' },
        ], [{ path: flags.keyFile, what: 'the key file' }]);
        // The worker threads start next and load their modules while this thread reads the
        // policy (pool.js alone is light); this thread is one of the --jobs threads, since it has
        // nothing else to do during the run and has the de-identification modules loaded anyway.
        const { openDicomWorkers } = await import('../../dicom/pool.js');
        const workers = await openDicomWorkers({ jobs, thisThread: true });
        let report;
        try {
          // Loaded on use, like every command's work, so that other commands and `--help` start at once;
          // load.js alone (the index adds the JSON Schema export and tightening, ≈ 25 ms unused here).
          const { loadPolicy } = await import('../../policy/load.js');
          const policy = await loadPolicy(flags.policy);
          if (!policy.dicom) throw new VeilError('POLICY_INVALID', 'the policy has no dicom section', { file: flags.policy, field: 'dicom' });
          const secret = loadSecret({ keyFile: flags.keyFile });
          const { deidentifyDicomDirectory } = await import('../../dicom/index.js');
          report = await withProgress('de-identifying', (update) =>
            deidentifyDicomDirectory({
              policy,
              input: flags.in,
              output: flags.out,
              reportJson: flags.report,
              reportHtml: flags.html,
              secret,
              workers,
              mapOut: flags.mapOut,
              onProgress: process.stderr.isTTY ? (done, total) => update(total > 0 ? done / total : 0) : undefined,
            }),
          );
        } finally {
          await workers.close();
        }
        if (!flags.quiet) {
          const t = report.totals;
          process.stdout.write(
            `de-identified ${t.ok} of ${t.files} files (${t.rejected} rejected, ${t.skipped} skipped) for ${t.patients} patients in ${(report.timingMs / 1000).toFixed(1)} s → ${flags.out}\n`,
          );
          // how many files' pixels were examined for burned-in text, and why the others were not
          process.stdout.write(`${(await import('../../report/dicomReport.js')).pixelSummaryLine(report)}\n`);
        }
      }),
    );
  dicom
    .command('listen')
    .description('receive DICOM by C-STORE, de-identify each study once idle, forward it by C-STORE or write it to a folder')
    .requiredOption('--policy <file>', 'policy YAML with a dicom section')
    .option('--port <n>', 'DICOM port to listen on', '11112')
    .option('--ae-title <title>', "this node's AE title (the called AE senders must use)", 'VEIL')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--forward <AE@host:port>', 'C-STORE the de-identified instances to this SCP')
    .option('--out <dir>', 'write the de-identified instances under this folder (<StudyInstanceUID>/<SOPInstanceUID>.dcm)')
    .option('--spool <dir>', 'spool folder: received instances wait here until delivered (survives restarts)', 'veil-spool')
    .option('--quarantine <dir>', 'where refused and failed instances go, each with a .reason.txt (default: <spool>/quarantine)')
    .option('--allow-ae <titles>', "comma-separated calling AE titles let in (default: the policy's dicom.network.allowCallingAeTitles, else every AE title; with both, a caller must be in both)")
    .option('--study-idle <seconds>', 'seconds without a new instance before a study is de-identified and sent on', '5')
    .option('--batch <n>', 'while a study arrives, de-identify and send it on in batches of this many instances (0: whole studies, once idle)', '50')
    .option('--batch-wait <seconds>', 'with --batch: a batch goes at the latest this long after its first instance', '0.5')
    .option('--retry-wait <seconds>', 'seconds before a failed delivery (or de-identification) is tried again, at least 0.1', '5')
    .option('--report <file>', 'run report (JSON), rewritten every 2 s and on shutdown (default: <spool>/listen-report.json)')
    .option('--key-file <file>', 'pseudonymization key file (default: VEIL_SECRET)')
    .option('--jobs <n>', 'worker threads for de-identification (default: every core)')
    .action((flags: ListenFlags) =>
      runCommand(async () => {
        // The options first, with their small parsers alone: a mistyped option is refused
        // before the policy, the DICOM engine and the network code are loaded.
        const options = await import('../../dicom/net/destination.js');
        const aeTitle = options.parseAeTitle(flags.aeTitle, '--ae-title');
        const forward = flags.forward ? options.parseDestination(flags.forward, aeTitle) : undefined;
        if (!forward && !flags.out) throw new VeilError('USAGE', 'give --forward AE@host:port or --out DIR', { field: '--forward' });
        const port = options.parsePort(flags.port);
        const studyIdleSeconds = options.parseSeconds(flags.studyIdle, '--study-idle');
        const batchInstances = options.parseCount(flags.batch, '--batch');
        const batchWaitSeconds = options.parseSeconds(flags.batchWait, '--batch-wait');
        const retrySeconds = options.parseSeconds(flags.retryWait, '--retry-wait');
        const allowAe = (flags.allowAe ?? '').split(',').filter((t) => t.trim() !== '').map((t) => options.parseAeTitle(t, '--allow-ae'));
        const jobs = parseJobs(flags.jobs);
        const { loadPolicy } = await import('../../policy/index.js');
        const policy = await loadPolicy(flags.policy);
        if (!policy.dicom) throw new VeilError('POLICY_INVALID', 'the policy has no dicom section', { file: flags.policy, field: 'dicom' });
        const net = await import('../../dicom/net/index.js');
        await checkCommandPaths(flags, [
          { path: flags.out, field: '--out', kind: 'folder' },
          { path: flags.spool, field: '--spool', kind: 'folder' },
          { path: flags.quarantine, field: '--quarantine', kind: 'folder' },
        ], [{ path: flags.keyFile, what: 'the key file' }]);
        const secret = loadSecret({ keyFile: flags.keyFile });
        const log = (line: string) => process.stderr.write(`veil listen: ${line}\n`);
        let listener;
        try {
          listener = await net.startListener({
            policy, secret, host: flags.host, port, aeTitle, forward, out: flags.out, spool: flags.spool, quarantine: flags.quarantine,
            allowAe, studyIdleSeconds, batchInstances, batchWaitSeconds, retrySeconds, reportJson: flags.report ?? `${flags.spool}/listen-report.json`, jobs, log,
          });
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'EADDRINUSE' || code === 'EACCES') throw new VeilError('USAGE', `cannot listen on ${flags.host}:${port} (${code})`, { field: '--port' });
          throw error;
        }
        const started = listener;
        // runs until SIGINT or SIGTERM; the spool keeps whatever was not delivered yet. The
        // handlers are in place before the "listening" line: a supervisor that stops the
        // listener as soon as it reads that line gets a clean stop, not a kill by the signal
        const stopped = new Promise<void>((resolve) => {
          const stop = () => void started.close().then(resolve, resolve);
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        log(`listening on ${flags.host}:${port} as ${aeTitle}${forward ? `, forwarding to ${forward.aeTitle}@${forward.host}:${forward.port}` : ''}${flags.out ? `, writing to ${flags.out}` : ''}`);
        await stopped;
        const t = started.report().totals;
        log(`stopped: ${t.received} received, ${t.forwarded} forwarded, ${t.written} written, ${t.quarantined} quarantined, ${t.refused} refused`);
      }),
    );
  dicom
    .command('pull')
    .description('find studies on a DICOMweb server (QIDO-RS), retrieve them (WADO-RS), de-identify them, store them (STOW-RS) or write them to a folder')
    .requiredOption('--policy <file>', 'policy YAML with a dicom section')
    .requiredOption('--from <url>', 'DICOMweb base URL of the source (auth: VEIL_DICOMWEB_FROM_TOKEN, or _USER and _PASSWORD)')
    .option('--study <uid...>', 'StudyInstanceUID(s) to pull')
    .option('--query <params>', "QIDO-RS query selecting the studies, e.g. 'PatientID=123&StudyDate=20240101-20240131'")
    .option('--to <url>', 'DICOMweb base URL to store into (auth: VEIL_DICOMWEB_TO_TOKEN, or _USER and _PASSWORD)')
    .option('--out <dir>', 'write the de-identified instances under this folder (<StudyInstanceUID>/<SOPInstanceUID>.dcm)')
    .option('--report <file>', 'JSON report: which studies were stored, and why not the others')
    .option('--key-file <file>', 'pseudonymization key file (default: VEIL_SECRET)')
    .option('--jobs <n>', 'worker threads (default: every core)')
    .option('--quiet', 'print nothing on success')
    .action((flags: PullFlags) =>
      runCommand(async () => {
        const { loadPolicy } = await import('../../policy/index.js');
        const policy = await loadPolicy(flags.policy);
        if (!policy.dicom) throw new VeilError('POLICY_INVALID', 'the policy has no dicom section', { file: flags.policy, field: 'dicom' });
        const net = await import('../../dicom/net/index.js');
        const from = net.dicomWebServer(flags.from, '--from', net.authFromEnv(process.env, 'FROM'));
        const to = flags.to ? net.dicomWebServer(flags.to, '--to', net.authFromEnv(process.env, 'TO')) : undefined;
        if (!to && !flags.out) throw new VeilError('USAGE', 'give --to URL or --out DIR', { field: '--to' });
        const studies = flags.study ?? [];
        if (studies.length > 0 === (flags.query !== undefined)) throw new VeilError('USAGE', 'give --study UID (one or more) or --query, not both', { field: '--study' });
        if (studies.some((uid) => !/^[0-9]+(\.[0-9]+)*$/.test(uid) || uid.length > 64)) throw new VeilError('USAGE', 'expected a StudyInstanceUID (digits and dots, at most 64)', { field: '--study' });
        const jobs = parseJobs(flags.jobs);
        await checkCommandPaths(flags, [{ path: flags.out, field: '--out', kind: 'folder' }], [{ path: flags.keyFile, what: 'the key file' }]);
        const secret = loadSecret({ keyFile: flags.keyFile });
        const report = await net.pullStudies({
          policy, secret, from, to, out: flags.out, reportJson: flags.report, jobs,
          studies: studies.length > 0 ? studies : undefined,
          query: flags.query !== undefined ? new URLSearchParams(flags.query) : undefined,
        });
        const t = report.totals;
        const notStored = report.studies.filter((s) => s.status === 'not-stored');
        if (!flags.quiet) {
          const studiesOf = (n: number) => `${n} ${n === 1 ? 'study' : 'studies'}`;
          const where = [to ? `stored ${studiesOf(t.studiesStored)} (${t.stored} instances) → ${to.shown}` : '', flags.out ? `wrote ${t.written} instances → ${flags.out}` : ''].filter(Boolean).join(', ');
          process.stdout.write(`pulled ${studiesOf(t.studies)} (${t.retrieved} instances), de-identified ${t.deidentified} (${t.rejected} rejected); ${where}\n`);
        }
        if (notStored.length > 0) {
          const first = notStored[0];
          throw new VeilError('DICOM_INVALID', `${notStored.length} of ${t.studies} studies not stored; study ${first.position} of ${t.studies}: ${first.reason ?? 'failed'}${flags.report ? ' (the report lists each)' : ''}`, { field: '--from' });
        }
      }),
    );
}
