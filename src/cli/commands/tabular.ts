import type { Command } from 'commander';
import { checkOutputPaths } from '../../io/outputPath.js';
import { loadPolicy } from '../../policy/load.js';
import { loadSecret } from '../../secret/key.js';
import { anonymizeCsvFile } from '../../tabular/file.js';
import { withProgress } from '../progress.js';
import { VeilError } from '../../errors.js';
import { runCommand } from '../run.js';
import { summarizeTabular } from '../summary.js';

interface AnonymizeFlags {
  policy: string;
  in: string;
  out: string;
  report?: string;
  html?: string;
  keyFile?: string;
  mapOut?: string;
  quiet?: boolean;
}

export function registerTabularCommands(program: Command): void {
  const tabular = program.command('tabular').description('anonymize tables (CSV)');
  tabular
    .command('anonymize')
    .description('k-anonymize a CSV with Mondrian (plus l-diversity / t-closeness) per a policy')
    .requiredOption('--policy <file>', 'policy YAML with a tabular section')
    .requiredOption('--in <file>', 'input CSV (never modified)')
    .requiredOption('--out <file>', 'anonymized CSV to write')
    .option('--report <file>', 'JSON report to write')
    .option('--html <file>', 'HTML report to write')
    .option('--key-file <file>', 'pseudonymization key file (default: VEIL_SECRET)')
    .option('--map-out <file>', 'write original → pseudonym pairs of the pseudonymized columns to this CSV (it holds PHI: store it apart)')
    .option('--quiet', 'print nothing on success')
    .action((flags: AnonymizeFlags) =>
      runCommand(async () => {
        const policy = await loadPolicy(flags.policy);
        await checkOutputPaths([
          { path: flags.out, field: '--out' },
          { path: flags.report, field: '--report' },
          { path: flags.html, field: '--html' },
          { path: flags.mapOut, field: '--map-out' },
        ]);
        const replaced = policy.tabular?.identifiers.some((id) => id.action === 'pseudonymize' || id.action === 'randomize') ?? false;
        if (flags.mapOut && !replaced) throw new VeilError('USAGE', 'the policy pseudonymizes or randomizes no column, so there is no mapping to write', { field: '--map-out' });
        const needsKey = policy.tabular?.identifiers.some((id) => id.action === 'pseudonymize') ?? false;
        const secret = needsKey ? loadSecret({ keyFile: flags.keyFile }) : undefined;
        const report = await withProgress('anonymizing', (onProgress) =>
          anonymizeCsvFile({ policy, input: flags.in, output: flags.out, reportJson: flags.report, reportHtml: flags.html, mappingCsv: flags.mapOut, secret, onProgress }),
        );
        if (!flags.quiet) process.stdout.write(summarizeTabular(report, flags.out));
      }),
    );
}
