import type { Command } from 'commander';
import { loadPolicy } from '../../policy/load.js';
import { runCommand } from '../run.js';

export function registerPolicyCommands(program: Command): void {
  const policy = program.command('policy').description('work with policy files');
  policy
    .command('check')
    .description('validate a policy file (schema, fields, hierarchies it names)')
    .argument('<file>', 'policy YAML')
    .action((file: string) =>
      runCommand(async () => {
        const loaded = await loadPolicy(file);
        const sections = (['tabular', 'dicom', 'pixels'] as const).filter((s) => loaded[s] !== undefined);
        process.stdout.write(`${file}: ok — ${loaded.name} v${loaded.version} (${sections.join(', ')}), sha256 ${loaded.source.sha256.slice(0, 12)}\n`);
      }),
    );
}
