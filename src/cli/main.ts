#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerPolicyCommands } from './commands/policy.js';
import { registerTabularCommands } from './commands/tabular.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerDicomCommands } from './commands/dicom.js';
import { registerImageCommands } from './commands/image.js';
import { registerServeCommands } from './commands/serve.js';
import { registerWorkerCommand } from './commands/worker.js';
import { registerAuditCommands } from './commands/audit.js';
import { EXIT_BAD_INPUT } from './run.js';
import { VEIL_VERSION } from '../version.js';

const program = new Command();
program
  .name('veil')
  .description('Veil: anonymize tables, de-identify DICOM, redact text and faces in images — driven by YAML policies')
  .version(VEIL_VERSION)
  .showHelpAfterError(false)
  .exitOverride();

registerPolicyCommands(program);
registerTabularCommands(program);
registerDicomCommands(program);
registerImageCommands(program);
registerServeCommands(program);
registerWorkerCommand(program);
registerAuditCommands(program);
registerDemoCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // commander already printed its one-line message (unknown option, missing argument…)
    process.exitCode = error.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
  } else {
    throw error;
  }
}
