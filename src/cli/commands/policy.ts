import type { Command } from 'commander';
import { EXIT_BAD_INPUT, runCommand } from '../run.js';

export function registerPolicyCommands(program: Command): void {
  const policy = program.command('policy').description('work with policy files');
  policy
    .command('check')
    .description('validate a policy file (schema, fields, hierarchies it names); lists every problem, one per line')
    .argument('<file>', 'policy YAML')
    .action((file: string) =>
      runCommand(async () => {
        // Loaded on use, like every command's work, so that `veil --help` starts at once.
        const { checkPolicyFile, issueLine } = await import('../../policy/index.js');
        const checked = await checkPolicyFile(file);
        if (!checked.success) {
          for (const issue of checked.issues) process.stderr.write(`veil: ${issueLine(issue)}\n`);
          return EXIT_BAD_INPUT;
        }
        const loaded = checked.policy;
        const sections = (['tabular', 'dicom', 'pixels'] as const).filter((s) => loaded[s] !== undefined);
        process.stdout.write(`${file}: ok — ${loaded.name} v${loaded.version} (${sections.join(', ')}), sha256 ${loaded.source.sha256.slice(0, 12)}\n`);
      }),
    );
}
