import type { Command } from 'commander';
import { VeilError } from '../../errors.js';
import type { Policy } from '../../policy/index.js';
import { loadSecret } from '../../secret/key.js';
import { DEFAULT_MAX_CELL_BYTES } from '../../tabular/csv/limits.js';
import type * as TabularEngine from '../../tabular/index.js';
import { checkCommandPaths } from '../options.js';
import { withProgress } from '../progress.js';
import { runCommand } from '../run.js';
import { summarizeTabular } from '../summary.js';

interface RunFlags {
  policy: string;
  in: string;
  out: string;
  report?: string;
  html?: string;
  keyFile?: string;
  mapOut?: string;
  maxCellBytes?: string;
  quiet?: boolean;
}

export function registerTabularCommands(program: Command): void {
  const tabular = program.command('tabular').description('anonymize tables (CSV)');
  withRunOptions(
    tabular
      .command('anonymize')
      .description('k-anonymize a CSV with Mondrian (plus l-diversity / t-closeness) per a policy')
      .option('--scheme-out <file>', 'also save the published classes, to publish a later batch alike with `veil tabular apply`'),
  ).action((flags: RunFlags & { schemeOut?: string }) =>
    runTabular(flags, { outputs: [{ path: flags.schemeOut, field: '--scheme-out' }] }, (engine, options) => engine.anonymizeCsvFile({ ...options, schemeOut: flags.schemeOut })),
  );
  withRunOptions(
    tabular
      .command('apply')
      .description('publish a later batch of a study in the classes of a saved scheme (same labels); the batch must meet the policy on its own')
      .requiredOption('--scheme <file>', 'scheme saved by `veil tabular anonymize --scheme-out` under the same policy'),
  ).action((flags: RunFlags & { scheme: string }) => runTabular(flags, { inputs: [{ path: flags.scheme, what: 'the scheme' }] }, (engine, options) => engine.applySchemeToCsvFile({ ...options, scheme: flags.scheme })));
}

function withRunOptions(command: Command): Command {
  return command
    .requiredOption('--policy <file>', 'policy YAML with a tabular section')
    .requiredOption('--in <file>', 'input CSV (never modified)')
    .requiredOption('--out <file>', 'anonymized CSV to write')
    .option('--report <file>', 'JSON report to write')
    .option('--html <file>', 'HTML report to write')
    .option('--key-file <file>', 'pseudonymization key file (default: VEIL_SECRET)')
    .option('--map-out <file>', 'write original → pseudonym pairs of the pseudonymized columns to this CSV (it holds PHI: store it apart)')
    .option('--max-cell-bytes <n>', `refuse a CSV cell larger than n bytes (default ${DEFAULT_MAX_CELL_BYTES}, at most ${MAX_CELL_BYTES_CEILING})`)
    .option('--quiet', 'print nothing on success');
}

/** V8 cannot hold a string much over 512 M characters; a cell limit stays well below. */
const MAX_CELL_BYTES_CEILING = 256 * 1024 * 1024;

function parseMaxCellBytes(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_CELL_BYTES_CEILING) {
    throw new VeilError('USAGE', `expected a whole number of bytes from 1 to ${MAX_CELL_BYTES_CEILING}`, { field: '--max-cell-bytes' });
  }
  return n;
}

function runTabular(
  flags: RunFlags,
  extra: { outputs?: { path: string | undefined; field: string }[]; inputs?: { path: string | undefined; what: string }[] },
  run: (engine: typeof TabularEngine, options: TabularEngine.AnonymizeCsvOptions) => Promise<TabularEngine.TabularReport | TabularEngine.TabularDecision>,
): Promise<void> {
  const extraOutputs = extra.outputs ?? [];
  const extraInputs = extra.inputs ?? [];
  return runCommand(async () => {
    const maxCellBytes = parseMaxCellBytes(flags.maxCellBytes);
    // The paths first (they need only the flags, and write nothing): a wrong path is refused
    // before the policy's parser and schema library are loaded.
    await checkCommandPaths(flags, [{ path: flags.out, field: '--out' }, { path: flags.mapOut, field: '--map-out' }, ...extraOutputs], [
      { path: flags.in, what: 'the input CSV' },
      { path: flags.keyFile, what: 'the key file' },
      ...extraInputs,
    ]);
    // Loaded on use, like every command's work, so that other commands and `--help` start at once.
    const { loadPolicy } = await import('../../policy/index.js');
    const policy: Policy = await loadPolicy(flags.policy);
    const identifiers = policy.tabular?.identifiers ?? [];
    if (flags.mapOut && !identifiers.some((id) => id.action === 'pseudonymize' || id.action === 'randomize')) {
      throw new VeilError('USAGE', 'the policy pseudonymizes or randomizes no column, so there is no mapping to write', { field: '--map-out' });
    }
    const secret = identifiers.some((id) => id.action === 'pseudonymize') ? loadSecret({ keyFile: flags.keyFile }) : undefined;
    const engine = await import('../../tabular/index.js');
    // --quiet prints nothing: unless a report file is asked for, the run measures only what decides it.
    const measures = flags.quiet ? 'decision' : 'report';
    const outcome = await withProgress('anonymizing', (onProgress) =>
      run(engine, { policy, input: flags.in, output: flags.out, reportJson: flags.report, reportHtml: flags.html, mappingCsv: flags.mapOut, secret, maxCellBytes, onProgress, measures }),
    );
    if (!flags.quiet && outcome.kind === 'veil-tabular') process.stdout.write(summarizeTabular(outcome, flags.out));
  });
}
