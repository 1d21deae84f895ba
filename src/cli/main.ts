#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { EXIT_BAD_INPUT } from './run.js';
import { VEIL_VERSION } from '../version.js';

const program = new Command();
program
  .name('veil')
  .description('Veil: anonymize tables, de-identify DICOM, redact text and faces in images — driven by YAML policies')
  .version(VEIL_VERSION)
  .showHelpAfterError(false)
  .exitOverride();

type Register = (program: Command) => void;

/**
 * Each module of commands and the top-level names it registers, in the order of `veil --help`.
 * A run of one command loads only its own module (and what that imports): the others' options,
 * descriptions and imports cost every run ≈ 40 ms of start-up otherwise.
 */
const COMMAND_MODULES: readonly { names: readonly string[]; load: () => Promise<Register> }[] = [
  { names: ['policy'], load: async () => (await import('./commands/policy.js')).registerPolicyCommands },
  { names: ['tabular'], load: async () => (await import('./commands/tabular.js')).registerTabularCommands },
  { names: ['dicom'], load: async () => (await import('./commands/dicom.js')).registerDicomCommands },
  { names: ['image'], load: async () => (await import('./commands/image.js')).registerImageCommands },
  { names: ['serve', 'keys'], load: async () => (await import('./commands/serve.js')).registerServeCommands },
  { names: ['worker'], load: async () => (await import('./commands/worker.js')).registerWorkerCommand },
  { names: ['audit'], load: async () => (await import('./commands/audit.js')).registerAuditCommands },
  { names: ['demo'], load: async () => (await import('./commands/demo.js')).registerDemoCommand },
];

// `veil <command> …` registers that command's module; anything else (`--help`, `help`, a
// misspelt command that commander suggests a name for) registers them all.
const named = COMMAND_MODULES.find((module) => module.names.includes(process.argv[2] ?? ''));
for (const module of named ? [named] : COMMAND_MODULES) (await module.load())(program);

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
