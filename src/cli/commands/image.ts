import type { Command } from 'commander';
import { checkCommandPaths, parseJobs } from '../options.js';
import { withProgress } from '../progress.js';
import { runCommand } from '../run.js';

/**
 * Exit code when the run finished but some files were not written: PHI still found after
 * redaction (flagged), or unreadable among readable ones (error). The report lists both.
 */
export const EXIT_NOT_ALL_WRITTEN = 3;

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
        // The paths first (they need only the flags, and write nothing): a wrong path is refused before the policy is read.
        await checkCommandPaths(flags, [{ path: flags.out, field: '--out', kind: 'either' }], [{ path: flags.in, what: 'the input' }]);
        // Loaded on use, like every command's work, so that other commands and `--help` start at once.
        const { loadPolicy } = await import('../../policy/index.js');
        const policy = await loadPolicy(flags.policy);
        const { redactImages } = await import('../../image/index.js');
        const report = await withProgress('redacting', (update) =>
          redactImages({ policy, input: flags.in, output: flags.out, reportJson: flags.report, reportHtml: flags.html, jobs, onProgress: (done, total) => update(total > 0 ? done / total : 0) }),
        );
        const t = report.totals;
        process.stdout.write(
          `veil: ${t.files} image(s): ${t.redacted} redacted, ${t.clean} clean, ${t.skipped} skipped, ${t.flagged} flagged, ${t.errors} unreadable; ` +
            `${t.textRedacted}/${t.textInstances} text regions filled in ${report.timingMs} ms; ` +
            `pixels: ${t.pixelsScanned} scanned, ${t.pixelsNotScanned} not examined\n`,
        );
        // (a run where no image could be read has already failed: NO_USABLE_INPUT, exit 2)
        if (t.errors > 0) {
          const first = report.files.find((f) => f.status === 'error');
          process.stderr.write(`veil: ${t.errors} file(s) could not be read and were NOT written (status "error" in the report); first: ${first?.file ?? 'unknown'}\n`);
        }
        if (t.flagged > 0) {
          process.stderr.write(`veil: ${t.flagged} file(s) still showed PHI after redaction and were NOT written (status "flagged" in the report)\n`);
        }
        return t.errors > 0 || t.flagged > 0 ? EXIT_NOT_ALL_WRITTEN : 0;
      }),
    );
}
