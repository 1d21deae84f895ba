import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { isRole, ROLES } from '../../api/roles.js';
import { VeilError } from '../../errors.js';
import { runCommand } from '../run.js';

/** Repeatable option: each occurrence appended. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positiveInt(value: string, option: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new VeilError('USAGE', `${option} expects a whole number from 1 to ${max}`, { field: option });
  }
  return Number(value);
}

interface ServeOptions {
  port: string;
  host: string;
  dataDir: string;
  concurrency?: string;
  maxUploadMb: string;
  rateLimit: string;
  rateLimitIp?: string;
  minFreeMb: string;
  maxCellBytes?: string;
  jobTimeoutMin: string;
  maxAttempts: string;
  queue?: string;
  chunkFiles: string;
  distributedRows: string;
  hierarchyDir?: string;
  dicomwebSource: string[];
  dicomwebDestination: string[];
  dicomPort?: string;
  dicomPolicy?: string;
  dicomAe: string;
  dicomHost?: string;
  dicomForward?: string;
  dicomOut?: string;
  dicomJobsFor?: string;
  dicomAllowAe?: string;
  dicomStudyIdle: string;
  sessionIdleMinutes: string;
  logLevel: string;
  previewWarmup: boolean;
}

/** `--dicom-*` options: the DICOM listener run inside the server, or undefined without --dicom-port. */
async function dicomListenerOptions(options: ServeOptions) {
  if (!options.dicomPort) {
    const stray = (['dicomPolicy', 'dicomForward', 'dicomOut', 'dicomJobsFor', 'dicomAllowAe'] as const).find((key) => options[key] !== undefined);
    if (stray) throw new VeilError('USAGE', 'give --dicom-port to run the DICOM listener', { field: '--dicom-port' });
    return undefined;
  }
  const net = await import('../../dicom/net/destination.js');
  if (!options.dicomPolicy) throw new VeilError('USAGE', 'name the approved policy the listener runs with --dicom-policy NAME', { field: '--dicom-policy' });
  const aeTitle = net.parseAeTitle(options.dicomAe, '--dicom-ae');
  const forward = options.dicomForward ? net.parseDestination(options.dicomForward, aeTitle, '--dicom-forward') : undefined;
  if (!forward && !options.dicomOut && !options.dicomJobsFor) throw new VeilError('USAGE', 'give --dicom-forward AE@host:port, --dicom-out DIR or --dicom-jobs-for KEYNAME (received studies kept as jobs)', { field: '--dicom-forward' });
  if (options.dicomJobsFor && (forward || options.dicomOut)) throw new VeilError('USAGE', '--dicom-jobs-for keeps studies as jobs instead of --dicom-forward or --dicom-out: give one of them', { field: '--dicom-jobs-for' });
  const { loadSecret } = await import('../../secret/key.js');
  return {
    policyName: options.dicomPolicy,
    port: net.parsePort(options.dicomPort, '--dicom-port'),
    host: options.dicomHost ?? options.host,
    aeTitle,
    forward,
    out: options.dicomOut ? resolve(options.dicomOut) : undefined,
    jobsFor: options.dicomJobsFor,
    allowAe: (options.dicomAllowAe ?? '').split(',').filter((t) => t.trim() !== '').map((t) => net.parseAeTitle(t, '--dicom-allow-ae')),
    studyIdleSeconds: net.parseSeconds(options.dicomStudyIdle, '--dicom-study-idle'),
    // the pseudonym key is read here, at the edge, as `veil dicom listen` does
    secret: loadSecret(),
  };
}

/** Registers `veil serve` and `veil keys create`. */
export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description('start the HTTP API (VEIL_SECRET from the environment)')
    .option('--port <n>', 'TCP port (0 picks a free one)', '8080')
    .option('--host <address>', 'address to listen on; 0.0.0.0 (or ::) opens the API to the network', '127.0.0.1')
    .option('--data-dir <dir>', 'database, policies, job inputs and results', './veil-data')
    .option('--concurrency <n>', 'jobs running at once (default: half the cores)')
    .option('--max-upload-mb <n>', 'largest upload of one job, in MiB', '512')
    .option('--rate-limit <n>', 'requests per minute per API key', '1200')
    .option('--rate-limit-ip <n>', 'requests per minute per client address, counted before the key is checked (default: 5 × --rate-limit)')
    .option('--min-free-mb <n>', 'below this much free space in the data dir, /healthz answers "degraded" (503)', '1024')
    .option('--max-cell-bytes <n>', 'refuse a tabular job whose CSV has a cell larger than n bytes (default 1 MiB, at most 256 MiB): the job fails with CSV_CELL_TOO_LARGE')
    .option('--job-timeout-min <n>', 'a job running longer is stopped and failed', '120')
    .option('--max-attempts <n>', 'runs of one job, counting re-runs after a crash', '2')
    .option('--queue <redis-url>', 'put jobs on BullMQ in this Redis (redis://HOST:PORT) for `veil worker` processes to run, instead of running them here')
    .option('--chunk-files <n>', 'with --queue: files per chunk of a DICOM job', '500')
    .option('--distributed-rows <n>', 'with --queue: tabular jobs with more rows than this are split into partitions', '1000000')
    .option('--hierarchy-dir <dir>', 'hierarchy files policies may name without uploading them')
    .option('--dicomweb-source <NAME=URL>', 'a DICOMweb service DICOM jobs may pull from by NAME (repeatable; auth from VEIL_DICOMWEB_<NAME>_TOKEN or _USER/_PASSWORD)', collect, [])
    .option('--dicomweb-destination <NAME=URL>', 'a DICOMweb service DICOM jobs may store their result in by NAME (repeatable; auth as for sources)', collect, [])
    .option('--dicom-port <n>', 'also run a DICOM C-STORE listener on this port (as veil dicom listen; counted in the audit log)')
    .option('--dicom-policy <name>', 'with --dicom-port: the stored policy whose latest approved version the listener runs')
    .option('--dicom-ae <title>', "with --dicom-port: the listener's AE title", 'VEIL')
    .option('--dicom-host <address>', 'with --dicom-port: address to listen on (default: --host)')
    .option('--dicom-forward <AE@host:port>', 'with --dicom-port: C-STORE the de-identified instances to this SCP')
    .option('--dicom-out <dir>', 'with --dicom-port: write the de-identified instances under this folder')
    .option('--dicom-jobs-for <keyname>', 'with --dicom-port, instead of --dicom-forward/--dicom-out: keep each received study as a DICOM job of this researcher key')
    .option('--dicom-allow-ae <titles>', "with --dicom-port: calling AE titles let in (narrows the policy's dicom.network.allowCallingAeTitles)")
    .option('--dicom-study-idle <seconds>', 'with --dicom-port: seconds without a new instance before a study is de-identified and sent on', '5')
    .option('--session-idle-minutes <n>', 'a console session unused this long ends (sessions end 8 h after sign-in in any case)', '30')
    .option('--log-level <level>', 'fatal, error, warn, info, debug', 'info')
    .option('--no-preview-warmup', 'do not load the preview engine at start (saves ≈ 1.3 s of CPU; the first policy preview loads it instead)')
    .action((options: ServeOptions) =>
      runCommand(async () => {
        const port = options.port === '0' ? 0 : positiveInt(options.port, '--port', 65535);
        if (!['fatal', 'error', 'warn', 'info', 'debug', 'silent'].includes(options.logLevel)) {
          throw new VeilError('USAGE', '--log-level expects fatal, error, warn, info, debug or silent', { field: '--log-level' });
        }
        if (options.hierarchyDir && !statSync(options.hierarchyDir, { throwIfNoEntry: false })?.isDirectory()) {
          throw new VeilError('FILE_NOT_FOUND', 'the hierarchy folder does not exist', { file: options.hierarchyDir, field: '--hierarchy-dir' });
        }
        // the numbers are checked before the server is loaded: a mistyped option is refused in
        // ≈ 0.3 CPU-s instead of ≈ 0.8 (Express, SQLite and the routes loaded for nothing)
        const sessions = { idleMs: positiveInt(options.sessionIdleMinutes, '--session-idle-minutes', 8 * 60) * 60_000 };
        const limits = {
          maxUploadBytes: positiveInt(options.maxUploadMb, '--max-upload-mb') * 1024 * 1024,
          rateLimitPerMinute: positiveInt(options.rateLimit, '--rate-limit'),
          rateLimitPerIpPerMinute: options.rateLimitIp ? positiveInt(options.rateLimitIp, '--rate-limit-ip') : undefined,
          minFreeBytes: positiveInt(options.minFreeMb, '--min-free-mb') * 1024 * 1024,
        };
        const runner = {
          concurrency: options.concurrency ? positiveInt(options.concurrency, '--concurrency', 64) : undefined,
          jobTimeoutMs: positiveInt(options.jobTimeoutMin, '--job-timeout-min') * 60_000,
          maxAttempts: positiveInt(options.maxAttempts, '--max-attempts', 10),
          maxCellBytes: options.maxCellBytes ? positiveInt(options.maxCellBytes, '--max-cell-bytes', 256 * 1024 * 1024) : undefined,
        };
        // Loaded on use, like every command's work, so that other commands and `--help` start at once.
        const { startServer } = await import('../../api/index.js');
        const { dicomWebEndpoints } = await import('../../api/dicomSource.js');
        const dicomWeb = dicomWebEndpoints(options.dicomwebSource, options.dicomwebDestination);
        const dicomListener = await dicomListenerOptions(options);
        const queue = options.queue
          ? {
              connection: (await import('../../api/queue/connection.js')).parseQueueUrl(options.queue),
              chunkFiles: positiveInt(options.chunkFiles, '--chunk-files', 1_000_000),
              distributedRows: positiveInt(options.distributedRows, '--distributed-rows'),
            }
          : undefined;
        const server = await startServer({
          port,
          queue,
          host: options.host,
          dataDir: options.dataDir,
          logLevel: options.logLevel,
          hierarchyDir: options.hierarchyDir ? resolve(options.hierarchyDir) : undefined,
          dicomWeb,
          dicomListener,
          previewWarmup: options.previewWarmup,
          sessions,
          limits,
          runner,
        });
        if (!process.env.VEIL_SECRET && !process.env.VEIL_SECRET_FILE) {
          server.api.ctx.logger.warn('VEIL_SECRET is not set: jobs whose policy pseudonymizes will fail');
        }
        const shown = options.host.includes(':') ? `[${options.host}]` : options.host;
        // the signal handlers are in place before the "listening" line (see dicom listen)
        const stopped = new Promise<void>((resolve) => {
          const stop = () => {
            void server.close().then(resolve);
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        process.stdout.write(`veil: listening on http://${shown}:${server.port} (data in ${options.dataDir})\n`);
        await stopped;
      }),
    );

  const keys = program.command('keys').description('manage API keys of a data dir');
  keys
    .command('create')
    .description('create an API key and print it on stdout (once: only its hash is stored)')
    .requiredOption('--role <role>', ROLES.join(' | '))
    .option('--data-dir <dir>', 'the server data dir', './veil-data')
    .option('--name <name>', 'who holds the key (shown in the audit log)')
    .action((options: { role: string; dataDir: string; name?: string }) =>
      runCommand(async () => {
        if (!isRole(options.role)) throw new VeilError('USAGE', `--role expects one of ${ROLES.join(', ')}`, { field: '--role' });
        if (options.name !== undefined && !/^[\w .@-]{1,80}$/.test(options.name)) {
          throw new VeilError('USAGE', '--name expects 1–80 letters, digits, spaces, ".", "@", "_" or "-"', { field: '--name' });
        }
        // the key store and the audit chain only, not the server's index (Express, the routes,
        // the engines' front doors): 0.8 → 0.3 CPU-s per `veil keys create`
        const { openDatabase } = await import('../../api/db.js');
        const { createApiKey } = await import('../../api/keys.js');
        const { appendAudit } = await import('../../api/audit.js');
        const { loadAuditKey, openAuditChain } = await import('../../api/auditKey.js');
        const auditKey = loadAuditKey(options.dataDir, process.env, { create: true }).key;
        const db = openDatabase(options.dataDir);
        try {
          openAuditChain(db, options.dataDir, auditKey);
          const { key, record } = createApiKey(db, options.role, options.name);
          appendAudit(db, { actor: 'cli', role: 'operator', action: 'key.create', target: `key:${record.id} (${record.name}, ${record.role})` });
          process.stdout.write(`${key}\n`);
          process.stderr.write(`veil: created ${record.role} key ${record.id} (${record.name}); it is shown only this once\n`);
        } finally {
          db.close();
        }
      }),
    );
}
