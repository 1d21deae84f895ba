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
    .option('--jobs <n>', 'worker threads (default: every core)')
    .option('--quiet', 'print nothing on success')
    .action((flags: DeidentifyFlags) =>
      runCommand(async () => {
        // Loaded on use, like every command's work, so that other commands and `--help` start at once.
        const { loadPolicy } = await import('../../policy/index.js');
        const policy = await loadPolicy(flags.policy);
        if (!policy.dicom) throw new VeilError('POLICY_INVALID', 'the policy has no dicom section', { file: flags.policy, field: 'dicom' });
        const jobs = parseJobs(flags.jobs);
        await checkCommandPaths(flags, [
          { path: flags.out, field: '--out', kind: 'folder' },
          { path: flags.mapOut, field: '--map-out' },
        ], [{ path: flags.keyFile, what: 'the key file' }]);
        const secret = loadSecret({ keyFile: flags.keyFile });
        const { deidentifyDicomDirectory } = await import('../../dicom/index.js');
        // The pixel cleaner (text and face models) only serves policies with a pixels section,
        // the only ones whose files the run hands to it; without one, pixels are copied as stored.
        const pixelCleaner = policy.pixels ? (await import('../../image/dicomCleaner.js')).dicomPixelCleanerFactory : undefined;
        const report = await withProgress('de-identifying', (update) =>
          deidentifyDicomDirectory({
            policy,
            input: flags.in,
            output: flags.out,
            reportJson: flags.report,
            reportHtml: flags.html,
            secret,
            jobs,
            mapOut: flags.mapOut,
            pixelCleaner,
            onProgress: process.stderr.isTTY ? (done, total) => update(total > 0 ? done / total : 0) : undefined,
          }),
        );
        if (!flags.quiet) {
          const t = report.totals;
          process.stdout.write(
            `de-identified ${t.ok} of ${t.files} files (${t.rejected} rejected, ${t.skipped} skipped) for ${t.patients} patients in ${(report.timingMs / 1000).toFixed(1)} s → ${flags.out}\n`,
          );
          // how many files' pixels were examined for burned-in text, and why the others were not
          process.stdout.write(`${(await import('../../dicom/report.js')).pixelSummaryLine(report)}\n`);
        }
      }),
    );
}
