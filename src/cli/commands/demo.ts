import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { cohortCsv, generateCohort } from '../../demo/cohort.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { runCommand } from '../run.js';
import { summarizeTabular } from '../summary.js';

/** The policies/ folder shipped with Veil (works from src/ under tsx and from dist/). */
export const POLICIES_DIR = fileURLToPath(new URL('../../../policies/', import.meta.url));

const DEMO_KEY = 'veil-demo-key-not-for-real-data';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('generate a synthetic patient cohort and anonymize it with policies/demo.yaml')
    .option('--out <dir>', 'where to write the demo files', 'demo-output')
    .option('--rows <n>', 'number of synthetic patients', '5000')
    .option('--seed <n>', 'random seed', '20260101')
    .action((flags: { out: string; rows: string; seed: string }) =>
      runCommand(async () => {
        const out = resolve(flags.out);
        await mkdir(out, { recursive: true });
        const input = join(out, 'patients.csv');
        await writeFileAtomic(input, cohortCsv(generateCohort({ rows: Number(flags.rows), seed: Number(flags.seed) })));
        process.stdout.write(`generated ${flags.rows} synthetic patients (seed ${flags.seed}): ${input}\n`);
        const secretText = process.env.VEIL_SECRET ?? DEMO_KEY;
        if (!process.env.VEIL_SECRET) process.stdout.write('VEIL_SECRET is not set: using a fixed demo key (never do this with real data)\n');
        // Loaded on use, like every command's work, so that other commands and `--help` start at once.
        const { loadPolicy } = await import('../../policy/index.js');
        const { anonymizeCsvFile } = await import('../../tabular/index.js');
        const policy = await loadPolicy(join(POLICIES_DIR, 'demo.yaml'));
        const output = join(out, 'patients.anonymized.csv');
        const report = await anonymizeCsvFile({
          policy,
          input,
          output,
          reportJson: join(out, 'report.json'),
          reportHtml: join(out, 'report.html'),
          secret: Buffer.from(secretText, 'utf8'),
        });
        process.stdout.write(summarizeTabular(report, output));
        process.stdout.write(`reports: ${join(out, 'report.json')}, ${join(out, 'report.html')}\n`);
      }),
    );
}
