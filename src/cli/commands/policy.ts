import type { Command } from 'commander';
import { isVeilError } from '../../errors.js';
import { EXIT_BAD_INPUT, runCommand } from '../run.js';

export function registerPolicyCommands(program: Command): void {
  const policy = program.command('policy').description('work with policy files');
  policy
    .command('check')
    .description('validate policy files (schema, fields, hierarchies they name); lists every problem, one per line')
    .argument('<files...>', 'policy YAML (one or more: a line per file)')
    .action((files: string[]) =>
      runCommand(async () => {
        // Loaded on use, like every command's work, so that `veil --help` starts at once.
        const { checkPolicyFile, issueLine } = await import('../../policy/index.js');
        // every file is checked (one process for a folder of policies); exit 2 if any has a problem
        let code: number | undefined;
        for (const file of files) {
          let checked;
          try {
            checked = await checkPolicyFile(file);
          } catch (error) {
            // a file that cannot be read is its own line; the other files are still checked
            if (!isVeilError(error) || files.length === 1) throw error;
            process.stderr.write(`veil: ${error.toLine()}\n`);
            code = EXIT_BAD_INPUT;
            continue;
          }
          if (!checked.success) {
            for (const issue of checked.issues) process.stderr.write(`veil: ${issueLine(issue)}\n`);
            code = EXIT_BAD_INPUT;
            continue;
          }
          const loaded = checked.policy;
          const sections = (['tabular', 'dicom', 'pixels'] as const).filter((s) => loaded[s] !== undefined);
          process.stdout.write(`${file}: ok — ${loaded.name} v${loaded.version} (${sections.join(', ')}), sha256 ${loaded.source.sha256.slice(0, 12)}\n`);
        }
        return code;
      }),
    );
}
