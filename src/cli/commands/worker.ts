import { availableParallelism } from 'node:os';
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { VeilError } from '../../errors.js';
import { runCommand } from '../run.js';

interface WorkerCommandOptions {
  queue: string;
  dataDir: string;
  concurrency: string;
  threads?: string;
  lockSeconds: string;
  logLevel: string;
}

/** The option's name is the error's field: the line reads "veil: --lock-seconds: expects …" (named once). */
function wholeNumber(value: string, option: string, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new VeilError('USAGE', `expects a whole number from 1 to ${max}`, { field: option });
  }
  return Number(value);
}

/** Registers `veil worker`: runs the steps of jobs that `veil serve --queue` put on BullMQ. */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run jobs from the queue of a `veil serve --queue` (VEIL_SECRET from the environment, as for the server)')
    .requiredOption('--queue <redis-url>', 'the Redis the server puts jobs on (redis://HOST:PORT)')
    .option('--data-dir <dir>', "this machine's mount of the server's data dir (a shared folder: NFS or any POSIX mount)", './veil-data')
    .option('--concurrency <n>', 'steps run at once, each in its own process', '1')
    .option('--threads <n>', 'worker threads per step (default: the cores divided by --concurrency)')
    .option('--lock-seconds <n>', "how long a step's lock lasts unrenewed (renewed every n/2 s): a killed worker's steps run again on another after about this long", '10')
    .option('--log-level <level>', 'fatal, error, warn, info, debug', 'info')
    .action((options: WorkerCommandOptions) =>
      runCommand(async () => {
        if (!['fatal', 'error', 'warn', 'info', 'debug', 'silent'].includes(options.logLevel)) {
          throw new VeilError('USAGE', 'expects fatal, error, warn, info, debug or silent', { field: '--log-level' });
        }
        if (!statSync(options.dataDir, { throwIfNoEntry: false })?.isDirectory()) {
          throw new VeilError('FILE_NOT_FOUND', 'the data dir does not exist here (mount the shared folder first)', { file: options.dataDir, field: '--data-dir' });
        }
        const concurrency = wholeNumber(options.concurrency, '--concurrency', 64);
        const threads = options.threads ? wholeNumber(options.threads, '--threads', 64) : Math.max(1, Math.floor(availableParallelism() / concurrency));
        const lockSeconds = wholeNumber(options.lockSeconds, '--lock-seconds', 3600);
        // Loaded on use, like every command's work, so that other commands and `--help` start at once.
        const { parseQueueUrl, startQueueWorker } = await import('../../api/queue/index.js');
        const { createLogger } = await import('../../api/logger.js');
        const connection = parseQueueUrl(options.queue);
        const logger = createLogger(options.logLevel);
        if (!process.env.VEIL_SECRET && !process.env.VEIL_SECRET_FILE) logger.warn('VEIL_SECRET is not set: jobs whose policy pseudonymizes will fail');
        const worker = await startQueueWorker({ connection, dataDir: options.dataDir, concurrency, threads, logger, lockMs: lockSeconds * 1000 });
        // the signal handlers are in place before the "ready" line (see dicom listen)
        const stopped = new Promise<void>((resolve) => {
          const stop = () => {
            void worker.close().then(resolve);
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        process.stdout.write(`veil: worker ready on ${connection.host}:${connection.port} (${concurrency} at once, ${threads} thread(s) each)\n`);
        await stopped;
      }),
    );
}
