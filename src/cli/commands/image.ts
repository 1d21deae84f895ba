import type { Command } from 'commander';
import { VeilError } from '../../errors.js';
import { checkCommandPaths, parseJobs } from '../options.js';
import { withProgress } from '../progress.js';
import { runCommand } from '../run.js';

/** Exit code when every file was processed but some still showed PHI after redaction. */
export const EXIT_FLAGGED = 3;

interface RedactFlags {
  policy: string;
  in: string;
  out: string;
  report?: string;
  html?: string;
  jobs?: string;
}

/** Registers `veil image redact`. */
export function registerImageCommands(program: Command): void {
  const image = program.command('image').description('redact burned-in text (and faces) in PNG, JPEG and TIFF images');
  image
    .command('redact')
    .description('detect, classify and fill burned-in text per the policy\'s pixels section; verify the result')
    .requiredOption('--policy <file>', 'policy YAML with a pixels section')
    .requiredOption('--in <path>', 'an image file or a folder of images')
    .requiredOption('--out <path>', 'output file or folder (same names and sizes)')
    .option('--report <file>', 'write the JSON report here')
    .option('--html <file>', 'write a review page here: each written output with the text and faces found outlined')
    .option('--jobs <n>', 'worker threads (default: one per core)')
    .action((flags: RedactFlags) =>
      runCommand(async () => {
        const jobs = parseJobs(flags.jobs);
        // Loaded on use, like every command's work, so that other commands and `--help` start at once.
        const { loadPolicy } = await import('../../policy/load.js');
        const policy = await loadPolicy(flags.policy);
        await checkCommandPaths(flags, [{ path: flags.out, field: '--out', kind: 'either' }], [{ path: flags.in, what: 'the input' }]);
        const { redactImages } = await import('../../image/index.js');
        const report = await withProgress('redacting', (update) =>
          redactImages({ policy, input: flags.in, output: flags.out, reportJson: flags.report, reportHtml: flags.html, jobs, onProgress: (done, total) => update(total > 0 ? done / total : 0) }),
        );
        const t = report.totals;
        process.stdout.write(
          `veil: ${t.files} image(s): ${t.redacted} redacted, ${t.clean} clean, ${t.skipped} skipped, ${t.flagged} flagged, ${t.errors} unreadable; ` +
            `${t.textRedacted}/${t.textInstances} text regions filled in ${report.timingMs} ms\n`,
        );
        if (t.errors > 0) {
          const first = report.files.find((f) => f.status === 'error');
          throw new VeilError('IMAGE_INVALID', `${t.errors} file(s) could not be read; first: ${first?.error?.message ?? 'unknown'}`, { file: first?.file });
        }
        if (t.flagged > 0) {
          process.stderr.write(`veil: ${t.flagged} file(s) still showed PHI after redaction and were NOT written (status "flagged" in the report)\n`);
          return EXIT_FLAGGED;
        }
        return 0;
      }),
    );
}
